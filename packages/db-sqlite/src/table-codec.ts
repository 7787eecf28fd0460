import { ValidationError } from '@anomalia/core';
import { MOSAIQ_TABLES, type Row, type SqlType, type TableName } from '@anomalia/mosaiq';
import { INVALID, type SqliteValue, TYPE_CODECS, type TypeCodec } from './sqlite-types';

/** Quotes an SQL identifier (`Index` is a reserved word, so every name is quoted). */
export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Reads and writes the rows of one Mosaiq table as positional arrays (better-sqlite3's raw mode,
 * no per-row objects from the driver). Decoding checks every value's type and range with one
 * comparison or two per cell, so a bad row is a ValidationError naming table, key and column,
 * at a cost far below a zod parse.
 */
export class TableCodec<T extends TableName = TableName> {
  readonly primaryKey: string;
  readonly columns: readonly string[];
  readonly types: readonly SqlType[];
  readonly pkIndex: number;
  /** `"A", "B", ...` in column order. */
  readonly selectList: string;
  private readonly codecs: readonly TypeCodec[];

  /** `columns`: a subset of the table's columns (with the primary key) to read; default all. */
  constructor(
    readonly table: T,
    columns?: readonly string[],
  ) {
    const spec = MOSAIQ_TABLES[table];
    const all = spec.columns as Record<string, SqlType>;
    this.primaryKey = spec.primaryKey;
    this.columns = columns ?? Object.keys(all);
    this.types = this.columns.map((c) => {
      const type = all[c];
      if (!type) throw new ValidationError('columns', `columns of ${table}`, c);
      return type;
    });
    if (!this.columns.includes(this.primaryKey)) {
      throw new ValidationError('columns', `a column list including ${this.primaryKey}`, columns);
    }
    this.codecs = this.types.map((t) => TYPE_CODECS[t]);
    this.pkIndex = this.columns.indexOf(this.primaryKey);
    this.selectList = this.columns.map(quote).join(', ');
    this.decode = compileDecoder<Row<T>>(
      this.columns,
      this.types.map((t, i) =>
        t === 'datetime' ? (v: unknown) => this.decodeDate(v) : this.codecs[i]!.decode,
      ),
      this.pkIndex,
      (raw, i, value) => this.fail(raw, i, value),
    );
  }

  /** Where a cell is, for errors: `TxFieldPoint[TFP_ID=2000001].A_Leaf_Set`. */
  where(key: unknown, column: string): string {
    return `${this.table}[${this.primaryKey}=${String(key)}].${column}`;
  }

  /** A raw row (values in column order) → a typed row. */
  readonly decode: (raw: readonly unknown[]) => Row<T>;

  /**
   * Decodes a batch. Equal datetimes within the batch share one Date (control points of a field
   * mostly carry the same Create/Edit times, and building a Date costs more than the rest of a
   * row): records are immutable, as everywhere in @anomalia/mosaiq.
   */
  decodeAll(raws: readonly unknown[][]): Row<T>[] {
    const out = new Array<Row<T>>(raws.length);
    if (SHARED_DATES.has(this.table)) this.dates = new Map();
    try {
      for (let i = 0; i < raws.length; i++) out[i] = this.decode(raws[i]!);
    } finally {
      this.dates = null;
    }
    return out;
  }

  private dates: Map<number, Date> | null = null;

  private decodeDate(v: unknown): Date | typeof INVALID {
    const cache = this.dates;
    if (cache === null || typeof v !== 'number')
      return TYPE_CODECS.datetime.decode(v) as Date | typeof INVALID;
    let d = cache.get(v);
    if (d === undefined) {
      const decoded = TYPE_CODECS.datetime.decode(v);
      if (decoded === INVALID) return INVALID;
      d = decoded as Date;
      cache.set(v, d);
    }
    return d;
  }

  /** A typed row → values in column order; absent columns are NULL. */
  encode(row: Readonly<Record<string, unknown>>): SqliteValue[] {
    const n = this.columns.length;
    const out = new Array<SqliteValue>(n);
    for (let i = 0; i < n; i++) {
      const v = row[this.columns[i]!];
      if (v === null || v === undefined) {
        if (i === this.pkIndex) {
          throw new ValidationError(this.where(v, this.primaryKey), 'a primary-key value (never NULL)', v);
        }
        out[i] = null;
        continue;
      }
      const e = this.codecs[i]!.encode(v);
      if (e === INVALID) {
        throw new ValidationError(
          this.where(row[this.primaryKey], this.columns[i]!),
          this.codecs[i]!.expected,
          v,
        );
      }
      out[i] = e;
    }
    return out;
  }

  private fail(raw: readonly unknown[], i: number, value: unknown): never {
    const expected = i === this.pkIndex ? 'a primary-key value (never NULL)' : this.codecs[i]!.expected;
    throw new ValidationError(this.where(raw[this.pkIndex], this.columns[i]!), expected, value);
  }
}

/**
 * Tables whose datetimes repeat within a batch (creation and edit times of plans and control
 * points). Event times (TrackTreatment, Dose_Hst, Offset) are nearly all distinct: a cache would
 * only cost there.
 */
const SHARED_DATES = new Set<TableName>(['TxField', 'TxFieldPoint', 'Site', 'Patient', 'Ident', 'Staff']);

/**
 * Builds `raw => ({ Col: check0(raw[0]), ... })` for fixed column names. An object literal gets
 * one hidden class with in-object fields; assigning 20 properties by name in a loop instead
 * turns every row into a slow dictionary-mode object (10× slower to build and to read in the
 * feature extraction). The names come from MOSAIQ_TABLES (never from input) and are JSON-quoted.
 */
function compileDecoder<R>(
  columns: readonly string[],
  decoders: readonly TypeCodec['decode'][],
  pkIndex: number,
  fail: (raw: readonly unknown[], i: number, value: unknown) => never,
): (raw: readonly unknown[]) => R {
  const lines = columns.map((_, i) => {
    const ifNull = i === pkIndex ? `fail(raw, ${i}, null)` : 'null';
    return `const v${i} = raw[${i}] === null ? ${ifNull} : d[${i}](raw[${i}]);\nif (v${i} === INVALID) fail(raw, ${i}, raw[${i}]);`;
  });
  const literal = columns.map((c, i) => `${JSON.stringify(c)}: v${i}`).join(', ');
  const source = `return function decodeRow(raw) {\n${lines.join('\n')}\nreturn { ${literal} };\n};`;
  return new Function('d', 'INVALID', 'fail', source)(decoders, INVALID, fail);
}

const codecs = new Map<TableName, TableCodec>();

/** The (shared) codec of a table. */
export function tableCodec<T extends TableName>(table: T): TableCodec<T> {
  let c = codecs.get(table);
  if (!c) {
    c = new TableCodec(table);
    codecs.set(table, c);
  }
  return c as TableCodec<T>;
}
