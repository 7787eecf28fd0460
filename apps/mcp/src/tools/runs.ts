import type { SandboxRun } from '@anomalia/mosaiq';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { toolInput } from '../tool-input';
import { guarded, toolResult } from '../tool-result';
import type { ToolContext } from './context';

function runJson(run: SandboxRun): Record<string, unknown> {
  return {
    runId: run.runId,
    label: run.meta.label,
    mode: run.meta.mode ?? null,
    variant: run.meta.variant ?? null,
    seed: run.meta.seed ?? null,
    params: run.meta.params ?? null,
    status: run.status,
    changeCount: run.changeCount,
    appliedAt: run.appliedAt.toISOString(),
    restoredAt: run.restoredAt?.toISOString() ?? null,
  };
}

/** `list_runs` and `restore_run`: the ledger of the sandbox, and exact undo of a run. */
export function registerRunTools(server: McpServer, ctx: ToolContext): void {
  const listInput = toolInput(
    z.strictObject({
      status: z
        .enum(['applied', 'restored'])
        .optional()
        .describe('only runs still applied, or only restored ones'),
    }),
  );
  const restoreInput = toolInput(
    z.strictObject({
      run_id: z
        .string()
        .min(1)
        .describe('the run id a failure-mode tool or list_runs returned, e.g. "run-3"'),
    }),
  );
  server.registerTool(
    'list_runs',
    {
      title: 'List runs',
      description:
        'The runs recorded in the sandbox ledger, oldest first: id, mode/variant, seed, parameters, ' +
        'number of changes, and whether each is still applied or restored.',
      inputSchema: listInput.inputSchema,
      annotations: { title: 'List runs', readOnlyHint: true, openWorldHint: false },
    },
    (raw) =>
      guarded(() => {
        const args = listInput.parse(raw);
        return ctx.session.run(async (target, notice) => {
          const runs = (await target.writer.listRuns()).filter(
            (r) => !args.status || r.status === args.status,
          );
          return toolResult({ database: target.name, runs: runs.map(runJson) }, notice);
        });
      }),
  );

  server.registerTool(
    'restore_run',
    {
      title: 'Restore a run',
      description:
        'Undoes a run exactly from the ledger (its inverse changes, in reverse order, in one transaction). ' +
        'A cell a later run changed again must be restored by restoring that run first.',
      inputSchema: restoreInput.inputSchema,
      annotations: {
        title: 'Restore a run',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    (raw) =>
      guarded(
        () => {
          const args = restoreInput.parse(raw);
          return ctx.session.run(async (target, notice) => {
            const run = await target.writer.restore(args.run_id);
            return toolResult({ database: target.name, ...runJson(run) }, notice);
          });
        },
        { runId: 'run_id' },
      ),
  );
}
