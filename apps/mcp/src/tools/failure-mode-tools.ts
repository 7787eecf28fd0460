import type { FailureMode } from '@anomalia/failure-modes';
import { computeCorruption } from '@anomalia/qa-workflow';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { toolInput } from '../tool-input';
import { guarded, toolResult } from '../tool-result';
import type { ToolContext } from './context';
import { corruptionReport, corruptionRequest, paramsArgument, runLabel, targetingShape } from './targeting';

function toolDescription(mode: FailureMode): string {
  const variants = mode.variants.map((v) => `${v.id} (severity ${v.severity}, ${v.band})`).join('; ');
  const target =
    mode.kind === 'malicious'
      ? mode.scope === 'cohort'
        ? 'A target (ttx_ids) names the first victim; the others are chosen among every patient of the database. '
        : `A target (ttx_ids) names the course it attacks (any delivered record of the ${mode.scope === 'field' ? 'field' : "patient's plan"}); every changed fraction is listed in affectedTtxIds. `
      : '';
  return (
    `${mode.description} ${target}WRITES to the sandbox database in one transaction recorded in the ledger; ` +
    `undo with restore_run, dry-run with preview. Variants: ${variants}. ` +
    `Parameters and the QA checks that catch it: describe_failure_mode or failure-mode://mosaiq/${mode.id}.`
  );
}

/**
 * One tool per failure mode, named by the mode: it picks the target records, computes the
 * changes (seeded) and applies them to the sandbox as one run, returning the run id to restore.
 */
export function registerFailureModeTools(server: McpServer, ctx: ToolContext): void {
  for (const mode of ctx.catalogue.modes) {
    const variantIds = mode.variants.map((v) => v.id) as [string, ...string[]];
    const input = toolInput(
      z.strictObject({
        variant: z.enum(variantIds).describe('the variant to apply'),
        params: paramsArgument(mode),
        ...targetingShape(ctx.limits),
      }),
    );
    server.registerTool(
      mode.id,
      {
        title: `Corrupt: ${mode.id}`,
        description: toolDescription(mode),
        inputSchema: input.inputSchema,
        annotations: {
          title: `Corrupt: ${mode.id}`,
          readOnlyHint: false,
          destructiveHint: true,
          idempotentHint: false,
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
              corruptionRequest(mode.id, args.variant, args.params, args),
              ctx.limits,
            );
            const report = corruptionReport(corruption, args.seed);
            const run = await target.writer.apply(corruption.changes, {
              label: runLabel(corruption, args.seed),
              mode: mode.id,
              variant: corruption.variant,
              seed: args.seed,
              params: report.params as Record<string, unknown>,
            });
            return toolResult(
              {
                runId: run.runId,
                database: target.name,
                ...report,
                restoreWith: { tool: 'restore_run', arguments: { run_id: run.runId } },
              },
              notice,
            );
          });
        }),
    );
  }
}
