import { computeCorruption } from '@anomalia/qa-workflow';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { toolInput } from '../tool-input';
import { guarded, toolResult } from '../tool-result';
import type { ToolContext } from './context';
import { corruptionReport, corruptionRequest, targetingShape } from './targeting';

/** `preview`: exactly what a failure-mode tool would change, computed the same way, written nowhere. */
export function registerPreviewTool(server: McpServer, ctx: ToolContext): void {
  const modeIds = ctx.catalogue.modes.map((m) => m.id) as [string, ...string[]];
  const input = toolInput(
    z.strictObject({
      mode: z.enum(modeIds).describe('the failure mode (its tool name)'),
      variant: z.string().min(1).describe('a variant of the mode (see describe_failure_mode)'),
      params: z
        .looseObject({})
        .optional()
        .describe('parameters of the variant (omitted ones take their defaults)'),
      ...targetingShape(ctx.limits),
    }),
  );
  server.registerTool(
    'preview',
    {
      title: 'Preview a failure mode (dry run)',
      description:
        'Dry run of a failure-mode tool: computes the changes it would make with the same arguments ' +
        '(same seed, same changes) and returns them; writes nothing, records no run.',
      inputSchema: input.inputSchema,
      annotations: {
        title: 'Preview a failure mode (dry run)',
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    (raw) =>
      guarded(() => {
        const args = input.parse(raw);
        return ctx.session.run(async (target, notice) => {
          const corruption = await computeCorruption(
            target,
            ctx.catalogue,
            corruptionRequest(args.mode, args.variant, args.params, args),
            ctx.limits,
          );
          return toolResult(
            { dryRun: true, database: target.name, ...corruptionReport(corruption, args.seed) },
            notice,
          );
        });
      }),
  );
}
