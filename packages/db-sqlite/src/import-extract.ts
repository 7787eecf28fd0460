import { createReadStream, existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseWith, ValidationError } from '@anomalia/core';
import {
  DUPLICATE_POLICIES,
  type DuplicatePolicy,
  type DuplicateReport,
  DuplicateTally,
  MosaiqCsvReader,
  TABLE_NAMES,
  type TableName,
} from '@anomalia/mosaiq';
import { z } from 'zod';
import { removeDatabaseFile } from './connection';
import type { ExtractTableRecord } from './extract-record';
import { MosaiqLoader } from './loader';

/**
 * Mosaiq tables that extracts hold (pymedphys' types_map.toml) but Anomalia does not read: their
 * files are skipped, not refused.
 */
export const SKIPPED_MOSAIQ_TABLES: readonly string[] = [
  'Chklist',
  'QCLTask',
  'PatientFamilyHistory',
  'PatientName',
];

const ImportOptionsSchema = z.strictObject({
  onDuplicate: z.enum(DUPLICATE_POLICIES).default('error'),
  overwrite: z.boolean().default(false),
});
export type ImportOptionsInput = z.input<typeof ImportOptionsSchema> & {
  /** Progress events (files started, rows read, finishing). */
  onProgress?: (event: ImportProgress) => void;
  /** Stops the import between chunks (Ctrl-C): nothing is left behind. */
  signal?: AbortSignal;
};

export type ImportProgress =
  | { kind: 'file'; table: TableName; file: string; bytes: number }
  | { kind: 'rows'; table: TableName; file: string; rows: number; bytesRead: number; bytes: number }
  | { kind: 'file-done'; table: TableName; file: string; rows: number; seconds: number }
  | { kind: 'finishing' };

/** What one Mosaiq table got from the extract. */
export interface ImportTableSummary extends ExtractTableRecord {
  duplicates: DuplicateReport;
}

export interface ImportSummary {
  /** The extract directory and the database written. */
  source: string;
  out: string;
  onDuplicate: DuplicatePolicy;
  tables: ImportTableSummary[];
  /** Files in the directory that were not read, and why. */
  skipped: { file: string; reason: string }[];
  /** References between present tables that point at no row (worth knowing, not an error). */
  danglingReferences: { from: TableName; column: string; to: TableName; rows: number }[];
  /** Fields (TxField rows) and how many of them have control points in the extract. */
  controlPoints: { fields: number; withPoints: number } | null;
  seconds: number;
}

interface TableFile {
  table: TableName;
  file: string;
  path: string;
  bytes: number;
}

/**
 * The table a file holds: `<Table>.csv` or `<Table>_<anything>.csv` (e.g. TxFieldPoint_2020.csv;
 * several files of a table are read in name order), the table name matched ignoring case.
 */
export function tableOfFile(file: string): TableName | 'skipped' | null {
  const m = /^([A-Za-z_]+?)(?:_[^/\\]*)?\.csv$/i.exec(file);
  if (!m) return null;
  // The longest table name that fits: TxFieldPoint_x.csv is TxFieldPoint, TxField_x.csv TxField.
  const candidates = [...TABLE_NAMES, ...SKIPPED_MOSAIQ_TABLES].sort((a, b) => b.length - a.length);
  const lower = file.toLowerCase();
  for (const name of candidates) {
    const n = name.toLowerCase();
    if (lower === `${n}.csv` || lower.startsWith(`${n}_`)) {
      return (TABLE_NAMES as readonly string[]).includes(name) ? (name as TableName) : 'skipped';
    }
  }
  return null;
}

function listExtract(dir: string): { files: TableFile[]; skipped: { file: string; reason: string }[] } {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ValidationError('dir', 'a directory of CSV files', dir);
    entries = readdirSync(dir).sort();
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError('dir', `a readable directory (${(error as Error).message})`, dir);
  }
  const files: TableFile[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of entries) {
    if (file.startsWith('.')) continue;
    const path = join(dir, file);
    if (!/\.csv$/i.test(file)) {
      skipped.push({ file, reason: 'not a .csv file' });
      continue;
    }
    const table = tableOfFile(file);
    if (table === null)
      throw new ValidationError(
        `${file}`,
        `a file named after the Mosaiq table it holds (<Table>.csv or <Table>_<part>.csv, Table one of ${TABLE_NAMES.join(', ')})`,
      );
    if (table === 'skipped') {
      skipped.push({ file, reason: 'a Mosaiq table Anomalia does not read' });
      continue;
    }
    let bytes: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) throw new Error('not a regular file');
      bytes = stat.size;
    } catch (error) {
      throw new ValidationError(file, `a readable file (${(error as Error).message})`);
    }
    files.push({ table, file, path, bytes });
  }
  files.sort((a, b) => TABLE_NAMES.indexOf(a.table) - TABLE_NAMES.indexOf(b.table));
  return { files, skipped };
}

const PROGRESS_MS = 1000;

async function loadFile(
  f: TableFile,
  loader: MosaiqLoader,
  tally: DuplicateTally,
  onProgress: (event: ImportProgress) => void,
  signal: AbortSignal | undefined,
): Promise<{ read: number; loaded: number }> {
  const reader = new MosaiqCsvReader(f.table, { source: f.file, passThrough: false });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const where = (r: { line: number }) => `${f.file} line ${r.line}`;
  let loaded = 0;
  let bytesRead = 0;
  let last = performance.now();
  const decode = (chunk?: Buffer) => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw new ValidationError(f.file, `UTF-8 text (bytes near offset ${bytesRead} are not UTF-8)`);
    }
  };
  try {
    for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) {
      signal?.throwIfAborted();
      const text = decode(chunk as Buffer);
      bytesRead += (chunk as Buffer).length;
      loaded += loader.loadExtractRows(f.table, reader.push(text), tally, where);
      if (performance.now() - last > PROGRESS_MS) {
        last = performance.now();
        onProgress({
          kind: 'rows',
          table: f.table,
          file: f.file,
          rows: reader.rowsRead,
          bytesRead,
          bytes: f.bytes,
        });
      }
    }
    loaded += loader.loadExtractRows(f.table, [...reader.push(decode()), ...reader.end()], tally, where);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new ValidationError(f.file, `a readable file (${(error as Error).message})`);
    throw error;
  }
  return { read: reader.rowsRead, loaded };
}

/**
 * Loads a directory of Mosaiq table extracts (pymedphys CSV, see `readMosaiqCsv`; each table
 * optional, a table's rows possibly split over several files) into a new SQLite database at
 * `out`, and records in it which tables the extract contained (`Anomalia_Extract`): a table with
 * no file is absent, not empty. Duplicate primary keys follow `onDuplicate` (see DuplicatePolicy)
 * and are counted per table. The database is written to a temporary file beside `out` and
 * renamed into place only when everything loaded: on any error nothing is left behind, and an
 * existing `out` is untouched (it is replaced only with `overwrite`).
 */
export async function importExtract(
  dir: string,
  out: string,
  options: ImportOptionsInput = {},
): Promise<ImportSummary> {
  const started = performance.now();
  const { onProgress = () => {}, signal, ...rest } = options;
  const opts = parseWith(ImportOptionsSchema, rest, 'options');
  if (typeof dir !== 'string' || dir === '') throw new ValidationError('dir', 'a directory path', dir);
  if (typeof out !== 'string' || out === '' || out === ':memory:')
    throw new ValidationError('out', 'a file path for the database', out);
  const source = resolve(dir);
  const target = resolve(out);
  if (existsSync(target) && !opts.overwrite)
    throw new ValidationError('out', 'a path where no file exists yet (pass overwrite to replace it)', out);
  if (!existsSync(dirname(target)))
    throw new ValidationError(
      'out',
      `a path in an existing directory (${dirname(target)} does not exist)`,
      out,
    );
  const { files, skipped } = listExtract(source);

  const temp = join(dirname(target), `.${basename(target)}.importing-${process.pid}`);
  const loader = MosaiqLoader.create(temp, { overwrite: true });
  try {
    const tallies = new Map(TABLE_NAMES.map((t) => [t, new DuplicateTally(t, opts.onDuplicate)]));
    const perTable = new Map<TableName, ImportTableSummary>();
    for (const f of files) {
      onProgress({ kind: 'file', table: f.table, file: f.file, bytes: f.bytes });
      const t0 = performance.now();
      const { read, loaded } = await loadFile(f, loader, tallies.get(f.table)!, onProgress, signal);
      onProgress({
        kind: 'file-done',
        table: f.table,
        file: f.file,
        rows: read,
        seconds: (performance.now() - t0) / 1000,
      });
      const s = perTable.get(f.table);
      if (s) {
        s.files.push(f.file);
        s.rowsRead += read;
        s.rowsLoaded += loaded;
      } else
        perTable.set(f.table, {
          table: f.table,
          present: true,
          files: [f.file],
          rowsRead: read,
          rowsLoaded: loaded,
          identicalDuplicates: 0,
          conflictingDuplicates: 0,
          duplicates: tallies.get(f.table)!.report(),
        });
    }
    const tables = TABLE_NAMES.map((table): ImportTableSummary => {
      const duplicates = tallies.get(table)!.report();
      const s = perTable.get(table) ?? {
        table,
        present: false,
        files: [],
        rowsRead: 0,
        rowsLoaded: 0,
        identicalDuplicates: 0,
        conflictingDuplicates: 0,
        duplicates,
      };
      return {
        ...s,
        identicalDuplicates: duplicates.identical,
        conflictingDuplicates: duplicates.conflicting,
        duplicates,
      };
    });
    const present = tables.filter((t) => t.present).map((t) => t.table);
    onProgress({ kind: 'finishing' });
    const danglingReferences = loader.danglingReferences(present);
    const controlPoints =
      present.includes('TxField') && present.includes('TxFieldPoint') ? loader.controlPointCoverage() : null;
    loader.recordExtract({
      source,
      importedAt: new Date(),
      onDuplicate: opts.onDuplicate,
      tables: tables.map(({ duplicates: _, ...t }) => t),
    });
    loader.finish();
    // A journal left beside an old database must not be replayed into the new one.
    if (opts.overwrite) removeDatabaseFile(target);
    renameSync(temp, target);
    return {
      source,
      out: target,
      onDuplicate: opts.onDuplicate,
      tables,
      skipped,
      danglingReferences,
      controlPoints,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    loader.abort();
    throw error;
  }
}
