import { parseWith, ValidationError } from '@anomalia/core';
import {
  type Change,
  invertChange,
  LEDGER_TABLE,
  type LedgerEntry,
  NotASandboxError,
  RUN_TABLE,
  type RunMeta,
  RunMetaSchema,
  type SandboxRun,
  type SandboxWriter,
  type TableName,
  validateChange,
} from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import { checksumDatabase, type TableChecksums } from './checksum';
import { assertExistingFile, type OpenOptions, openReadOnly, openWritable } from './connection';
import { ChangeExecutor } from './executor';
import { type LedgerRow, ledgerEntry, ledgerFields, type RunRow, runFromRow as toRun } from './ledger';
import { countRows } from './reader';
import { ensureBookkeeping, isSandboxDatabase } from './sandbox';
import { assertSchema } from './schema';
import { quote } from './table-codec';

function parseMeta(input: unknown): RunMeta {
  return parseWith(RunMetaSchema, input, 'meta');
}

/**
 * The SandboxWriter of @anomalia/mosaiq over an SQLite file. It only ever opens a database that
 * holds the Anomalia_Sandbox marker table (checked through a read-only handle before any
 * writable one exists, and again inside every write transaction); anything else is a
 * NotASandboxError. `apply` and `restore` each run in one IMMEDIATE transaction: a conflict or
 * bad change anywhere leaves the database exactly as it was, with no run and no ledger line.
 */
export class SqliteSandboxWriter implements SandboxWriter {
  private readonly executor: ChangeExecutor;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.executor = new ChangeExecutor(db);
  }

  /** Opens a sandbox for writing; a database without the marker is a NotASandboxError. */
  static open(path: string, options: OpenOptions = {}): SqliteSandboxWriter {
    assertExistingFile(path);
    const probe = openReadOnly(path);
    try {
      if (!isSandboxDatabase(probe)) throw new NotASandboxError(path);
    } finally {
      probe.close();
    }
    const db = openWritable(path, options);
    try {
      if (!isSandboxDatabase(db)) throw new NotASandboxError(path);
      // Exact columns: a delete must capture every column of the row to restore it.
      assertSchema(db, path, { exact: true });
      ensureBookkeeping(db);
      return new SqliteSandboxWriter(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private assertStillSandbox(): void {
    if (!isSandboxDatabase(this.db)) throw new NotASandboxError(this.path);
  }

  async apply(changes: readonly Change[], meta: RunMeta): Promise<SandboxRun> {
    return this.applySync(changes, meta);
  }

  /** Applies the changes as one run (all or nothing) and records them in the ledger. */
  applySync(changes: readonly Change[], meta: RunMeta): SandboxRun {
    const m = parseMeta(meta);
    if (!Array.isArray(changes) || changes.length === 0) {
      throw new ValidationError('changes', 'a non-empty array of changes', changes);
    }
    changes.forEach((c, i) => {
      validateChange(c, `changes[${i}]`);
    });
    const run = this.db
      .transaction((): RunRow => {
        this.assertStillSandbox();
        const seq = this.db
          .prepare(`SELECT coalesce(max(seq), 0) + 1 FROM ${quote(RUN_TABLE)}`)
          .pluck()
          .get() as number;
        const runId = `run-${seq}`;
        const appliedAt = Date.now();
        const row: RunRow = {
          seq,
          run_id: runId,
          meta_json: JSON.stringify(m),
          applied_at: appliedAt,
          restored_at: null,
          status: 'applied',
          change_count: changes.length,
        };
        this.db
          .prepare(
            `INSERT INTO ${quote(RUN_TABLE)} (seq, run_id, label, mode, variant, seed, meta_json, applied_at, restored_at, status, change_count) ` +
              'VALUES (@seq, @run_id, @label, @mode, @variant, @seed, @meta_json, @applied_at, @restored_at, @status, @change_count)',
          )
          .run({
            ...row,
            label: m.label,
            mode: m.mode ?? null,
            variant: m.variant ?? null,
            seed: m.seed ?? null,
          });
        const insertLine = this.db.prepare(
          `INSERT INTO ${quote(LEDGER_TABLE)} (run_id, seq, kind, table_name, row_key, column_name, sql_type, old_value, new_value, row_json, mode, variant, applied_at) ` +
            'VALUES (@run_id, @seq, @kind, @table_name, @row_key, @column_name, @sql_type, @old_value, @new_value, @row_json, @mode, @variant, @applied_at)',
        );
        changes.forEach((change, index) => {
          const applied = this.executor.execute(change, index);
          insertLine.run({
            run_id: runId,
            seq: index,
            ...ledgerFields(applied),
            mode: m.mode ?? null,
            variant: m.variant ?? null,
            applied_at: appliedAt,
          });
        });
        return row;
      })
      .immediate();
    return toRun(run);
  }

  async restore(runId: string): Promise<SandboxRun> {
    return this.restoreSync(runId);
  }

  /**
   * Undoes a run exactly: the inverse of each ledger line in reverse order, each checking that
   * the cell or row still holds what the run wrote (restore later runs that touched it first).
   */
  restoreSync(runId: string): SandboxRun {
    const run = this.db
      .transaction((): RunRow => {
        this.assertStillSandbox();
        const row = this.runRow(runId);
        if (row.status !== 'applied') {
          throw new ValidationError(
            'runId',
            `a run that is still applied (${runId} was restored at ${new Date(row.restored_at!).toISOString()})`,
            runId,
          );
        }
        const entries = this.ledgerSync(runId);
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i]!;
          this.executor.execute(
            invertChange(entry.change),
            entry.seq,
            `restoring ${runId}: the run's change no longer holds (restore later runs that touched it first)`,
          );
        }
        const restoredAt = Date.now();
        this.db
          .prepare(`UPDATE ${quote(RUN_TABLE)} SET status = 'restored', restored_at = ? WHERE run_id = ?`)
          .run(restoredAt, runId);
        return { ...row, status: 'restored', restored_at: restoredAt };
      })
      .immediate();
    return toRun(run);
  }

  private runRow(runId: string): RunRow {
    if (typeof runId !== 'string') throw new ValidationError('runId', 'a run id (string)', runId);
    const row = this.db.prepare(`SELECT * FROM ${quote(RUN_TABLE)} WHERE run_id = ?`).get(runId) as
      | RunRow
      | undefined;
    if (!row) throw new ValidationError('runId', 'the id of a run of this sandbox', runId);
    return row;
  }

  async listRuns(): Promise<SandboxRun[]> {
    return this.listRunsSync();
  }

  /** Every run, oldest first. */
  listRunsSync(): SandboxRun[] {
    return (this.db.prepare(`SELECT * FROM ${quote(RUN_TABLE)} ORDER BY seq`).all() as RunRow[]).map(toRun);
  }

  async ledger(runId: string): Promise<LedgerEntry[]> {
    return this.ledgerSync(runId);
  }

  /** The ledger lines of a run in order, each change exactly as applied. */
  ledgerSync(runId: string): LedgerEntry[] {
    this.runRow(runId);
    const rows = this.db
      .prepare(`SELECT * FROM ${quote(LEDGER_TABLE)} WHERE run_id = ? ORDER BY seq`)
      .all(runId) as LedgerRow[];
    return rows.map(ledgerEntry);
  }

  /** Checksums of the Mosaiq tables as they are now (see `tableChecksum`). */
  checksum(): TableChecksums {
    return checksumDatabase(this.db);
  }

  /** Rows per Mosaiq table. */
  tableCounts(): Record<TableName, number> {
    return countRows(this.db);
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.db.open) this.db.close();
  }
}

/** Opens a sandbox for writing (see SqliteSandboxWriter). */
export function openSandboxWriter(path: string, options: OpenOptions = {}): SqliteSandboxWriter {
  return SqliteSandboxWriter.open(path, options);
}
