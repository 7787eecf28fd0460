import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { describeMode } from '../mode-info';
import { toolInput } from '../tool-input';
import { guarded, toolResult } from '../tool-result';
import type { ToolContext } from './context';

/** `list_failure_modes` and `describe_failure_mode`: the catalogue, read-only, no database needed. */
export function registerCatalogueTools(server: McpServer, ctx: ToolContext): void {
  const modeIds = ctx.catalogue.modes.map((m) => m.id) as [string, ...string[]];
  const listInput = toolInput(z.strictObject({}));
  const describeInput = toolInput(z.strictObject({ mode: z.enum(modeIds).describe('the failure mode id') }));

  server.registerTool(
    'list_failure_modes',
    {
      title: 'List failure modes',
      description:
        'Every failure mode this server can apply (each is also a tool of the same name), with its ' +
        'kind, scope, severity and variants.',
      inputSchema: listInput.inputSchema,
      annotations: { title: 'List failure modes', readOnlyHint: true, openWorldHint: false },
    },
    (raw) =>
      guarded(() => {
        listInput.parse(raw);
        return toolResult({
          modes: ctx.catalogue.modes.map((m) => ({
            mode: m.id,
            kind: m.kind,
            scope: m.scope,
            severity: m.severity,
            description: m.description,
            variants: m.variants.map((v) => ({ variant: v.id, severity: v.severity, band: v.band })),
            resource: `failure-mode://mosaiq/${m.id}`,
          })),
        });
      }),
  );

  server.registerTool(
    'describe_failure_mode',
    {
      title: 'Describe a failure mode',
      description:
        'A failure mode in full: description, severity, each variant (what it writes, its severity and ' +
        'band, its parameters as JSON Schema) and the QA checks that catch it with the data they read.',
      inputSchema: describeInput.inputSchema,
      annotations: { title: 'Describe a failure mode', readOnlyHint: true, openWorldHint: false },
    },
    (raw) =>
      guarded(() => {
        const args = describeInput.parse(raw);
        return toolResult({ ...describeMode(ctx.catalogue.mode(args.mode)) });
      }),
  );
}
