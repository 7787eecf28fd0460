import { z } from 'zod';

/**
 * The SQL Server column types that occur in the Mosaiq tables we read and write, as reported by
 * INFORMATION_SCHEMA.COLUMNS.DATA_TYPE (no lengths or precisions; see types_map.toml).
 */
export const SQL_TYPES = [
  'int',
  'smallint',
  'tinyint',
  'bigint',
  'bit',
  'decimal',
  'float',
  'datetime',
  'varchar',
  'char',
  'binary',
  'timestamp',
] as const;
export type SqlType = (typeof SQL_TYPES)[number];

/**
 * One cell value as Anomalia holds it, whatever the driver returned: integers and decimals are
 * numbers, `bit` is boolean, `datetime` is a Date, `binary`/`timestamp` are bytes.
 */
export type ColumnValue = number | string | boolean | Date | Uint8Array | null;

const NUMERIC_STRING = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const INTEGER_STRING = /^\s*[-+]?\d+\s*$/;

function integerColumn(type: string, min: number, max: number) {
  return z
    .union([z.number(), z.bigint(), z.string().regex(INTEGER_STRING)], {
      error: `an SQL ${type} (an integer in [${min}, ${max}])`,
    })
    .transform((v) => Number(v))
    .pipe(
      z
        .number()
        .int({ error: `an SQL ${type} (an integer)` })
        .min(min, { error: `an SQL ${type} ≥ ${min}` })
        .max(max, { error: `an SQL ${type} ≤ ${max}` }),
    );
}

const numberColumn = (type: string) =>
  z
    .union([z.number(), z.string().regex(NUMERIC_STRING)], { error: `an SQL ${type} (a finite number)` })
    .transform((v) => Number(v))
    .pipe(z.number().refine(Number.isFinite, { error: `an SQL ${type} (a finite number)` }));

const bitColumn = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'True', 'False', 'true', 'false'])], {
    error: 'an SQL bit (true/false or 0/1)',
  })
  .transform((v) => v === true || v === 1 || v === '1' || v === 'True' || v === 'true');

/**
 * Mosaiq stores naive local wall-clock datetimes. We read them as UTC wall-clock (no zone
 * conversion), so `2020-04-27 07:55:23` becomes `2020-04-27T07:55:23Z`: differences between
 * timestamps are right and nothing depends on the host's time zone.
 */
export function parseMosaiqDateTime(value: string): Date | null {
  const s = value.trim();
  if (s === '') return null;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    s,
  );
  if (!m) return null;
  // Date.parse rolls impossible dates over (2020-02-30 → 2020-03-01) and accepts 24:00: refuse both.
  const [year, month, day] = m[1]!.split('-').map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate())
    return null;
  if (m[2] && Number(m[2].slice(0, 2)) > 23) return null;
  const time = m[2] ?? '00:00:00';
  // Date.parse understands at most milliseconds.
  const trimmed = time.replace(/(\.\d{3})\d+$/, '$1');
  const t = Date.parse(`${m[1]}T${trimmed}${m[3] ?? 'Z'}`);
  return Number.isNaN(t) ? null : new Date(t);
}

const dateTimeColumn = z
  .union([z.date(), z.string(), z.number()], { error: 'an SQL datetime (a Date, an ISO string or epoch ms)' })
  .transform((v, ctx) => {
    const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : parseMosaiqDateTime(v);
    if (d === null || Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'an SQL datetime (a valid date)', input: v });
      return z.NEVER;
    }
    return d;
  });

const binaryColumn = (type: string) =>
  z
    .union([z.instanceof(Uint8Array), z.instanceof(ArrayBuffer)], { error: `an SQL ${type} (bytes)` })
    .transform((v): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(v)));

const stringColumn = (type: string) => z.string({ error: `an SQL ${type} (a string)` });

/** Zod codecs from what a driver or a CSV may return to the values Anomalia holds. */
export const sqlColumn = {
  int: integerColumn('int', -2147483648, 2147483647),
  smallint: integerColumn('smallint', -32768, 32767),
  tinyint: integerColumn('tinyint', 0, 255),
  bigint: integerColumn('bigint', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  bit: bitColumn,
  decimal: numberColumn('decimal'),
  float: numberColumn('float'),
  datetime: dateTimeColumn,
  varchar: stringColumn('varchar'),
  char: stringColumn('char'),
  binary: binaryColumn('binary'),
  timestamp: binaryColumn('timestamp'),
} as const satisfies Record<SqlType, z.ZodType>;

/** The JavaScript type a column of the given SQL type holds (before NULL). */
export type SqlValue<T> = T extends SqlType ? z.output<(typeof sqlColumn)[T]> : never;

/** True when `value` is a valid in-memory value for a column of `type` (null allowed when `nullable`). */
export function isColumnValue(type: SqlType, value: unknown, nullable = true): boolean {
  if (value === null) return nullable;
  switch (type) {
    case 'int':
      return Number.isInteger(value) && (value as number) >= -2147483648 && (value as number) <= 2147483647;
    case 'smallint':
      return Number.isInteger(value) && (value as number) >= -32768 && (value as number) <= 32767;
    case 'tinyint':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255;
    case 'bigint':
      return Number.isSafeInteger(value);
    case 'bit':
      return typeof value === 'boolean';
    case 'decimal':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'datetime':
      return value instanceof Date && !Number.isNaN(value.getTime());
    case 'varchar':
    case 'char':
      return typeof value === 'string';
    case 'binary':
    case 'timestamp':
      return value instanceof Uint8Array;
  }
}
