import { ValidationError } from '@anomalia/core';
import type { ColumnValue, SqlType } from '@anomalia/mosaiq';

/**
 * How each SQL Server type of Mosaiq is stored in SQLite (tables are STRICT, so SQLite itself
 * rejects a value of the wrong storage class), and the codecs between SQLite values and the
 * in-memory values of `@anomalia/mosaiq`. Every mapping round-trips exactly:
 * - integers (int, smallint, tinyint, bigint) → INTEGER, range-checked both ways;
 * - bit → INTEGER 0/1 (boolean in memory);
 * - decimal, float → REAL: the IEEE double JavaScript holds is stored bit for bit (a SQL Server
 *   decimal(p,s) is already a double once read by any JavaScript driver);
 * - datetime → INTEGER milliseconds since the epoch of the UTC wall-clock reading (Mosaiq
 *   datetimes are naive local times, read as UTC by `parseMosaiqDateTime`), exact to the ms;
 * - varchar, char → TEXT (char keeps its padding);
 * - binary, timestamp → BLOB, byte for byte.
 */
export type SqliteStorage = 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB';

export const SQLITE_STORAGE: Record<SqlType, SqliteStorage> = {
  int: 'INTEGER',
  smallint: 'INTEGER',
  tinyint: 'INTEGER',
  bigint: 'INTEGER',
  bit: 'INTEGER',
  decimal: 'REAL',
  float: 'REAL',
  datetime: 'INTEGER',
  varchar: 'TEXT',
  char: 'TEXT',
  binary: 'BLOB',
  timestamp: 'BLOB',
};

/** What a value bound to a better-sqlite3 statement may be. */
export type SqliteValue = number | bigint | string | Uint8Array | null;

/** Returned by a codec for a value it does not accept (cheaper than throwing in the hot loop). */
export const INVALID: unique symbol = Symbol('invalid');
type Invalid = typeof INVALID;

export interface TypeCodec {
  /** SQLite value (never null) → in-memory value, or INVALID. */
  decode(value: unknown): ColumnValue | Invalid;
  /** In-memory value (never null) → SQLite value, or INVALID. */
  encode(value: unknown): SqliteValue | Invalid;
  /** In words, for errors. */
  expected: string;
}

// ±8.64e15 ms is the range of a JavaScript Date.
const MAX_DATE_MS = 8.64e15;

function integerCodec(type: SqlType, min: number, max: number): TypeCodec {
  const ok = (v: unknown): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  return {
    decode: (v) => (ok(v) ? v : INVALID),
    encode: (v) => (ok(v) ? v : INVALID),
    expected: `an SQL ${type} (an INTEGER in [${min}, ${max}])`,
  };
}

const realCodec = (type: SqlType): TypeCodec => {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return {
    decode: (v) => (ok(v) ? v : INVALID),
    encode: (v) => (ok(v) ? v : INVALID),
    expected: `an SQL ${type} (a finite REAL)`,
  };
};

const textCodec = (type: SqlType): TypeCodec => ({
  decode: (v) => (typeof v === 'string' ? v : INVALID),
  encode: (v) => (typeof v === 'string' ? v : INVALID),
  expected: `an SQL ${type} (TEXT)`,
});

const blobCodec = (type: SqlType): TypeCodec => ({
  // better-sqlite3 returns a Buffer with its own memory; hand out a plain Uint8Array view of it
  // (no copy), so `slice` copies as it does on any Uint8Array.
  decode: (v) =>
    v instanceof Uint8Array
      ? v.constructor === Uint8Array
        ? v
        : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      : INVALID,
  encode: (v) => (v instanceof Uint8Array ? v : INVALID),
  expected: `an SQL ${type} (a BLOB)`,
});

export const TYPE_CODECS: Record<SqlType, TypeCodec> = {
  int: integerCodec('int', -2147483648, 2147483647),
  smallint: integerCodec('smallint', -32768, 32767),
  tinyint: integerCodec('tinyint', 0, 255),
  bigint: integerCodec('bigint', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  bit: {
    decode: (v) => (v === 1 ? true : v === 0 ? false : INVALID),
    encode: (v) => (v === true ? 1 : v === false ? 0 : INVALID),
    expected: 'an SQL bit (INTEGER 0 or 1; true/false in memory)',
  },
  decimal: realCodec('decimal'),
  float: realCodec('float'),
  datetime: {
    decode: (v) =>
      typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= MAX_DATE_MS ? new Date(v) : INVALID,
    encode: (v) => {
      if (!(v instanceof Date)) return INVALID;
      const t = v.getTime();
      return Number.isNaN(t) ? INVALID : t;
    },
    expected: 'an SQL datetime (INTEGER epoch milliseconds; a valid Date in memory)',
  },
  varchar: textCodec('varchar'),
  char: textCodec('char'),
  binary: blobCodec('binary'),
  timestamp: blobCodec('timestamp'),
};

/** Decodes one stored value of a column, or throws a ValidationError naming where it is. */
export function decodeValue(type: SqlType, value: unknown, where: string): ColumnValue {
  if (value === null) return null;
  const v = TYPE_CODECS[type].decode(value);
  if (v === INVALID) throw new ValidationError(where, TYPE_CODECS[type].expected, value);
  return v;
}

/** Encodes one in-memory value for a column, or throws a ValidationError naming where it goes. */
export function encodeValue(type: SqlType, value: unknown, where: string): SqliteValue {
  if (value === null) return null;
  const v = TYPE_CODECS[type].encode(value);
  if (v === INVALID) throw new ValidationError(where, TYPE_CODECS[type].expected, value);
  return v;
}
