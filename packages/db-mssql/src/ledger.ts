import { ValidationError } from '@anomalia/core';
import {
  type Change,
  type ColumnValue,
  type ColumnValueJson,
  columnValueFromJson,
  columnValueToJson,
  type LedgerEntry,
  MOSAIQ_TABLES,
  type SqlType,
  TABLE_NAMES,
  type TableName,
  validateChange,
} from '@anomalia/mosaiq';
import { z } from 'zod';
import { type DeclaredColumn, declaration, INVALID } from './column-types';
import type { ParamType } from './statement';

/**
 * The ledger of a SQL Server sandbox (`anomalia.Anomalia_Ledger`): one line per change as
 * applied. Old and new values of an update are typed: each lands in the column of its kind
 * (`old_int` bigint, `old_float` float, `old_bit` bit, `old_datetime` datetime, `old_text`
 * nvarchar(max), `old_bytes` varbinary(max)), so SQL Server holds them in their own type and a
 * DBA can read them. Inserted and deleted rows are stored as JSON of their Mosaiq columns
 * (`row_json`), and a deleted row's other columns (those a real Mosaiq has and Anomalia does not
 * use) with their declared types (`extra_json`), so a restore puts back the whole row.
 */
export type Slot = 'int' | 'float' | 'bit' | 'datetime' | 'text' | 'bytes';

export const SLOT_OF: Record<SqlType, Slot> = {
  int: 'int',
  smallint: 'int',
  tinyint: 'int',
  bigint: 'int',
  bit: 'bit',
  decimal: 'float',
  float: 'float',
  datetime: 'datetime',
  varchar: 'text',
  char: 'text',
  binary: 'bytes',
  timestamp: 'bytes',
};

export const SLOT_TYPES: Record<Slot, ParamType> = {
  int: { type: 'bigint' },
  float: { type: 'float' },
  bit: { type: 'bit' },
  datetime: { type: 'datetime' },
  text: { type: 'nvarchar', length: -1 },
  bytes: { type: 'varbinary', length: -1 },
};

export const SLOTS = Object.keys(SLOT_TYPES) as Slot[];

/** The ledger's columns in order, with their parameter types. */
export const LEDGER_COLUMNS: readonly [string, ParamType][] = [
  ['run_id', { type: 'varchar', length: 40 }],
  ['seq', { type: 'int' }],
  ['kind', { type: 'varchar', length: 6 }],
  ['table_name', { type: 'varchar', length: 64 }],
  ['row_key', { type: 'int' }],
  ['column_name', { type: 'varchar', length: 128 }],
  ['sql_type', { type: 'varchar', length: 16 }],
  ...SLOTS.map((s): [string, ParamType] => [`old_${s}`, SLOT_TYPES[s]]),
  ...SLOTS.map((s): [string, ParamType] => [`new_${s}`, SLOT_TYPES[s]]),
  ['row_json', { type: 'nvarchar', length: -1 }],
  ['extra_json', { type: 'nvarchar', length: -1 }],
  ['mode', { type: 'nvarchar', length: 128 }],
  ['variant', { type: 'nvarchar', length: 128 }],
  ['applied_at', { type: 'datetime' }],
];

/** Columns of a deleted row beyond MOSAIQ_TABLES: declared type and value, for the restore. */
export type ExtraColumns = Record<string, { column: DeclaredColumn; value: ColumnValue }>;

/** A change as applied, with the extra columns of a deleted row. */
export interface AppliedChange {
  change: Change;
  extra: ExtraColumns | null;
}

function slotValues(type: SqlType | null, value: ColumnValue): Record<Slot, ColumnValue> {
  const out = Object.fromEntries(SLOTS.map((s) => [s, null])) as Record<Slot, ColumnValue>;
  if (type !== null && value !== null) out[SLOT_OF[type]] = value;
  return out;
}

const rowJson = (row: Readonly<Record<string, ColumnValue>>) =>
  JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, columnValueToJson(v)])));

/** The ledger line's values, in LEDGER_COLUMNS order. */
export function ledgerValues(
  runId: string,
  seq: number,
  applied: AppliedChange,
  meta: { mode: string | null; variant: string | null; appliedAt: Date },
): ColumnValue[] {
  const c = applied.change;
  const type =
    c.kind === 'update'
      ? ((MOSAIQ_TABLES[c.table].columns as Record<string, SqlType>)[c.column] ?? null)
      : null;
  const old = slotValues(type, c.kind === 'update' ? c.oldValue : null);
  const next = slotValues(type, c.kind === 'update' ? c.newValue : null);
  const extra =
    applied.extra === null
      ? null
      : JSON.stringify(
          Object.fromEntries(
            Object.entries(applied.extra).map(([k, { column, value }]) => [
              k,
              { type: declaration(column), value: columnValueToJson(value) },
            ]),
          ),
        );
  return [
    runId,
    seq,
    c.kind,
    c.table,
    c.key,
    c.kind === 'update' ? c.column : null,
    type,
    ...SLOTS.map((s) => old[s]),
    ...SLOTS.map((s) => next[s]),
    c.kind === 'update' ? null : rowJson(c.row),
    extra,
    meta.mode,
    meta.variant,
    meta.appliedAt,
  ];
}

const rowJsonSchema = z.record(z.string(), z.unknown());
const extraSchema = z.record(z.string(), z.strictObject({ type: z.string(), value: z.unknown() }));

function parseJson(text: unknown, where: string): unknown {
  if (typeof text !== 'string') throw new ValidationError(where, 'JSON text', text);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(where, 'valid JSON', text.slice(0, 80));
  }
}

function toValue(slot: Slot, v: unknown, where: string): ColumnValue {
  if (v === null || v === undefined) return null;
  switch (slot) {
    case 'int': {
      const n = typeof v === 'string' ? Number(v) : v; // bigint arrives as a string
      if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
      break;
    }
    case 'float':
      if (typeof v === 'number') return v;
      break;
    case 'bit':
      if (typeof v === 'boolean') return v;
      break;
    case 'datetime':
      if (v instanceof Date) return v;
      break;
    case 'text':
      if (typeof v === 'string') return v;
      break;
    case 'bytes':
      if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      break;
  }
  throw new ValidationError(where, `a ${slot} value`, v);
}

/** Parses `int`, `decimal(12,4)`, `varchar(64)`, `binary(200)`, `varbinary(max)` back into a column. */
export function parseDeclaration(name: string, text: string, where: string): DeclaredColumn {
  const m = /^([a-z]+)(?:\((\d+|max)(?:,(\d+))?\))?$/.exec(text);
  if (!m) throw new ValidationError(where, 'an SQL type such as int or varchar(64)', text);
  const type = m[1] as DeclaredColumn['type'];
  const c: DeclaredColumn = { name, type };
  if (type === 'decimal') {
    c.precision = Number(m[2] ?? 18);
    c.scale = Number(m[3] ?? 0);
  } else if (m[2] !== undefined) c.length = m[2] === 'max' ? -1 : Number(m[2]);
  return c;
}

/** The value of an extra column from its JSON, by its declared type. */
function extraValue(column: DeclaredColumn, v: unknown, where: string): ColumnValue {
  const value = columnValueFromJson(v as ColumnValueJson, where);
  const decoded = decodeDeclared(column, value);
  if (decoded === INVALID) throw new ValidationError(where, `a value of ${declaration(column)}`, v);
  return decoded;
}

/** A stored ledger line back to its change; a damaged line is a ValidationError naming the field. */
export function ledgerEntry(row: Record<string, unknown>): LedgerEntry & { extra: ExtraColumns | null } {
  const runId = String(row.run_id);
  const seq = Number(row.seq);
  const where = `${runId}.ledger[${seq}]`;
  const table = row.table_name as TableName;
  if (!TABLE_NAMES.includes(table)) {
    throw new ValidationError(`${where}.table_name`, `one of ${TABLE_NAMES.join(', ')}`, row.table_name);
  }
  const kind = row.kind as Change['kind'];
  const key = Number(row.row_key);
  let change: Change;
  if (kind === 'update') {
    const column = String(row.column_name);
    const type = (MOSAIQ_TABLES[table].columns as Record<string, SqlType>)[column];
    if (!type || type !== row.sql_type) {
      throw new ValidationError(
        `${where}.column_name`,
        `a column of ${table} with its SQL type`,
        row.column_name,
      );
    }
    const slot = SLOT_OF[type];
    change = {
      kind,
      table,
      key,
      column,
      oldValue: toValue(slot, row[`old_${slot}`], `${where}.old_${slot}`),
      newValue: toValue(slot, row[`new_${slot}`], `${where}.new_${slot}`),
    };
  } else if (kind === 'insert' || kind === 'delete') {
    const parsed = rowJsonSchema.safeParse(parseJson(row.row_json, `${where}.row_json`));
    if (!parsed.success)
      throw new ValidationError(`${where}.row_json`, 'a JSON object of column values', row.row_json);
    const values = Object.fromEntries(
      Object.entries(parsed.data).map(([k, v]) => [
        k,
        columnValueFromJson(v as ColumnValueJson, `${where}.row_json.${k}`),
      ]),
    );
    change = { kind, table, key, row: values };
  } else {
    throw new ValidationError(`${where}.kind`, 'update, insert or delete', row.kind);
  }
  let extra: ExtraColumns | null = null;
  if (row.extra_json !== null && row.extra_json !== undefined) {
    const parsed = extraSchema.safeParse(parseJson(row.extra_json, `${where}.extra_json`));
    if (!parsed.success)
      throw new ValidationError(`${where}.extra_json`, 'a JSON object of typed values', row.extra_json);
    extra = {};
    for (const [name, { type, value }] of Object.entries(parsed.data)) {
      const column = parseDeclaration(name, type, `${where}.extra_json.${name}.type`);
      extra[name] = { column, value: extraValue(column, value, `${where}.extra_json.${name}`) };
    }
  }
  return { runId, seq, change: validateChange(change, where), extra };
}

/**
 * A driver value of a column, by its declared type, as an in-memory value (bigint arrives as a
 * string; bytes become a plain Uint8Array view). INVALID for a type or value it does not handle.
 */
export function decodeDeclared(column: DeclaredColumn, v: unknown): ColumnValue | typeof INVALID {
  if (v === null || v === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'smallint':
    case 'tinyint':
    case 'bigint': {
      const n = typeof v === 'string' ? Number(v) : v;
      return typeof n === 'number' && Number.isSafeInteger(n) ? n : INVALID;
    }
    case 'bit':
      return typeof v === 'boolean' ? v : INVALID;
    case 'decimal':
    case 'float':
    case 'real':
      return typeof v === 'number' && Number.isFinite(v) ? v : INVALID;
    case 'datetime':
      return v instanceof Date && !Number.isNaN(v.getTime()) ? v : INVALID;
    case 'varchar':
    case 'char':
    case 'nvarchar':
    case 'nchar':
      return typeof v === 'string' ? v : INVALID;
    case 'binary':
    case 'varbinary':
    case 'timestamp':
      return v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : INVALID;
    default:
      return INVALID;
  }
}

/** Column types a writer can read, keep in a ledger and write back. */
export function isSupported(column: DeclaredColumn): boolean {
  return [
    'int',
    'smallint',
    'tinyint',
    'bigint',
    'bit',
    'decimal',
    'float',
    'real',
    'datetime',
    'varchar',
    'char',
    'nvarchar',
    'nchar',
    'binary',
    'varbinary',
    'timestamp',
  ].includes(column.type);
}
