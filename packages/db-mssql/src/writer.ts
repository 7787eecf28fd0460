import { parseWith, ValidationError } from '@anomalia/core';
import {
  type Change,
  ChangeConflictError,
  type ColumnValue,
  columnValuesEqual,
  invertChange,
  type LedgerEntry,
  MOSAIQ_TABLES,
  NotASandboxError,
  type RunMeta,
  RunMetaSchema,
  type SandboxRun,
  type SandboxWriter,
  TABLE_NAMES,
  type TableName,
  validateChange,
} from '@anomalia/mosaiq';
import { checksumTables, type TableChecksums } from './checksum';
import { type Isolation, MssqlClient, type RequestOptions, type Transaction } from './client';
import { type DeclaredColumn, INVALID, storedValue, toDatetimeGrid } from './column-types';
import { type MssqlTargetInput, mssqlTarget } from './config';
import { MssqlQueryError } from './errors';
import {
  type AppliedChange,
  decodeDeclared,
  type ExtraColumns,
  isSupported,
  ledgerEntry,
  ledgerValues,
} from './ledger';
import { ANOMALIA_SCHEMA, existingTables, probeMosaiqSchema, SchemaError, type TableColumns } from './schema';
import { chunk } from './statement';
import {
  deleteStatement,
  insertRunStatement,
  insertStatements,
  ledgerInsertStatements,
  ledgerStatement,
  lockRowsStatement,
  markerStatement,
  nextRunStatement,
  packWrites,
  RUN_COLUMNS,
  restoredRunStatement,
  runStatement,
  runsStatement,
  updateStatement,
  type WriteStatement,
} from './write-queries';

export interface WriterOptions {
  /** Called with the text of every request sent (never parameter values). */
  onQuery?: (sql: string) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

/** How the writer sees one Mosaiq table of the sandbox. */
interface TableInfo {
  table: TableName;
  pk: string;
  /** The Mosaiq columns (MOSAIQ_TABLES spelling) with their declared types. */
  mosaiq: DeclaredColumn[];
  /** Other writable columns: kept in the ledger when a row is deleted, so its restore is whole. */
  extra: DeclaredColumn[];
  /** Writable columns of types this package cannot keep (a delete on such a table is refused). */
  unsupported: DeclaredColumn[];
  identity: boolean;
}

function tableInfo(table: TableName, declared: readonly DeclaredColumn[]): TableInfo {
  const byName = new Map(declared.map((c) => [c.name.toLowerCase(), c]));
  const pk = MOSAIQ_TABLES[table].primaryKey;
  const mosaiqNames = new Set(Object.keys(MOSAIQ_TABLES[table].columns).map((c) => c.toLowerCase()));
  const mosaiq = Object.keys(MOSAIQ_TABLES[table].columns).map((name) => ({
    ...byName.get(name.toLowerCase())!,
    name,
  }));
  const others = declared.filter((c) => !mosaiqNames.has(c.name.toLowerCase()) && !c.readOnly);
  return {
    table,
    pk,
    mosaiq,
    extra: others.filter(isSupported),
    unsupported: others.filter((c) => !isSupported(c)),
    identity: mosaiq.find((c) => c.name === pk)?.identity === true,
  };
}

type StoredRow = Record<string, ColumnValue>;

function describe(v: ColumnValue | undefined): string {
  if (v === undefined) return 'no value';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return JSON.stringify(v);
}

function parseMeta(input: unknown): RunMeta {
  return parseWith(RunMetaSchema, input, 'meta');
}

/**
 * The SandboxWriter of @anomalia/mosaiq on SQL Server. It only ever opens a database holding the
 * `anomalia.Anomalia_Sandbox` marker table (checked by a read before anything else is sent, and
 * again first thing inside every write transaction); anything else is a NotASandboxError. A run
 * is one transaction: the rows it touches are read with update and key-range locks, every
 * precondition is checked against them (the semantics of `applyChanges`), values are brought to
 * what SQL Server stores (datetime ticks, decimal scale, char padding; a value that cannot be
 * stored as given is a ValidationError), then the writes and the typed ledger lines are sent in
 * a few batched requests. Any failure, a conflict, a bad value or a server error after part of
 * the run was written, rolls all of it back (XACT_ABORT is on).
 */
export class MssqlSandboxWriter implements SandboxWriter {
  private readonly tables: Record<TableName, TableInfo>;

  private constructor(
    private readonly client: MssqlClient,
    columns: TableColumns,
  ) {
    this.tables = Object.fromEntries(TABLE_NAMES.map((t) => [t, tableInfo(t, columns[t])])) as Record<
      TableName,
      TableInfo
    >;
  }

  /** Connects to a sandbox; a database without the marker is a NotASandboxError, refused before any write. */
  static async open(input: MssqlTargetInput, options: WriterOptions = {}): Promise<MssqlSandboxWriter> {
    const target = mssqlTarget(input, { env: options.env });
    if (target.settings.applicationIntent === 'ReadOnly') {
      throw new ValidationError(
        'mssql.applicationIntent',
        'ReadWrite for a writer (a ReadOnly connection cannot write)',
        'ReadOnly',
      );
    }
    const client = await MssqlClient.connect(target, { role: 'writer', onQuery: options.onQuery });
    try {
      const [marked, runs, ledger] = await existingTables(client, [
        { schema: ANOMALIA_SCHEMA, table: 'Anomalia_Sandbox' },
        { schema: ANOMALIA_SCHEMA, table: 'Anomalia_Run' },
        { schema: ANOMALIA_SCHEMA, table: 'Anomalia_Ledger' },
      ]);
      if (!marked) throw new NotASandboxError(client.label);
      if (!runs || !ledger) {
        throw new SchemaError(client.label, [
          'the sandbox marker is there but anomalia.Anomalia_Run or anomalia.Anomalia_Ledger is missing',
        ]);
      }
      const columns = await probeMosaiqSchema(client, target.settings.schema);
      return new MssqlSandboxWriter(client, columns);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  get label(): string {
    return this.client.label;
  }

  private get schema(): string {
    return this.client.target.settings.schema;
  }

  private transaction<T>(work: (tx: Transaction) => Promise<T>, options: RequestOptions): Promise<T> {
    const isolation: Isolation = 'read-committed';
    return this.client.transaction(
      isolation,
      async (tx) => {
        const { sets } = await tx.query(markerStatement(), options);
        if (sets[0]?.rows[0]?.[0] == null) throw new NotASandboxError(this.label);
        return work(tx);
      },
      options,
    );
  }

  async apply(changes: readonly Change[], meta: RunMeta, options: RequestOptions = {}): Promise<SandboxRun> {
    const m = parseMeta(meta);
    if (!Array.isArray(changes) || changes.length === 0) {
      throw new ValidationError('changes', 'a non-empty array of changes', changes);
    }
    changes.forEach((c, i) => {
      validateChange(c, `changes[${i}]`);
    });
    return this.transaction(async (tx) => {
      const applied = await this.execute(
        tx,
        changes.map((change, i) => ({ change, index: i, extra: null })),
        undefined,
        options,
      );
      const { sets } = await tx.query(nextRunStatement(), options);
      const seq = Number(sets[0]?.rows[0]?.[0] ?? 0) + 1;
      const runId = `run-${seq}`;
      const appliedAt = toDatetimeGrid(new Date());
      const run: SandboxRun = {
        runId,
        meta: m,
        appliedAt,
        restoredAt: null,
        status: 'applied',
        changeCount: changes.length,
      };
      const lines = applied.writes.map((a, i) =>
        ledgerValues(runId, i, a, { mode: m.mode ?? null, variant: m.variant ?? null, appliedAt }),
      );
      await this.send(
        tx,
        [
          insertRunStatement([
            seq,
            runId,
            m.label,
            m.mode ?? null,
            m.variant ?? null,
            m.seed ?? null,
            JSON.stringify(m),
            appliedAt,
            null,
            'applied',
            changes.length,
          ]),
          ...applied.statements,
          ...ledgerInsertStatements(lines),
        ],
        options,
      );
      return run;
    }, options);
  }

  async restore(runId: string, options: RequestOptions = {}): Promise<SandboxRun> {
    if (typeof runId !== 'string') throw new ValidationError('runId', 'a run id (string)', runId);
    return this.transaction(async (tx) => {
      const run = await this.run(tx, runId, true, options);
      if (run.status !== 'applied') {
        throw new ValidationError(
          'runId',
          `a run that is still applied (${runId} was restored at ${run.restoredAt!.toISOString()})`,
          runId,
        );
      }
      const entries = await this.entries(tx, runId, options);
      const inverse = [...entries].reverse().map((e) => ({
        change: invertChange(e.change),
        index: e.seq,
        // Restoring a delete inserts the whole row, its extra columns too.
        extra: e.change.kind === 'delete' ? e.extra : null,
      }));
      const done = await this.execute(
        tx,
        inverse,
        `restoring ${runId}: the run's change no longer holds (restore later runs that touched it first)`,
        options,
      );
      const restoredAt = toDatetimeGrid(new Date());
      await this.send(tx, [...done.statements, restoredRunStatement(runId, restoredAt)], options);
      return { ...run, status: 'restored', restoredAt };
    }, options);
  }

  async listRuns(options: RequestOptions = {}): Promise<SandboxRun[]> {
    const { sets } = await this.client.query(runsStatement(), options);
    return (sets[0]?.rows ?? []).map(toRun);
  }

  async ledger(runId: string, options: RequestOptions = {}): Promise<LedgerEntry[]> {
    if (typeof runId !== 'string') throw new ValidationError('runId', 'a run id (string)', runId);
    const q: Transaction['query'] = (s, o) => this.client.query(s, { ...options, ...o });
    await this.run({ query: q }, runId, false, options);
    return (await this.entries({ query: q }, runId, options)).map(({ runId: r, seq, change }) => ({
      runId: r,
      seq,
      change,
    }));
  }

  /** Checksums of the Mosaiq tables (all tables, or these), row versions left out. */
  async checksum(
    tables: readonly TableName[] = TABLE_NAMES,
    options: RequestOptions = {},
  ): Promise<TableChecksums> {
    const columns = Object.fromEntries(
      TABLE_NAMES.map((t) => [t, [...this.tables[t].mosaiq, ...this.tables[t].extra]]),
    ) as TableColumns;
    return checksumTables(this.client, this.schema, columns, tables, options);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async run(
    tx: Transaction,
    runId: string,
    lock: boolean,
    options: RequestOptions,
  ): Promise<SandboxRun> {
    const { sets } = await tx.query(runStatement(runId, lock), options);
    const row = sets[0]?.rows[0];
    if (!row) throw new ValidationError('runId', 'the id of a run of this sandbox', runId);
    return toRun(row);
  }

  private async entries(tx: Transaction, runId: string, options: RequestOptions) {
    const { sets } = await tx.query(ledgerStatement(runId), options);
    const set = sets[0];
    if (!set) return [];
    const names = set.columns.map((c) => c.name);
    return set.rows.map((raw) => ledgerEntry(Object.fromEntries(names.map((n, i) => [n, raw[i]]))));
  }

  /** Sends write statements in as few requests as possible, checking each one's row count. */
  private async send(
    tx: Transaction,
    statements: readonly WriteStatement[],
    options: RequestOptions,
  ): Promise<void> {
    for (const { statement, parts } of packWrites(statements)) {
      const { rowsAffected } = await tx.query(statement, options);
      const expected = parts.filter((p) => p.expectRows !== null);
      expected.forEach((p, i) => {
        if (rowsAffected[i] !== p.expectRows) {
          throw new MssqlQueryError(
            this.label,
            undefined,
            `${p.what} affected ${rowsAffected[i] ?? 'no'} rows, expected ${p.expectRows}; the run was rolled back`,
          );
        }
      });
    }
  }

  /**
   * Reads (and locks) every row the changes touch, checks the changes in order against them as
   * `applyChanges` does in memory, and returns the changes as they will be stored with the
   * statements that store them. Nothing is written here.
   */
  private async execute(
    tx: Transaction,
    changes: readonly { change: Change; index: number; extra: ExtraColumns | null }[],
    context: string | undefined,
    options: RequestOptions,
  ): Promise<{ writes: AppliedChange[]; statements: WriteStatement[] }> {
    const state = await this.lockRows(
      tx,
      changes.map((c) => c.change),
      options,
    );
    const writes: AppliedChange[] = [];
    const statements: WriteStatement[] = [];
    for (const { change, index, extra } of changes) {
      const info = this.tables[change.table];
      const slot = `${change.table}:${change.key}`;
      const current = state.get(slot);
      const what = `changes[${index}]`;
      const conflict = (reason: string) =>
        new ChangeConflictError(change, index, context ? `${context}: ${reason}` : reason);
      const column = (name: string) => info.mosaiq.find((c) => c.name === name)!;
      switch (change.kind) {
        case 'update': {
          if (current === undefined) throw conflict('no row has this key');
          const stored = current[change.column] ?? null;
          if (!columnValuesEqual(stored, change.oldValue)) {
            throw conflict(`expected ${describe(change.oldValue)}, found ${describe(stored)}`);
          }
          const c = column(change.column);
          const value = storedValue(c, change.newValue, `${what}.newValue`);
          statements.push(updateStatement(this.schema, change.table, info.pk, change.key, c, value, what));
          state.set(slot, { ...current, [change.column]: value });
          writes.push({ change: { ...change, oldValue: stored, newValue: value }, extra: null });
          break;
        }
        case 'insert': {
          if (current !== undefined) throw conflict('a row with this key already exists');
          const row: StoredRow = {};
          for (const c of info.mosaiq)
            row[c.name] = storedValue(c, change.row[c.name] ?? null, `${what}.row.${c.name}`);
          const values: { column: DeclaredColumn; value: ColumnValue }[] = info.mosaiq.map((c) => ({
            column: c,
            value: row[c.name] ?? null,
          }));
          const next: StoredRow = { ...row };
          for (const [name, { value }] of Object.entries(extra ?? {})) {
            const c = info.extra.find((e) => e.name.toLowerCase() === name.toLowerCase());
            if (!c)
              throw new ValidationError(
                `${what}.extra.${name}`,
                `a column of ${change.table} in this database`,
              );
            values.push({ column: c, value: storedValue(c, value, `${what}.extra.${name}`) });
            next[c.name] = value;
          }
          statements.push(...insertStatements(this.schema, change.table, values, info.identity, what));
          state.set(slot, next);
          writes.push({ change: { kind: 'insert', table: change.table, key: change.key, row }, extra: null });
          break;
        }
        case 'delete': {
          if (current === undefined) throw conflict('no row has this key');
          for (const [name, value] of Object.entries(change.row)) {
            if (!columnValuesEqual(current[name], value)) {
              throw conflict(`${name}: expected ${describe(value)}, found ${describe(current[name])}`);
            }
          }
          if (info.unsupported.length > 0) {
            throw new ValidationError(
              what,
              `a table whose columns can all be kept to restore the row (${change.table}.${info.unsupported[0]!.name} is ${info.unsupported[0]!.type})`,
            );
          }
          const row: StoredRow = {};
          for (const c of info.mosaiq) row[c.name] = current[c.name] ?? null;
          const kept: ExtraColumns = {};
          for (const c of info.extra) kept[c.name] = { column: c, value: current[c.name] ?? null };
          statements.push(deleteStatement(this.schema, change.table, info.pk, change.key, what));
          state.set(slot, undefined);
          writes.push({
            change: { kind: 'delete', table: change.table, key: change.key, row },
            extra: info.extra.length > 0 ? kept : null,
          });
          break;
        }
      }
    }
    return { writes, statements };
  }

  /** The current rows of every key the changes name (undefined: no such row), locked. */
  private async lockRows(
    tx: Transaction,
    changes: readonly Change[],
    options: RequestOptions,
  ): Promise<Map<string, StoredRow | undefined>> {
    const keys = new Map<TableName, Set<number>>();
    for (const c of changes) {
      const s = keys.get(c.table) ?? new Set<number>();
      keys.set(c.table, s);
      s.add(c.key);
    }
    const state = new Map<string, StoredRow | undefined>();
    const reads: { statement: WriteStatement; info: TableInfo; columns: DeclaredColumn[] }[] = [];
    for (const [table, set] of keys) {
      for (const key of set) state.set(`${table}:${key}`, undefined);
      const info = this.tables[table];
      const columns = [...info.mosaiq, ...info.extra];
      for (const c of chunk([...set])) {
        const s = lockRowsStatement(
          this.schema,
          table,
          info.pk,
          columns.map((x) => x.name),
          c,
        );
        reads.push({ statement: { ...s, expectRows: null, what: table }, info, columns });
      }
    }
    let next = 0;
    for (const { statement } of packWrites(reads.map((r) => r.statement))) {
      const { sets } = await tx.query(statement, options);
      for (const set of sets) {
        const { info, columns } = reads[next++]!;
        for (const raw of set.rows) {
          const row: StoredRow = {};
          columns.forEach((c, i) => {
            const v = decodeDeclared(c, raw[i]);
            if (v === INVALID) {
              throw new ValidationError(
                `${info.table}[${info.pk}=${String(raw[0])}].${c.name}`,
                `a value of its type ${c.type}`,
                raw[i],
              );
            }
            row[c.name] = v;
          });
          state.set(`${info.table}:${row[info.pk] as number}`, row);
        }
      }
    }
    return state;
  }
}

function toRun(raw: unknown[]): SandboxRun {
  const row = Object.fromEntries(RUN_COLUMNS.map(([c], i) => [c, raw[i]])) as Record<string, unknown>;
  return {
    runId: String(row.run_id),
    meta: RunMetaSchema.parse(JSON.parse(String(row.meta_json))),
    appliedAt: row.applied_at as Date,
    restoredAt: (row.restored_at as Date | null) ?? null,
    status: row.status as SandboxRun['status'],
    changeCount: Number(row.change_count),
  };
}

/** Connects a sandbox writer (see MssqlSandboxWriter.open). */
export function openSandboxWriter(
  input: MssqlTargetInput,
  options: WriterOptions = {},
): Promise<MssqlSandboxWriter> {
  return MssqlSandboxWriter.open(input, options);
}
