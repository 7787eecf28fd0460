import { ValidationError } from '@anomalia/core';
import { type FailureCatalogue, failureCatalogue } from '@anomalia/failure-modes';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import packageJson from '../package.json';
import { type LimitsInput, parseLimits, parseServerConfig, type ServerConfigInput } from './config';
import { registerResources } from './resources';
import { type OpenTarget, TargetSession, targetOpener } from './target';
import { registerCatalogueTools } from './tools/catalogue-tools';
import { registerFailureModeTools } from './tools/failure-mode-tools';
import { registerPreviewTool } from './tools/preview';
import { registerRunTools } from './tools/runs';
import { PrototypeKeyGuard } from './transport/guard';

export const SERVER_NAME = 'anomalia-mcp';
export const SERVER_VERSION: string = packageJson.version;

export interface CreateServerOptions {
  /** The validated config (database, limits); a bad field is a ValidationError naming it. */
  config?: ServerConfigInput;
  /** Opens the target instead of `config.database` (another adapter, or a test double). */
  openTarget?: OpenTarget;
  /** Limits when `openTarget` is given (with `config`, they come from the config). */
  limits?: LimitsInput;
  /** The failure modes offered (default: every implemented Mosaiq mode). */
  catalogue?: FailureCatalogue;
}

/**
 * The failure-mode MCP server, not yet connected: `await server.connect(transport)`. The target
 * database is opened on the first call that needs it, and closed with the server.
 */
export function createServer(options: CreateServerOptions): McpServer {
  if (!options.config && !options.openTarget) {
    throw new ValidationError('options', 'a config (database) or an openTarget function');
  }
  const config = options.config ? parseServerConfig(options.config, 'config') : null;
  const limits = config ?? parseLimits(options.limits ?? {}, 'limits');
  const session = new TargetSession(options.openTarget ?? targetOpener(config!.database));
  const ctx = {
    catalogue: options.catalogue ?? failureCatalogue,
    session,
    limits: { maxTargets: limits.maxTargets, maxCandidates: limits.maxCandidates },
  };

  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      instructions:
        'Applies Elekta Mosaiq failure modes to a SANDBOX database (never production: any other ' +
        'database is refused) to produce labelled corrupted records for QA detectors. Discover with ' +
        'list_failure_modes / describe_failure_mode, dry-run with preview, apply with the tool named ' +
        'after the mode, and undo with restore_run (list_runs shows the ledger).',
    },
  );
  registerCatalogueTools(server, ctx);
  registerFailureModeTools(server, ctx);
  registerPreviewTool(server, ctx);
  registerRunTools(server, ctx);
  registerResources(server, ctx.catalogue);

  // Every transport is guarded: a `__proto__` key must be refused before the SDK's schemas drop it.
  const connect = server.connect.bind(server);
  server.connect = (transport) => connect(new PrototypeKeyGuard(transport));

  const previous = server.server.onclose;
  server.server.onclose = () => {
    previous?.();
    void session.close();
  };
  return server;
}
