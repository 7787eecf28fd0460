import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyTableRows, TABLE_NAMES, type TableRows, type TreatmentRecord } from '@anomalia/mosaiq';
import { type ClinicOptionsInput, generateClinic } from '@anomalia/mosaiq/synthetic';
import Database from 'better-sqlite3';
import { MosaiqLoader } from '../loader';

/** A fresh temporary directory; `cleanup()` removes it. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'anomalia-db-sqlite-test-'));
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Clinic {
  path: string;
  records: TreatmentRecord[];
  rows: TableRows;
}

/** Loads a synthetic clinic into `path`, keeping the generator's records and rows for comparison. */
export function loadClinic(path: string, options: ClinicOptionsInput): Clinic {
  const records: TreatmentRecord[] = [];
  const rows = emptyTableRows();
  const loader = MosaiqLoader.create(path);
  for (const batch of generateClinic(options)) {
    loader.load(batch.rows);
    records.push(...batch.records);
    for (const t of TABLE_NAMES) (rows[t] as unknown[]).push(...batch.rows[t]);
  }
  loader.finish();
  return { path, records, rows };
}

/** The bytes and modification time of a file, to show it was not touched. */
export function fileFingerprint(path: string): { sha256: string; mtimeMs: number; size: number } {
  const st = statSync(path);
  return {
    sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
    mtimeMs: st.mtimeMs,
    size: st.size,
  };
}

/**
 * A deep copy with every -0 turned into 0: SQLite (like SQL Server's decimal) has no negative
 * zero, and the synthetic clinic rounds small negative offsets to -0. Shared arrays stay shared.
 */
export function withoutNegativeZero<T>(value: T, seen = new Map<object, unknown>()): T {
  if (typeof value === 'number') return (Object.is(value, -0) ? 0 : value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date || value instanceof Uint8Array) {
    return value;
  }
  const done = seen.get(value);
  if (done !== undefined) return done as T;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(withoutNegativeZero(v, seen));
    return out as T;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = withoutNegativeZero(v, seen);
  return out as T;
}

/** A small SQLite file that is not a Mosaiq database. */
export function plainDatabase(path: string): string {
  const db = new Database(path);
  db.exec('CREATE TABLE notes (x TEXT)');
  db.close();
  return path;
}
