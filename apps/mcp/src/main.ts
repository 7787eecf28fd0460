import { ValidationError } from '@anomalia/core';
import { describeSource } from '@anomalia/qa-workflow';
import { CONFIG_ENV_VAR, DB_ENV_VAR, resolveConfig } from './config';
import { createServer, SERVER_NAME, SERVER_VERSION } from './server';
import { JsonRpcStdioTransport } from './transport/stdio';

export const USAGE = `Usage: ${SERVER_NAME} [--config <config.json>]

The failure-mode MCP server for Elekta Mosaiq, over stdio. It only writes to a sandbox database.

Target database (first found):
  --config <file.json>   {"database": {"type": "sqlite", "path": "sandbox.sqlite"}, "maxTargets": 100}
  ${CONFIG_ENV_VAR}    path of such a config file
  ${DB_ENV_VAR}        path of a sandbox SQLite file

Options:
  --help                 this text
  --version              the version`;

export interface CliArgs {
  configFile?: string;
  help: boolean;
  version: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') out.help = true;
    else if (arg === '--version') out.version = true;
    else if (arg === '--config' || arg.startsWith('--config=')) {
      const value = arg === '--config' ? argv[++i] : arg.slice('--config='.length);
      if (!value) throw new ValidationError('--config', 'a path to a JSON config file');
      out.configFile = value;
    } else {
      throw new ValidationError('arguments', 'only --config <file>, --help or --version', arg);
    }
  }
  return out;
}

/**
 * Runs the server over stdio until the client closes it. Returns an exit code for a startup
 * failure (bad arguments or config, printed on stderr: stdout belongs to the protocol), or null
 * once serving.
 */
export async function main(
  argv: readonly string[],
  env = process.env,
  cwd = process.cwd(),
): Promise<number | null> {
  let args: CliArgs;
  let config: ReturnType<typeof resolveConfig>;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`${SERVER_VERSION}\n`);
      return 0;
    }
    config = resolveConfig({ ...(args.configFile ? { configFile: args.configFile } : {}), env, cwd });
  } catch (error) {
    process.stderr.write(`${SERVER_NAME}: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const server = createServer({ config });
  await server.connect(new JsonRpcStdioTransport());
  process.stderr.write(
    `${SERVER_NAME} ${SERVER_VERSION}: serving ${describeSource(config.database)} over stdio\n`,
  );
  return null;
}
