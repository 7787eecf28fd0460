import type { ColumnValue } from '@anomalia/mosaiq';
import { type DeclaredColumn, declaration } from './column-types';

/**
 * T-SQL text with typed parameters, built by this package and sent by `sp_executesql` (the driver
 * never interpolates values). Kept independent of the driver so the text and its parameter
 * declarations can be parsed and snapshotted in tests.
 */
export interface ParamType {
  type: DeclaredColumn['type'];
  length?: number;
  precision?: number;
  scale?: number;
}

export interface SqlParam {
  name: string;
  type: ParamType;
  value: ColumnValue | bigint;
}

export interface Statement {
  sql: string;
  params: SqlParam[];
}

/** SQL Server's limit is 2100 parameters per request; a margin stays for the few fixed ones. */
export const MAX_PARAMS = 2000;

/** `[name]`, with `]` doubled: every identifier is quoted (`Index` is a reserved word). */
export function quoteName(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/** `[schema].[table]`. */
export function qualified(schema: string, table: string): string {
  return `${quoteName(schema)}.${quoteName(table)}`;
}

export const INT: ParamType = { type: 'int' };
export const DATETIME: ParamType = { type: 'datetime' };
export const ROWVERSION: ParamType = { type: 'binary', length: 8 };

/** The parameter type that writes a value into a column exactly (binary columns take varbinary). */
export function paramTypeFor(column: DeclaredColumn): ParamType {
  switch (column.type) {
    case 'binary':
    case 'varbinary':
      return { type: 'varbinary', length: column.length };
    case 'decimal':
      return { type: 'decimal', precision: column.precision ?? 18, scale: column.scale ?? 0 };
    case 'varchar':
    case 'char':
    case 'nvarchar':
    case 'nchar':
      return { type: column.type, length: column.length };
    default:
      return { type: column.type };
  }
}

/** Collects the parameters of one request: `@p0`, `@p1`, ... */
export class Params {
  readonly list: SqlParam[] = [];

  get size(): number {
    return this.list.length;
  }

  add(type: ParamType, value: ColumnValue | bigint): string {
    const name = `p${this.list.length}`;
    this.list.push({ name, type, value });
    return `@${name}`;
  }
}

/**
 * IN-list sizes: a list is padded (by repeating its last id) up to the next of these, so SQL
 * Server caches one plan per size class instead of one per batch size.
 */
const BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];
export const MAX_IN_LIST = BUCKETS[BUCKETS.length - 1]!;

/** Splits ids into lists of at most MAX_IN_LIST. */
export function chunk<T>(items: readonly T[], size = MAX_IN_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `(@p3, @p4, ...)` for one chunk of integer ids, padded to its size class. */
export function inList(params: Params, ids: readonly number[]): string {
  if (ids.length === 0 || ids.length > MAX_IN_LIST) {
    throw new RangeError(`an IN list holds 1..${MAX_IN_LIST} ids, not ${ids.length}`);
  }
  const size = BUCKETS.find((b) => b >= ids.length)!;
  const names: string[] = [];
  for (let i = 0; i < size; i++) names.push(params.add(INT, ids[Math.min(i, ids.length - 1)]!));
  return `(${names.join(', ')})`;
}

/** The `@params` declaration `sp_executesql` receives, e.g. `@p0 int, @p1 decimal(10,4)`. */
export function declareParams(params: readonly SqlParam[]): string {
  return params.map((p) => `@${p.name} ${declaration(p.type)}`).join(', ');
}

/** A readable rendering for logs and snapshots: the text, then each parameter's type (values left out). */
export function describeStatement(s: Statement): string {
  return s.params.length === 0 ? s.sql : `${s.sql}\n-- ${declareParams(s.params)}`;
}
