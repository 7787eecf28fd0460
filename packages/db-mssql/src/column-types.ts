import { ValidationError } from '@anomalia/core';
import type { ColumnValue, SqlType, TableName } from '@anomalia/mosaiq';

/**
 * SQL Server column types as Anomalia sees them: the declared type of each column (from a
 * database's result metadata, or from the tables this package creates), how a driver value of
 * that column becomes an in-memory value of `@anomalia/mosaiq`, and what SQL Server stores when
 * one is written (a datetime on the 1/300 s grid, a decimal at its scale, a char padded).
 */
export type DeclaredTypeName =
  | 'int'
  | 'smallint'
  | 'tinyint'
  | 'bigint'
  | 'bit'
  | 'decimal'
  | 'float'
  | 'real'
  | 'datetime'
  | 'varchar'
  | 'char'
  | 'nvarchar'
  | 'nchar'
  | 'binary'
  | 'varbinary'
  | 'timestamp';

/** One column as declared in SQL Server. `length` is in characters or bytes; -1 is `max`. */
export interface DeclaredColumn {
  name: string;
  type: DeclaredTypeName;
  length?: number;
  precision?: number;
  scale?: number;
  /** An IDENTITY column (inserting an explicit value needs IDENTITY_INSERT). */
  identity?: boolean;
  /** Not writable (rowversion, computed). */
  readOnly?: boolean;
}

/** `decimal(10,4)`, `varchar(64)`, `binary(200)`, `varbinary(max)`. */
export function declaration(c: Pick<DeclaredColumn, 'type' | 'length' | 'precision' | 'scale'>): string {
  switch (c.type) {
    case 'decimal':
      return `decimal(${c.precision ?? 18},${c.scale ?? 0})`;
    case 'varchar':
    case 'char':
    case 'nvarchar':
    case 'nchar':
    case 'binary':
    case 'varbinary':
      return `${c.type}(${c.length === undefined || c.length < 0 ? 'max' : c.length})`;
    default:
      return c.type;
  }
}

/** The SQL Server types a column of each Anomalia type may be declared with. */
export const COMPATIBLE: Record<SqlType, readonly DeclaredTypeName[]> = {
  int: ['int'],
  smallint: ['smallint'],
  tinyint: ['tinyint'],
  bigint: ['bigint'],
  bit: ['bit'],
  decimal: ['decimal'],
  float: ['float', 'real'],
  datetime: ['datetime'],
  varchar: ['varchar', 'nvarchar'],
  char: ['char', 'nchar'],
  binary: ['binary', 'varbinary'],
  timestamp: ['timestamp'],
};

const col = (type: DeclaredTypeName, more: Partial<DeclaredColumn> = {}) => ({ type, ...more });
const dec = (precision: number, scale: number) => col('decimal', { precision, scale });
const vc = (length: number) => col('varchar', { length });

/**
 * The tables `createSandbox` creates (an empty database made into a Mosaiq-shaped sandbox): the
 * types of types_map.toml with lengths, precisions and scales wide enough for the synthetic
 * clinic (at most 3 decimals, 200-byte leaf sets, 20-character machine names). A real Mosaiq is
 * read with whatever it declares; these matter only for databases Anomalia creates.
 */
export const SANDBOX_COLUMNS: { [T in TableName]: Record<string, Omit<DeclaredColumn, 'name'>> } = {
  TrackTreatment: {
    TTX_ID: col('int'),
    Create_DtTm: col('datetime'),
    Create_ID: col('int'),
    Edit_DtTm: col('datetime'),
    Edit_ID: col('int'),
    Pat_ID1: col('int'),
    FLD_ID: col('int'),
    SIT_ID: col('int'),
    Machine_ID_Staff_ID: col('int'),
    Staff_ID: col('int'),
    WasQAMode: col('bit'),
    WasBeamEnabled: col('bit'),
    WasBeamOn: col('bit'),
    WasBeamComplete: col('bit'),
    WasCanceled: col('bit'),
    WasRecorded: col('bit'),
    DHS_ID: col('int'),
    WasResolved: col('bit'),
    Resolved_DtTm: col('datetime'),
  },
  TxField: {
    FLD_ID: col('int'),
    FLD_SET_ID: col('int'),
    Version: col('smallint'),
    Pat_ID1: col('int'),
    Create_DtTm: col('datetime'),
    Create_ID: col('int'),
    Edit_DtTm: col('datetime'),
    Edit_ID: col('int'),
    SIT_Set_ID: col('int'),
    Field_Label: vc(16),
    Field_Name: vc(64),
    Machine_ID_Staff_ID: col('int'),
    Type_Enum: col('tinyint'),
    Modality_Enum: col('tinyint'),
    ControlPoints: col('smallint'),
    Meterset: dec(12, 4),
  },
  TxFieldPoint: {
    TFP_ID: col('int'),
    FLD_ID: col('int'),
    Create_DtTm: col('datetime'),
    Edit_DtTm: col('datetime'),
    Point: col('smallint'),
    Index: dec(10, 4),
    MLC_Leaves: col('smallint'),
    A_Leaf_Set: col('binary', { length: 200 }),
    B_Leaf_Set: col('binary', { length: 200 }),
    Gantry_Ang: dec(8, 3),
    Coll_Ang: dec(8, 3),
    Field_X: dec(8, 3),
    Coll_X1: dec(8, 3),
    Coll_X2: dec(8, 3),
    Field_Y: dec(8, 3),
    Coll_Y1: dec(8, 3),
    Coll_Y2: dec(8, 3),
    MLC_Type: col('smallint'),
    Energy: col('smallint'),
    Gantry_Dir_Enum: col('tinyint'),
  },
  Site: {
    SIT_ID: col('int'),
    SIT_SET_ID: col('int'),
    Version: col('smallint'),
    Pat_ID1: col('int'),
    Create_DtTm: col('datetime'),
    Edit_DtTm: col('datetime'),
    Site_Name: vc(64),
    Technique: vc(32),
    Modality: vc(32),
    Energy: col('smallint'),
    Dose_Tx: dec(12, 4),
    Dose_Ttl: dec(12, 4),
    Fractions: col('smallint'),
    Frac_Pattern: vc(64),
  },
  Patient: {
    Pat_ID1: col('int'),
    Create_DtTm: col('datetime'),
    Edit_DtTm: col('datetime'),
    Birth_DtTm: col('datetime'),
    Last_Name: vc(64),
    First_Name: vc(64),
  },
  Ident: {
    IDENT_ID: col('int'),
    Version: col('smallint'),
    Create_DtTm: col('datetime'),
    Pat_Id1: col('int'),
    IDA: vc(32),
  },
  Staff: {
    Staff_ID: col('int'),
    Type: vc(32),
    Category: col('int'),
    Last_Name: col('char', { length: 20 }),
    First_Name: vc(64),
    Machine_Type: col('tinyint'),
    Status_inactive: col('bit'),
  },
  Dose_Hst: {
    DHS_ID: col('int'),
    Pat_ID1: col('int'),
    SIT_ID: col('int'),
    FLD_ID: col('int'),
    Tx_DtTm: col('datetime'),
  },
  Offset: {
    OFF_ID: col('int'),
    SIT_SET_ID: col('int'),
    Version: col('int'),
    Study_DtTm: col('datetime'),
    Offset_State: col('int'),
    Offset_Type: col('int'),
    Superior_Offset: dec(8, 3),
    Anterior_Offset: dec(8, 3),
    Lateral_Offset: dec(8, 3),
  },
};

/** Tables with a `RowVers rowversion` column in Mosaiq (types_map.toml), and so in sandboxes created here. */
export const ROW_VERSIONED_TABLES: readonly TableName[] = [
  'TrackTreatment',
  'TxField',
  'TxFieldPoint',
  'Patient',
  'Ident',
];
export const ROW_VERSION_COLUMN = 'RowVers';

// ---------- reading ----------

/** Returned by a decoder for a value it does not accept (cheaper than throwing in the hot loop). */
export const INVALID: unique symbol = Symbol('invalid');

export type CellDecoder = (value: unknown) => ColumnValue | typeof INVALID;

function integer(min: number, max: number): CellDecoder {
  return (v) => {
    const n = typeof v === 'string' ? Number(v) : v; // tedious returns bigint as a string
    return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : INVALID;
  };
}

const finite: CellDecoder = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : INVALID);
const text: CellDecoder = (v) => (typeof v === 'string' ? v : INVALID);
// A plain Uint8Array view of the driver's Buffer (no copy), as every adapter hands out bytes.
const bytes: CellDecoder = (v) =>
  v instanceof Uint8Array
    ? v.constructor === Uint8Array
      ? v
      : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    : INVALID;

/** How a non-NULL driver value of a column of each Anomalia type is checked and converted. */
export const CELL_DECODERS: Record<SqlType, CellDecoder> = {
  int: integer(-2147483648, 2147483647),
  smallint: integer(-32768, 32767),
  tinyint: integer(0, 255),
  bigint: integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  bit: (v) => (typeof v === 'boolean' ? v : INVALID),
  decimal: finite,
  float: finite,
  datetime: (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v : INVALID),
  varchar: text,
  char: text,
  binary: bytes,
  timestamp: bytes,
};

export const EXPECTED: Record<SqlType, string> = {
  int: 'an SQL int (an integer in [-2147483648, 2147483647])',
  smallint: 'an SQL smallint (an integer in [-32768, 32767])',
  tinyint: 'an SQL tinyint (an integer in [0, 255])',
  bigint: 'an SQL bigint within ±2^53',
  bit: 'an SQL bit (true/false)',
  decimal: 'an SQL decimal (a finite number)',
  float: 'an SQL float (a finite number)',
  datetime: 'an SQL datetime (a valid date)',
  varchar: 'an SQL varchar (a string)',
  char: 'an SQL char (a string)',
  binary: 'an SQL binary (bytes)',
  timestamp: 'an SQL rowversion (bytes)',
};

// ---------- writing: what SQL Server stores ----------

/** Milliseconds per SQL Server datetime tick (1/300 s). */
const MS_PER_TICK = 10 / 3;
const DAY_MS = 86_400_000;
const DATETIME_MIN = Date.UTC(1753, 0, 1);
const DATETIME_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 997);

/**
 * The instant a `datetime` column holds for a Date: its time of day rounded to the nearest 1/300 s
 * (as the driver sends it), read back to whole milliseconds (as the driver reads it).
 */
export function toDatetimeGrid(d: Date): Date {
  const t = d.getTime();
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  const ticks = Math.round((t - day) / MS_PER_TICK);
  return new Date(day + Math.round(ticks * MS_PER_TICK));
}

/** The double a `decimal(p, s)` column gives back for `v` (as the driver writes and reads it). */
export function toDecimalScale(v: number, scale: number): number {
  const m = Math.round(Math.abs(v * 10 ** scale));
  const r = m / 10 ** scale;
  return v < 0 && m !== 0 ? -r : r;
}

const INTEGER_RANGE: Partial<Record<DeclaredTypeName, [number, number]>> = {
  int: [-2147483648, 2147483647],
  smallint: [-32768, 32767],
  tinyint: [0, 255],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

// Characters every single-byte Western code page (1252, Latin-1) holds the same way.
const SINGLE_BYTE = /^[\x20-\x7e\xa0-\xff\t\r\n]*$/;

/**
 * The value SQL Server stores when `value` is written to `column`, or a ValidationError naming
 * `where` when it cannot be stored as given (out of range, too long, a fixed-length binary of
 * another length, a read-only column). Writers store and record exactly this value, so a ledger
 * line and a restore compare with what the database really holds.
 */
export function storedValue(column: DeclaredColumn, value: ColumnValue, where: string): ColumnValue {
  if (value === null) return null;
  const decl = declaration(column);
  const fail = (expected: string): never => {
    throw new ValidationError(where, `${expected} (the column is ${decl})`, value);
  };
  if (column.readOnly) fail('no value: the column is read-only');
  const range = INTEGER_RANGE[column.type];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      fail(`an integer in [${range[0]}, ${range[1]}]`);
    }
    return value;
  }
  switch (column.type) {
    case 'bit':
      return typeof value === 'boolean' ? value : fail('true or false');
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? value : fail('a finite number');
    case 'real':
      return typeof value === 'number' && Number.isFinite(value)
        ? Math.fround(value)
        : fail('a finite number');
    case 'decimal': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('a finite number');
      const scale = column.scale ?? 0;
      const digits = (column.precision ?? 18) - scale;
      const v = toDecimalScale(value, scale);
      return Math.abs(v) < 10 ** digits ? v : fail(`a number below 10^${digits} in magnitude`);
    }
    case 'datetime': {
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) return fail('a valid date');
      const d = toDatetimeGrid(value);
      return d.getTime() >= DATETIME_MIN && d.getTime() <= DATETIME_MAX
        ? d
        : fail('a date from 1753 to 9999');
    }
    case 'varchar':
    case 'char':
    case 'nvarchar':
    case 'nchar': {
      if (typeof value !== 'string') return fail('a string');
      const max = column.length ?? -1;
      if (max >= 0 && value.length > max) fail(`at most ${max} characters`);
      if ((column.type === 'varchar' || column.type === 'char') && !SINGLE_BYTE.test(value)) {
        fail('characters of the single-byte code page (printable ASCII and Latin-1)');
      }
      // char(n) and nchar(n) are padded with spaces to their length.
      return (column.type === 'char' || column.type === 'nchar') && max > 0 ? value.padEnd(max, ' ') : value;
    }
    case 'binary':
      if (!(value instanceof Uint8Array)) return fail('bytes');
      // A shorter value would be padded with zero bytes and a longer one refused: neither is what was asked.
      if (column.length !== undefined && column.length >= 0 && value.length !== column.length) {
        fail(`exactly ${column.length} bytes`);
      }
      return value;
    case 'varbinary':
      if (!(value instanceof Uint8Array)) return fail('bytes');
      if (column.length !== undefined && column.length >= 0 && value.length > column.length) {
        fail(`at most ${column.length} bytes`);
      }
      return value;
    default:
      return fail('a value of a supported type');
  }
}
