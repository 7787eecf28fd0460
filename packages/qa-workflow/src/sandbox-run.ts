import { rmSync } from 'node:fs';
import { tableChecksum } from '@anomalia/db-sqlite';
import {
  type Change,
  emptyTableRows,
  type RunMeta,
  type TableRows,
  type TreatmentRecord,
} from '@anomalia/mosaiq';
import { loadRecordsInBatches } from './cohort';
import type { WorkflowProgress } from './progress';
import { cloneToSqliteSandbox, openSandbox, openSource, type SourceConfig } from './sources/registry';

/** What a restored sandbox run reports (run.json's `sandbox`). */
export interface SandboxReport {
  readonly path: string;
  readonly runId: string;
  readonly changes: number;
  readonly restored: true;
  /** The sandbox's table checksum, equal before the run and after the restore. */
  readonly checksum: string;
  /** False when the sandbox file was removed after the restore. */
  readonly kept: boolean;
}

/** Changes applied to a sandbox copy, to read back and then restore. */
export interface SandboxRun {
  readonly path: string;
  readonly runId: string;
  /** Records read back from the sandbox, in the order of `ids` (so with the changes applied). */
  readRecords(
    ids: readonly number[],
    progress?: WorkflowProgress,
    label?: string,
  ): Promise<TreatmentRecord[]>;
  /**
   * Restores the run, checks the sandbox's checksum against the one taken before the changes
   * (throwing when they differ) and removes the file unless `keep`.
   */
  restore(): Promise<SandboxReport>;
}

/**
 * Copies `source` into a new SQLite sandbox at `path`, takes its checksum, and applies `changes`
 * there in one transaction recorded in the sandbox's ledger. The source itself is never written.
 */
export async function corruptSandboxCopy(
  source: SourceConfig,
  path: string,
  changes: readonly Change[],
  meta: RunMeta,
  options: { keep?: boolean; field?: string; cohort?: { readonly rows: TableRows } } = {},
): Promise<SandboxRun> {
  await cloneToSqliteSandbox(source, path, options.cohort ?? { rows: emptyTableRows() }, options.field);
  const sandbox: SourceConfig = { type: 'sqlite', path };
  const checksumBefore = tableChecksum(path);
  const target = await openSandbox(sandbox);
  const run = await target.writer.apply(changes, meta);
  // Only the writer stays open until the restore.
  await target.reader.close();
  return {
    path,
    runId: run.runId,
    async readRecords(ids, progress, label = 'examples') {
      const reader = await openSource(sandbox);
      try {
        return await loadRecordsInBatches(reader.reader, ids, progress, label);
      } finally {
        await reader.close();
      }
    },
    async restore() {
      await target.writer.restore(run.runId);
      await target.writer.close();
      const checksum = tableChecksum(path);
      if (checksum !== checksumBefore)
        throw new Error(`sandbox ${path}: checksum after restore differs from before the run`);
      if (!options.keep) rmSync(path, { force: true });
      return {
        path,
        runId: run.runId,
        changes: changes.length,
        restored: true,
        checksum: checksumBefore,
        kept: Boolean(options.keep),
      };
    },
  };
}
