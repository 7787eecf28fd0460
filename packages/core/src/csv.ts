import { readFile } from 'node:fs/promises';
import { ValidationError } from './errors';
import { type Dataset, Matrix } from './matrix';

export interface CsvTable {
  header: string[];
  rows: string[][];
}

/**
 * Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). The first line is the header.
 * A row with a different number of fields is an error naming its line; blank lines are skipped.
 */
export function parseCsvTable(text: string, options: { delimiter?: string; source?: string } = {}): CsvTable {
  const delim = options.delimiter ?? ',';
  const source = options.source ?? 'csv';
  const records: string[][] = [];
  const lines: number[] = [];
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  const endRecord = () => {
    record.push(field);
    field = '';
    if (!(record.length === 1 && record[0] === '')) {
      records.push(record);
      lines.push(recordLine);
    }
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') inQuotes = true;
    else if (c === delim) {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += c;
  }
  if (inQuotes) throw new ValidationError(`${source}: line ${recordLine}`, 'a closing quote');
  if (field !== '' || record.length) endRecord();
  const header = records.shift();
  lines.shift();
  if (!header) throw new ValidationError(source, 'a header line');
  records.forEach((r, k) => {
    if (r.length !== header.length) {
      throw new ValidationError(
        `${source}: line ${lines[k]}`,
        `${header.length} fields as in the header`,
        r.length,
      );
    }
  });
  return { header: header.map((h) => h.trim()), rows: records };
}

export interface CsvDatasetOptions {
  /** Column holding the label (0 normal / 1 anomalous, or any number; see labelMap for text). */
  labelColumn?: string;
  /** Text labels to numbers, e.g. { Normal: 0, Anomaly: 1 }. */
  labelMap?: Record<string, number>;
  /** Feature columns in order (default: every column but the label and `dropColumns`). */
  featureColumns?: string[];
  dropColumns?: string[];
  /** Empty or "NaN"/"NA" cells: an error (default) or NaN, to be handled by a scaler's nanPolicy. */
  missing?: 'error' | 'nan';
  source?: string;
}

const MISSING = new Set(['', 'nan', 'NaN', 'NA', 'null', 'NULL']);

/** Turns a parsed table into a Dataset; a non-numeric cell is an error naming its line and column. */
export function csvTableToDataset(table: CsvTable, options: CsvDatasetOptions = {}): Dataset {
  const source = options.source ?? 'csv';
  const col = (name: string, field: string) => {
    const j = table.header.indexOf(name);
    if (j < 0) throw new ValidationError(field, `a column of ${source} (${table.header.join(', ')})`, name);
    return j;
  };
  const labelIdx = options.labelColumn === undefined ? -1 : col(options.labelColumn, 'labelColumn');
  const dropped = new Set((options.dropColumns ?? []).map((d) => col(d, 'dropColumns')));
  const featureIdx = options.featureColumns
    ? options.featureColumns.map((f) => col(f, 'featureColumns'))
    : table.header.map((_, j) => j).filter((j) => j !== labelIdx && !dropped.has(j));
  if (featureIdx.length === 0) throw new ValidationError('featureColumns', 'at least one feature column');
  const X = new Matrix(table.rows.length, featureIdx.length);
  const y = labelIdx >= 0 ? new Float64Array(table.rows.length) : undefined;
  const missing = options.missing ?? 'error';
  table.rows.forEach((r, i) => {
    featureIdx.forEach((j, k) => {
      const cell = r[j]!.trim();
      let v: number;
      if (MISSING.has(cell)) {
        if (missing === 'error') {
          throw new ValidationError(
            `${source}: line ${i + 2}, column "${table.header[j]}"`,
            'a number (or load with missing: "nan")',
            cell,
          );
        }
        v = Number.NaN;
      } else {
        v = Number(cell);
        if (Number.isNaN(v))
          throw new ValidationError(
            `${source}: line ${i + 2}, column "${table.header[j]}"`,
            'a number',
            cell,
          );
      }
      X.data[i * featureIdx.length + k] = v;
    });
    if (y) {
      const cell = r[labelIdx]!.trim();
      const mapped = options.labelMap ? options.labelMap[cell] : Number(cell);
      if (mapped === undefined || cell === '' || Number.isNaN(mapped)) {
        throw new ValidationError(
          `${source}: line ${i + 2}, column "${options.labelColumn}"`,
          options.labelMap ? `one of ${Object.keys(options.labelMap).join(', ')}` : 'a numeric label',
          cell,
        );
      }
      y[i] = mapped;
    }
  });
  return { X, y, featureNames: featureIdx.map((j) => table.header[j]!) };
}

/** Parses CSV text into a numeric Dataset (see `csvTableToDataset`). */
export function parseCsvDataset(
  text: string,
  options: CsvDatasetOptions & { delimiter?: string } = {},
): Dataset {
  return csvTableToDataset(parseCsvTable(text, options), options);
}

/** Reads a CSV file into a numeric Dataset; an unreadable file is an error naming the path. */
export async function loadCsvDataset(
  path: string,
  options: CsvDatasetOptions & { delimiter?: string } = {},
): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValidationError(
      'path',
      'a readable CSV file',
      `${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseCsvDataset(text, { source: path, ...options });
}
