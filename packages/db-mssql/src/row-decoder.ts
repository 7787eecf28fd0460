import { ValidationError } from '@anomalia/core';
import { MOSAIQ_TABLES, type Row, type SqlType, type TableName } from '@anomalia/mosaiq';
import { CELL_DECODERS, EXPECTED, INVALID } from './column-types';

/**
 * Turns the driver's rows (arrays, columns in the order selected) into typed Mosaiq rows. Every
 * value is checked with one or two comparisons (a zod parse per cell would cost more than the
 * query), and a bad one is a ValidationError naming table, key and column:
 * `TxField[FLD_ID=50017].Type_Enum: expected an SQL tinyint (an integer in [0, 255]), received 300`.
 */
export class RowDecoder<T extends TableName = TableName> {
  readonly columns: readonly string[];
  readonly decode: (raw: readonly unknown[]) => Row<T>;
  private readonly pkIndex: number;
  private readonly types: readonly SqlType[];

  constructor(
    readonly table: T,
    columns?: readonly string[],
  ) {
    const spec = MOSAIQ_TABLES[table];
    const all = spec.columns as Record<string, SqlType>;
    this.columns = columns ?? Object.keys(all);
    this.types = this.columns.map((c) => all[c]!);
    this.pkIndex = this.columns.indexOf(spec.primaryKey);
    this.decode = compile<Row<T>>(
      this.columns,
      this.types.map((t) => CELL_DECODERS[t]),
      this.pkIndex,
      (raw, i, value) => this.fail(raw, i, value),
    );
  }

  decodeAll(raws: readonly unknown[][]): Row<T>[] {
    const out = new Array<Row<T>>(raws.length);
    for (let i = 0; i < raws.length; i++) out[i] = this.decode(raws[i]!);
    return out;
  }

  private fail(raw: readonly unknown[], i: number, value: unknown): never {
    const key = this.pkIndex >= 0 ? raw[this.pkIndex] : '?';
    const expected = i === this.pkIndex ? 'a primary-key value (never NULL)' : EXPECTED[this.types[i]!];
    const shown = value instanceof Uint8Array ? `${value.length} bytes` : value;
    throw new ValidationError(
      `${this.table}[${MOSAIQ_TABLES[this.table].primaryKey}=${String(key)}].${this.columns[i]}`,
      expected,
      shown,
    );
  }
}

/**
 * Builds `raw => ({ Col: check0(raw[0]), ... })` for fixed column names: an object literal gets
 * one hidden class with in-object fields, where properties assigned in a loop would make every
 * row a slow dictionary-mode object. Names come from MOSAIQ_TABLES (never from input), JSON-quoted.
 */
function compile<R>(
  columns: readonly string[],
  decoders: readonly ((v: unknown) => unknown)[],
  pkIndex: number,
  fail: (raw: readonly unknown[], i: number, value: unknown) => never,
): (raw: readonly unknown[]) => R {
  const lines = columns.map((_, i) => {
    const ifNull = i === pkIndex ? `fail(raw, ${i}, null)` : 'null';
    return `const v${i} = raw[${i}] == null ? ${ifNull} : d[${i}](raw[${i}]);\nif (v${i} === INVALID) fail(raw, ${i}, raw[${i}]);`;
  });
  const literal = columns.map((c, i) => `${JSON.stringify(c)}: v${i}`).join(', ');
  const source = `return function decodeRow(raw) {\n${lines.join('\n')}\nreturn { ${literal} };\n};`;
  return new Function('d', 'INVALID', 'fail', source)(decoders, INVALID, fail);
}

const decoders = new Map<TableName, RowDecoder>();

/** The shared decoder of a table's full row (columns in MOSAIQ_TABLES order). */
export function rowDecoder<T extends TableName>(table: T): RowDecoder<T> {
  let d = decoders.get(table);
  if (!d) {
    d = new RowDecoder(table);
    decoders.set(table, d);
  }
  return d as RowDecoder<T>;
}
