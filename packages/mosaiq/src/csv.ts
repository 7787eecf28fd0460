import { PROTOTYPE_KEYS, ValidationError } from '@anomalia/core';
import { type DuplicatePolicy, type DuplicateReport, DuplicateTally, rowDifferences } from './duplicates';
import type { SqlType } from './sql-types';
import { MOSAIQ_TABLES, type Row, type TableName } from './tables';

/** One CSV record: its raw cells and the line it starts on (1-based; quoted fields may span lines). */
export interface CsvRecord {
  cells: string[];
  line: number;
  /** False only for a last record with no line break after it (a file cut short, or hand-made). */
  terminated: boolean;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * Splits CSV text into records, chunk by chunk (a file can be streamed): RFC 4180 quoted fields,
 * doubled quotes, line breaks inside quotes, LF, CRLF or CR line ends; a UTF-8 byte-order mark
 * at the start is skipped. An unclosed quote, or text between a closing quote and the next
 * separator, is a ValidationError naming the line.
 */
export class CsvTokenizer {
  private buffer = '';
  private line = 1;
  private started = false;

  /** `source` names the text in errors (a file name). */
  constructor(readonly source = 'csv') {}

  /** The records completed by this chunk. */
  push(chunk: string): CsvRecord[] {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.buffer = this.buffer.length ? this.buffer + chunk : chunk;
    return this.scan(false);
  }

  /** The last records; throws when the text ends inside a quoted field. */
  end(): CsvRecord[] {
    return this.scan(true);
  }

  private scan(final: boolean): CsvRecord[] {
    const s = this.buffer;
    const n = s.length;
    const out: CsvRecord[] = [];
    let i = 0;
    let line = this.line;
    records: while (i < n) {
      const start = i;
      const startLine = line;
      const cells: string[] = [];
      for (;;) {
        if (i < n && s.charCodeAt(i) === QUOTE) {
          let value = '';
          let from = i + 1;
          let j = from;
          for (;;) {
            const q = s.indexOf('"', j);
            if (q < 0 || (q + 1 >= n && !final)) {
              if (!final) {
                i = start;
                line = startLine;
                break records;
              }
              throw new ValidationError(
                `${this.source} line ${line}`,
                'a closing quote for the quoted field opened on this line (the text ends inside it)',
              );
            }
            if (s.charCodeAt(q + 1) === QUOTE) {
              value += s.slice(from, q + 1);
              j = from = q + 2;
              continue;
            }
            value += s.slice(from, q);
            i = q + 1;
            break;
          }
          line += countLineBreaks(value);
          cells.push(value);
          const c = i < n ? s.charCodeAt(i) : -1;
          if (c === COMMA) {
            i++;
            continue;
          }
          if (c !== LF && c !== CR && c !== -1) {
            throw new ValidationError(
              `${this.source} line ${line}`,
              'a separator or a line end right after a closing quote',
              s.slice(i, i + 20),
            );
          }
        } else {
          let j = i;
          while (j < n) {
            const c = s.charCodeAt(j);
            if (c === COMMA || c === LF || c === CR) break;
            j++;
          }
          if (j >= n && !final) {
            i = start;
            line = startLine;
            break records;
          }
          cells.push(s.slice(i, j));
          i = j;
          if (i < n && s.charCodeAt(i) === COMMA) {
            i++;
            continue;
          }
        }
        // A line end or the end of the text closes the record.
        if (i >= n) {
          if (!final) {
            i = start;
            line = startLine;
            break records;
          }
          out.push({ cells, line: startLine, terminated: false });
          break records;
        }
        if (s.charCodeAt(i) === CR) {
          if (i + 1 >= n && !final) {
            i = start;
            line = startLine;
            break records;
          }
          i += s.charCodeAt(i + 1) === LF ? 2 : 1;
        } else i++;
        line++;
        out.push({ cells, line: startLine, terminated: true });
        continue records;
      }
    }
    // An incomplete record stays in the buffer and is scanned again with the next chunk.
    this.buffer = i >= n ? '' : s.slice(i);
    this.line = line;
    if (final && this.buffer.length > 0)
      throw new Error(`${this.source}: CSV scan ended with unread text (a bug in CsvTokenizer)`);
    return out;
  }
}

function countLineBreaks(text: string): number {
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) k++;
  }
  return k;
}

/** Splits a whole CSV text into records (see CsvTokenizer). */
export function tokenizeCsv(text: string, source = 'csv'): CsvRecord[] {
  const t = new CsvTokenizer(source);
  return [...t.push(text), ...t.end()];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64_LOOKUP = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  t['+'.charCodeAt(0)] = 62;
  t['-'.charCodeAt(0)] = 62;
  t['/'.charCodeAt(0)] = 63;
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/** Decodes base64 in either alphabet (standard or URL-safe), padded or not. */
export function decodeBase64(text: string, field = 'base64'): Uint8Array {
  let n = text.length;
  while (n > 0 && text.charCodeAt(n - 1) === 61 /* = */) n--;
  if (n % 4 === 1 || text.length - n > 2)
    throw new ValidationError(field, 'base64 text (its length is impossible)', text);
  const out = new Uint8Array((n * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? B64_LOOKUP[code]! : -1;
    if (v < 0)
      throw new ValidationError(field, 'base64 text', `character ${JSON.stringify(text[i])} at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Encodes bytes as URL-safe base64 with padding (the format of pymedphys' Mosaiq CSV extracts). */
export function encodeBase64Url(bytes: Uint8Array): string {
  const alphabet = `${B64}-_`;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! + alphabet[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += `${alphabet[v >> 18]!}${alphabet[(v >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${alphabet[v >> 18]!}${alphabet[(v >> 12) & 63]!}${alphabet[(v >> 6) & 63]!}=`;
  }
  return out;
}

// pandas writes an integer column that holds a NULL as floats (886571.0); a whole float is that integer.
const INTEGRAL = /^\s*([-+]?\d+)(?:\.0*)?\s*$/;
const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const INTEGER_RANGES = {
  int: [-2147483648, 2147483647],
  smallint: [-32768, 32767],
  tinyint: [0, 255],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
} as const;
const BITS: Readonly<Record<string, boolean>> = {
  True: true,
  False: false,
  true: true,
  false: false,
  '1': true,
  '0': false,
  '1.0': true,
  '0.0': false,
};
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/**
 * A naive Mosaiq datetime as UTC wall-clock time (see parseMosaiqDateTime), refusing impossible
 * dates and times instead of rolling them over (2020-02-30 is not 2020-03-01). Null when invalid.
 */
export function parseStrictDateTime(text: string): { date: Date; hasTime: boolean } | null {
  const m = DATETIME.exec(text.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year);
  return { date, hasTime: m[4] !== undefined };
}

interface ColumnPlan {
  name: string;
  /** Position in a line's cells. */
  at: number;
  /** SQL type of a column Anomalia reads; undefined for one passed through as text. */
  type: SqlType | undefined;
  /** The pandas index column (an unnamed first column): skipped. */
  index: boolean;
  /** The last datetime cell read and its value. */
  lastText?: string;
  lastDate?: Date;
}

/** A validated row and the line of the CSV it came from. */
export interface LocatedRow<T extends TableName> {
  line: number;
  row: Row<T>;
}

export interface MosaiqCsvOptions {
  /** Names the text in errors and reports, e.g. the file name `TrackTreatment.csv`. Default `csv`. */
  source?: string;
  /**
   * Keep the columns Anomalia does not read, as text (default true). A loader that stores only
   * MOSAIQ_TABLES' columns passes false and saves their memory.
   */
  passThrough?: boolean;
}

/**
 * Reads one Mosaiq table extract in pymedphys' CSV format (pandas `to_csv`: an unnamed index
 * column first, binary columns as URL-safe base64, NULL as an empty cell, nullable integers as
 * floats, bits as True/False), chunk by chunk. Every row is validated; any error names the
 * source, the line and the column:
 * - header: every column of MOSAIQ_TABLES[table] must be there (matched exactly, or ignoring case
 *   when that is unambiguous, as SQL Server does); a name twice is an error; other columns pass
 *   through as text;
 * - integers: `16268` or `16268.0` is 16268; `16268.5` is an error;
 * - bits: True/False, true/false, 1/0, 1.0/0.0;
 * - datetimes: `YYYY-MM-DD[ HH:MM[:SS[.fffffff]]]`, real calendar dates only; a date without a
 *   time in a column whose other rows have times is an error (pandas writes one format per
 *   column, so the line was cut short);
 * - a line with fewer or more cells than the header, and a last line without a line break, are
 *   errors (a cut file must not load as midnight or NULL);
 * - binary: base64 in either alphabet.
 * Duplicate keys are not handled here (see readMosaiqCsv and the SQLite import).
 */
export class MosaiqCsvReader<T extends TableName> {
  readonly source: string;
  private readonly tokenizer: CsvTokenizer;
  private plan: ColumnPlan[] | null = null;
  /** Per datetime column: the line of the first value with (true) or without (false) a time. */
  private readonly timeStyle = new Map<string, { hasTime: boolean; line: number }>();
  private read = 0;
  private readonly primaryKey: string;
  private readonly passThrough: boolean;
  /** The columns a row holds, and the function that builds a row from their values. */
  private kept: ColumnPlan[] = [];
  private build: (values: readonly unknown[]) => Record<string, unknown> = () => ({});

  constructor(
    readonly table: T,
    options: MosaiqCsvOptions = {},
  ) {
    if (!Object.hasOwn(MOSAIQ_TABLES, table))
      throw new ValidationError('table', `one of ${Object.keys(MOSAIQ_TABLES).join(', ')}`, table);
    this.source = options.source ?? 'csv';
    this.primaryKey = MOSAIQ_TABLES[table].primaryKey;
    this.passThrough = options.passThrough ?? true;
    this.tokenizer = new CsvTokenizer(this.source);
  }

  /** Rows read so far (data lines, not counting the header or blank lines). */
  get rowsRead(): number {
    return this.read;
  }

  /** The header's column names (the index column as ''), once read. */
  get columns(): string[] | null {
    return this.plan ? this.plan.map((c) => (c.index ? '' : c.name)) : null;
  }

  push(chunk: string): LocatedRow<T>[] {
    return this.rows(this.tokenizer.push(chunk));
  }

  /** The last rows; checks that the text had a header and did not end mid-line. */
  end(): LocatedRow<T>[] {
    const out = this.rows(this.tokenizer.end());
    if (this.plan === null) throw new ValidationError(`${this.source} line 1`, 'a header line');
    return out;
  }

  private rows(records: CsvRecord[]): LocatedRow<T>[] {
    const out: LocatedRow<T>[] = [];
    for (const record of records) {
      if (this.plan === null) {
        this.plan = this.header(record);
        continue;
      }
      if (!record.terminated) {
        const n = record.cells.length;
        const of = this.plan === null ? null : this.plan.length;
        throw new ValidationError(
          `${this.source} line ${record.line}`,
          'a line break at the end of the last line (pandas ends every line with one; this line looks cut short)',
          of !== null && n !== of ? `${n} of ${of} cells and no line break` : undefined,
        );
      }
      if (record.cells.length === 1 && record.cells[0] === '') continue;
      out.push({ line: record.line, row: this.row(record) });
      this.read++;
    }
    return out;
  }

  private header(record: CsvRecord): ColumnPlan[] {
    const where = `${this.source} line ${record.line} (header)`;
    const names = record.cells;
    const types = MOSAIQ_TABLES[this.table].columns as Record<string, SqlType>;
    const seen = new Map<string, number>();
    names.forEach((name, c) => {
      if (name === '' && c === 0) return;
      if (name.trim() === '') throw new ValidationError(where, `a name for column ${c + 1}`, name);
      if (PROTOTYPE_KEYS.has(name))
        throw new ValidationError(
          where,
          'column names other than __proto__, prototype and constructor',
          name,
        );
      const first = seen.get(name);
      if (first !== undefined)
        throw new ValidationError(
          where,
          `each column once; ${name} is both column ${first + 1} and column ${c + 1}`,
        );
      seen.set(name, c);
    });
    const plan: ColumnPlan[] = names.map((name, c) => ({
      name,
      at: c,
      type: undefined,
      index: name === '' && c === 0,
    }));
    const missing: string[] = [];
    for (const [column, type] of Object.entries(types)) {
      let c = seen.get(column);
      if (c === undefined) {
        // SQL Server names are case-insensitive (Ident spells Pat_Id1); accept one unambiguous match.
        const folded = names.flatMap((n, k) => (n.toLowerCase() === column.toLowerCase() ? [k] : []));
        if (folded.length === 1) c = folded[0]!;
      }
      if (c === undefined || plan[c]!.type !== undefined) {
        missing.push(column);
        continue;
      }
      plan[c] = { name: column, at: c, type, index: false };
    }
    if (missing.length > 0)
      throw new ValidationError(
        where,
        `the columns of ${this.table} (missing: ${missing.join(', ')}; is this the ${this.table} extract?)`,
        names
          .filter((n) => n !== '')
          .slice(0, 12)
          .join(','),
      );
    this.kept = plan.filter((c) => !c.index && (c.type !== undefined || this.passThrough));
    this.build = compileRowBuilder(this.kept.map((c) => c.name));
    return plan;
  }

  private row(record: CsvRecord): Row<T> {
    const plan = this.plan!;
    const cells = record.cells;
    if (cells.length !== plan.length) {
      throw new ValidationError(
        `${this.source} line ${record.line}`,
        `${plan.length} cells like the header${cells.length < plan.length ? ' (the line is cut short)' : ''}`,
        `${cells.length} cells`,
      );
    }
    const kept = this.kept;
    const values = new Array<unknown>(kept.length);
    for (let k = 0; k < kept.length; k++) {
      const col = kept[k]!;
      const cell = cells[col.at]!;
      if (cell === '') {
        if (col.name === this.primaryKey)
          throw new ValidationError(
            `${this.source} line ${record.line}: ${this.table}.${col.name}`,
            'a primary-key value (never empty)',
          );
        values[k] = null;
      } else values[k] = col.type === undefined ? cell : this.cell(col, cell, record.line);
    }
    return this.build(values) as Row<T>;
  }

  private cell(col: ColumnPlan, cell: string, line: number): unknown {
    // Built only for an error: a string per cell costs as much as reading the cell.
    const field = () => `${this.source} line ${line}: ${this.table}.${col.name}`;
    switch (col.type) {
      case 'int':
      case 'smallint':
      case 'tinyint':
      case 'bigint': {
        const m = INTEGRAL.exec(cell);
        if (m) {
          const v = Number(m[1]);
          const [min, max] = INTEGER_RANGES[col.type];
          if (v < min || v > max)
            throw new ValidationError(
              field(),
              `an SQL ${col.type} (a whole number in [${min}, ${max}])`,
              cell,
            );
          return v;
        }
        throw new ValidationError(
          field(),
          NUMBER.test(cell)
            ? `an SQL ${col.type} (a whole number; 16268.0 is read as 16268, a fraction is refused)`
            : `an SQL ${col.type} (a whole number)`,
          cell,
        );
      }
      case 'bit': {
        const v = BITS[cell.trim()];
        if (v === undefined)
          throw new ValidationError(field(), 'an SQL bit (True/False, 1/0 or 1.0/0.0)', cell);
        return v;
      }
      case 'datetime': {
        // Control points of a field share their timestamps: one Date per run of equal cells.
        if (cell === col.lastText) return col.lastDate;
        const parsed = parseStrictDateTime(cell);
        if (!parsed)
          throw new ValidationError(
            field(),
            'an SQL datetime (YYYY-MM-DD[ HH:MM[:SS[.fff]]], a real calendar date and time of day)',
            cell,
          );
        const style = this.timeStyle.get(col.name);
        if (!style) this.timeStyle.set(col.name, { hasTime: parsed.hasTime, line });
        else if (style.hasTime !== parsed.hasTime) {
          throw new ValidationError(
            field(),
            parsed.hasTime
              ? `a date without a time of day, like line ${style.line} (pandas writes one format per column)`
              : `a time of day like line ${style.line} has (pandas writes one format per column; this line looks cut short)`,
            cell,
          );
        }
        col.lastText = cell;
        col.lastDate = parsed.date;
        return parsed.date;
      }
      case 'binary':
      case 'timestamp':
        try {
          return decodeBase64(cell);
        } catch (e) {
          if (e instanceof ValidationError) throw new ValidationError(field(), e.expected, e.received);
          throw e;
        }
      case 'decimal':
      case 'float': {
        const v = NUMBER.test(cell) ? Number(cell) : Number.NaN;
        if (!Number.isFinite(v))
          throw new ValidationError(field(), `an SQL ${col.type} (a finite number)`, cell);
        return v;
      }
      default:
        return cell;
    }
  }
}

/**
 * `values => ({ "A": values[0], ... })` for fixed names: an object literal gets one hidden class
 * with in-object fields, where assigning 20 or 80 properties one by one makes slow dictionary-mode
 * rows. Names are JSON-quoted, and prototype keys were refused with the header.
 */
function compileRowBuilder(
  names: readonly string[],
): (values: readonly unknown[]) => Record<string, unknown> {
  const literal = names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${literal} };`) as (
    values: readonly unknown[],
  ) => Record<string, unknown>;
}

/** What readMosaiqCsv read. */
export interface MosaiqCsvResult<T extends TableName> {
  table: T;
  /** The rows kept, in file order. */
  rows: Row<T>[];
  /** Data rows in the text. */
  rowsRead: number;
  /** Rows dropped because an earlier row had their primary key. */
  duplicates: DuplicateReport;
}

/**
 * Reads a whole table extract (see MosaiqCsvReader) and applies the duplicate-key policy: a row
 * whose key an earlier row has is dropped when identical in every column Anomalia reads, and is
 * an error (naming both lines and the differing columns) when it differs, unless `onDuplicate`
 * is `keep-first`. Every dropped row is counted in `duplicates`.
 */
export function readMosaiqCsv<T extends TableName>(
  table: T,
  text: string,
  options: MosaiqCsvOptions & { onDuplicate?: DuplicatePolicy } = {},
): MosaiqCsvResult<T> {
  const reader = new MosaiqCsvReader(table, options);
  const tally = new DuplicateTally(table, options.onDuplicate ?? 'error');
  const located = [...reader.push(text), ...reader.end()];
  const pk = MOSAIQ_TABLES[table].primaryKey;
  const first = new Map<number, LocatedRow<T>>();
  const rows: Row<T>[] = [];
  for (const r of located) {
    const key = (r.row as Record<string, unknown>)[pk] as number;
    const kept = first.get(key);
    if (kept === undefined) {
      first.set(key, r);
      rows.push(r.row);
      continue;
    }
    tally.add(
      key,
      `${reader.source} line ${r.line}`,
      `${reader.source} line ${kept.line}`,
      rowDifferences(table, kept.row, r.row),
    );
  }
  return { table, rows, rowsRead: reader.rowsRead, duplicates: tally.report() };
}

/**
 * Writes rows as pandas' `to_csv` does for a pymedphys extract: an unnamed index column, the
 * columns of MOSAIQ_TABLES[table] in order, NULL as an empty cell, an integer column holding a
 * NULL as floats (`886571.0`), bits as True/False, datetimes as `YYYY-MM-DD HH:MM:SS[.ffffff]`
 * (date only when every value of the column is at midnight), binary as URL-safe base64, LF line
 * ends. For fixtures and round trips.
 */
export function formatMosaiqCsv<T extends TableName>(table: T, rows: readonly Row<T>[]): string {
  const types = MOSAIQ_TABLES[table].columns as Record<string, SqlType>;
  const columns = Object.keys(types);
  const values = (c: string) => rows.map((r) => (r as Record<string, unknown>)[c] ?? null);
  const formatters = columns.map((c) => {
    const type = types[c]!;
    const vs = values(c);
    const hasNull = vs.some((v) => v === null);
    switch (type) {
      case 'int':
      case 'smallint':
      case 'tinyint':
      case 'bigint':
        return (v: unknown) => (hasNull ? `${v}.0` : String(v));
      case 'bit':
        return (v: unknown) => (v ? 'True' : 'False');
      case 'datetime': {
        const dates = vs.filter((v): v is Date => v instanceof Date);
        const dateOnly = dates.every((d) => d.getTime() % 86_400_000 === 0);
        const fraction = dates.some((d) => d.getUTCMilliseconds() !== 0);
        return (v: unknown) => {
          const iso = (v as Date).toISOString();
          if (dateOnly) return iso.slice(0, 10);
          return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${iso.slice(20, 23)}000` : ''}`;
        };
      }
      case 'binary':
      case 'timestamp':
        return (v: unknown) => encodeBase64Url(v as Uint8Array);
      case 'varchar':
      case 'char':
        return (v: unknown) => quoteCsv(String(v));
      default:
        // pandas writes a negative zero as -0.0.
        return (v: unknown) => (Object.is(v, -0) ? '-0.0' : String(v));
    }
  });
  const lines = [`,${columns.map(quoteCsv).join(',')}`];
  rows.forEach((r, i) => {
    const cells = columns.map((c, k) => {
      const v = (r as Record<string, unknown>)[c];
      return v === null || v === undefined ? '' : formatters[k]!(v);
    });
    lines.push(`${i},${cells.join(',')}`);
  });
  return `${lines.join('\n')}\n`;
}

function quoteCsv(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
