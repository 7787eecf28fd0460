import { type ColumnValue, LEDGER_TABLE, RUN_TABLE, SANDBOX_MARKER_TABLE } from '@anomalia/mosaiq';
import type { DeclaredColumn } from './column-types';
import { LEDGER_COLUMNS, SLOT_TYPES, SLOTS } from './ledger';
import { ANOMALIA_SCHEMA } from './schema';
import {
  DATETIME,
  INT,
  inList,
  MAX_PARAMS,
  Params,
  type ParamType,
  paramTypeFor,
  qualified,
  quoteName,
  type Statement,
} from './statement';

/**
 * The T-SQL of the sandbox writer and of sandbox creation. Rows a run reads before writing are
 * read `WITH (UPDLOCK, HOLDLOCK)`: update locks held to the end of the transaction, with key-range
 * locks for keys that do not exist yet, so no other session changes (or inserts) what the run's
 * preconditions were checked against.
 */

export const MARKER = qualified(ANOMALIA_SCHEMA, SANDBOX_MARKER_TABLE);
export const RUNS = qualified(ANOMALIA_SCHEMA, RUN_TABLE);
export const LEDGER = qualified(ANOMALIA_SCHEMA, LEDGER_TABLE);

/** One row: the marker table's object id, NULL when the database is not a sandbox. */
export function markerStatement(): Statement {
  return { sql: `SELECT OBJECT_ID(N'${MARKER}', N'U') AS [marker];`, params: [] };
}

/** The current rows of some keys, locked until the transaction ends. */
export function lockRowsStatement(
  schema: string,
  table: string,
  pk: string,
  columns: readonly string[],
  keys: readonly number[],
): Statement {
  const params = new Params();
  return {
    sql:
      `SELECT ${columns.map(quoteName).join(', ')} FROM ${qualified(schema, table)} WITH (UPDLOCK, HOLDLOCK) ` +
      `WHERE ${quoteName(pk)} IN ${inList(params, keys)};`,
    params: params.list,
  };
}

/** A statement of a write batch; `params` are numbered from 0 and renamed when batched. */
export interface WriteStatement extends Statement {
  /** Rows it must affect (a DML statement); null for statements without a row count (SET). */
  expectRows: number | null;
  /** What it does, for errors (`changes[3]`, `ledger`). */
  what: string;
}

export function updateStatement(
  schema: string,
  table: string,
  pk: string,
  key: number,
  column: DeclaredColumn,
  value: ColumnValue,
  what: string,
): WriteStatement {
  const params = new Params();
  const v = params.add(paramTypeFor(column), value);
  return {
    sql: `UPDATE ${qualified(schema, table)} SET ${quoteName(column.name)} = ${v} WHERE ${quoteName(pk)} = ${params.add(INT, key)};`,
    params: params.list,
    expectRows: 1,
    what,
  };
}

export function deleteStatement(
  schema: string,
  table: string,
  pk: string,
  key: number,
  what: string,
): WriteStatement {
  const params = new Params();
  return {
    sql: `DELETE FROM ${qualified(schema, table)} WHERE ${quoteName(pk)} = ${params.add(INT, key)};`,
    params: params.list,
    expectRows: 1,
    what,
  };
}

/** An INSERT of one row (with IDENTITY_INSERT around it when the key is an identity column). */
export function insertStatements(
  schema: string,
  table: string,
  values: readonly { column: DeclaredColumn; value: ColumnValue }[],
  identity: boolean,
  what: string,
): WriteStatement[] {
  const params = new Params();
  const names = values.map((v) => quoteName(v.column.name)).join(', ');
  const placeholders = values.map((v) => params.add(paramTypeFor(v.column), v.value)).join(', ');
  const insert: WriteStatement = {
    sql: `INSERT INTO ${qualified(schema, table)} (${names}) VALUES (${placeholders});`,
    params: params.list,
    expectRows: 1,
    what,
  };
  if (!identity) return [insert];
  const set = (on: boolean): WriteStatement => ({
    sql: `SET IDENTITY_INSERT ${qualified(schema, table)} ${on ? 'ON' : 'OFF'};`,
    params: [],
    expectRows: null,
    what,
  });
  return [set(true), insert, set(false)];
}

/** Multi-row INSERTs of ledger lines (as many rows per statement as the parameter limit allows). */
export function ledgerInsertStatements(
  lines: readonly ColumnValue[][],
  what = 'the ledger',
): WriteStatement[] {
  const perRow = LEDGER_COLUMNS.length;
  const rowsPer = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / perRow)));
  const out: WriteStatement[] = [];
  for (let i = 0; i < lines.length; i += rowsPer) {
    const params = new Params();
    const rows = lines
      .slice(i, i + rowsPer)
      .map((line) => `(${line.map((v, j) => params.add(LEDGER_COLUMNS[j]![1], v)).join(', ')})`);
    out.push({
      sql: `INSERT INTO ${LEDGER} (${LEDGER_COLUMNS.map(([c]) => quoteName(c)).join(', ')}) VALUES ${rows.join(', ')};`,
      params: params.list,
      expectRows: rows.length,
      what,
    });
  }
  return out;
}

/** The next run number, with the run table's range locked so concurrent runs take different numbers. */
export function nextRunStatement(): Statement {
  return { sql: `SELECT MAX([seq]) AS [seq] FROM ${RUNS} WITH (UPDLOCK, HOLDLOCK);`, params: [] };
}

export const RUN_COLUMNS: readonly [string, ParamType][] = [
  ['seq', INT],
  ['run_id', { type: 'varchar', length: 40 }],
  ['label', { type: 'nvarchar', length: 500 }],
  ['mode', { type: 'nvarchar', length: 128 }],
  ['variant', { type: 'nvarchar', length: 128 }],
  ['seed', { type: 'bigint' }],
  ['meta_json', { type: 'nvarchar', length: -1 }],
  ['applied_at', DATETIME],
  ['restored_at', DATETIME],
  ['status', { type: 'varchar', length: 10 }],
  ['change_count', INT],
];

export function insertRunStatement(values: readonly ColumnValue[]): WriteStatement {
  const params = new Params();
  return {
    sql: `INSERT INTO ${RUNS} (${RUN_COLUMNS.map(([c]) => quoteName(c)).join(', ')}) VALUES (${values
      .map((v, i) => params.add(RUN_COLUMNS[i]![1], v))
      .join(', ')});`,
    params: params.list,
    expectRows: 1,
    what: 'the run',
  };
}

export function restoredRunStatement(runId: string, at: Date): WriteStatement {
  const params = new Params();
  return {
    sql: `UPDATE ${RUNS} SET [status] = 'restored', [restored_at] = ${params.add(DATETIME, at)} WHERE [run_id] = ${params.add({ type: 'varchar', length: 40 }, runId)} AND [status] = 'applied';`,
    params: params.list,
    expectRows: 1,
    what: 'the run',
  };
}

const runSelect = `SELECT ${RUN_COLUMNS.map(([c]) => quoteName(c)).join(', ')} FROM ${RUNS}`;

/** One run, locked (restore) or not (ledger). */
export function runStatement(runId: string, lock: boolean): Statement {
  const params = new Params();
  return {
    sql: `${runSelect}${lock ? ' WITH (UPDLOCK, HOLDLOCK)' : ''} WHERE [run_id] = ${params.add({ type: 'varchar', length: 40 }, runId)};`,
    params: params.list,
  };
}

export function runsStatement(): Statement {
  return { sql: `${runSelect} ORDER BY [seq];`, params: [] };
}

export function ledgerStatement(runId: string): Statement {
  const params = new Params();
  return {
    sql: `SELECT ${LEDGER_COLUMNS.map(([c]) => quoteName(c)).join(', ')} FROM ${LEDGER} WHERE [run_id] = ${params.add({ type: 'varchar', length: 40 }, runId)} ORDER BY [seq];`,
    params: params.list,
  };
}

/**
 * Packs write statements into requests of at most MAX_PARAMS parameters and 200 statements,
 * renaming parameters so they do not collide.
 */
export function packWrites(
  statements: readonly WriteStatement[],
): { statement: Statement; parts: WriteStatement[] }[] {
  const out: { statement: Statement; parts: WriteStatement[] }[] = [];
  let sql: string[] = [];
  let params = new Params();
  let parts: WriteStatement[] = [];
  const flush = () => {
    if (parts.length > 0) out.push({ statement: { sql: sql.join('\n'), params: params.list }, parts });
    sql = [];
    params = new Params();
    parts = [];
  };
  for (const s of statements) {
    if (parts.length >= 200 || params.size + s.params.length > MAX_PARAMS) flush();
    const offset = params.size;
    for (const p of s.params) params.add(p.type, p.value);
    sql.push(s.sql.replace(/@p(\d+)\b/g, (_, n: string) => `@p${Number(n) + offset}`));
    parts.push(s);
  }
  flush();
  return out;
}

// ---------- sandbox bookkeeping ----------

const slotDefs = (prefix: string) =>
  SLOTS.map((s) => {
    const t = SLOT_TYPES[s];
    const decl = t.type === 'nvarchar' || t.type === 'varbinary' ? `${t.type}(max)` : t.type;
    return `  [${prefix}_${s}] ${decl} NULL`;
  });

/** The marker, run and ledger tables (CREATE SCHEMA goes alone in its own request before). */
export function bookkeepingTablesSql(): string[] {
  return [
    `CREATE TABLE ${MARKER} (
  [marked_at] datetime NOT NULL,
  [origin] varchar(10) NOT NULL,
  [source] nvarchar(400) NULL
);`,
    `CREATE TABLE ${RUNS} (
  [seq] int NOT NULL,
  [run_id] varchar(40) NOT NULL,
  [label] nvarchar(500) NOT NULL,
  [mode] nvarchar(128) NULL,
  [variant] nvarchar(128) NULL,
  [seed] bigint NULL,
  [meta_json] nvarchar(max) NOT NULL,
  [applied_at] datetime NOT NULL,
  [restored_at] datetime NULL,
  [status] varchar(10) NOT NULL,
  [change_count] int NOT NULL,
  CONSTRAINT [PK_Anomalia_Run] PRIMARY KEY ([seq]),
  CONSTRAINT [UQ_Anomalia_Run_run_id] UNIQUE ([run_id])
);`,
    `CREATE TABLE ${LEDGER} (
  [run_id] varchar(40) NOT NULL,
  [seq] int NOT NULL,
  [kind] varchar(6) NOT NULL,
  [table_name] varchar(64) NOT NULL,
  [row_key] int NOT NULL,
  [column_name] varchar(128) NULL,
  [sql_type] varchar(16) NULL,
${slotDefs('old').join(',\n')},
${slotDefs('new').join(',\n')},
  [row_json] nvarchar(max) NULL,
  [extra_json] nvarchar(max) NULL,
  [mode] nvarchar(128) NULL,
  [variant] nvarchar(128) NULL,
  [applied_at] datetime NOT NULL,
  CONSTRAINT [PK_Anomalia_Ledger] PRIMARY KEY ([run_id], [seq])
);`,
  ];
}

export function createSchemaStatement(): Statement {
  return { sql: `CREATE SCHEMA ${quoteName(ANOMALIA_SCHEMA)};`, params: [] };
}

export function insertMarkerStatement(
  origin: 'created' | 'marked',
  at: Date,
  source: string | null,
): Statement {
  const params = new Params();
  return {
    sql: `INSERT INTO ${MARKER} ([marked_at], [origin], [source]) VALUES (${params.add(DATETIME, at)}, ${params.add({ type: 'varchar', length: 10 }, origin)}, ${params.add({ type: 'nvarchar', length: 400 }, source)});`,
    params: params.list,
  };
}

export function markerInfoStatement(): Statement {
  return {
    sql: `SELECT TOP (1) [marked_at], [origin], [source] FROM ${MARKER} ORDER BY [marked_at] DESC;`,
    params: [],
  };
}
