import { linkSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ValidationError } from '@anomalia/core';
import { LEDGER_TABLE, RUN_TABLE, SANDBOX_MARKER_TABLE } from '@anomalia/mosaiq';
import type { ClinicOptionsInput } from '@anomalia/mosaiq/synthetic';
import type Database from 'better-sqlite3';
import {
  assertExistingFile,
  assertNewFile,
  createDatabaseFile,
  hasTable,
  type OpenOptions,
  openReadOnly,
  openWritable,
  removeDatabaseFile,
} from './connection';
import { createClinicDatabase } from './loader';
import { assertSchema, createSchema } from './schema';
import { quote } from './table-codec';

/** How a database became a sandbox (stored in the marker table). */
export type SandboxOrigin = 'created' | 'marked' | 'clone';

export interface SandboxInfo {
  path: string;
  origin: SandboxOrigin;
  /** When it was marked. */
  markedAt: Date;
  /** The database it was cloned from, for clones. */
  source: string | null;
}

/**
 * The bookkeeping tables of a sandbox. Runs and ledger lines live in the sandbox itself, so a
 * copy of the file carries what is needed to restore it. Ledger values are typed: old and new
 * values of an update are stored as the column's SQLite value (INTEGER, REAL, TEXT, BLOB or NULL,
 * `sql_type` says how to read them); inserted and deleted rows as their JSON form.
 */
const BOOKKEEPING_SQL = [
  `CREATE TABLE IF NOT EXISTS ${quote(SANDBOX_MARKER_TABLE)} (
  marked_at INTEGER NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('created', 'marked', 'clone')),
  source TEXT
) STRICT`,
  `CREATE TABLE IF NOT EXISTS ${quote(RUN_TABLE)} (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  mode TEXT,
  variant TEXT,
  seed INTEGER,
  meta_json TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  restored_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('applied', 'restored')),
  change_count INTEGER NOT NULL
) STRICT`,
  `CREATE TABLE IF NOT EXISTS ${quote(LEDGER_TABLE)} (
  run_id TEXT NOT NULL REFERENCES ${quote(RUN_TABLE)} (run_id),
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('update', 'insert', 'delete')),
  table_name TEXT NOT NULL,
  row_key INTEGER NOT NULL,
  column_name TEXT,
  sql_type TEXT,
  old_value ANY,
  new_value ANY,
  row_json TEXT,
  mode TEXT,
  variant TEXT,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) STRICT`,
];

/** Creates the run and ledger tables when missing (inside a database already marked). */
export function ensureBookkeeping(db: Database.Database): void {
  for (const sql of BOOKKEEPING_SQL.slice(1)) db.exec(sql);
}

function mark(db: Database.Database, origin: SandboxOrigin, source: string | null): void {
  db.transaction(() => {
    for (const sql of BOOKKEEPING_SQL) db.exec(sql);
    db.prepare(`INSERT INTO ${quote(SANDBOX_MARKER_TABLE)} (marked_at, origin, source) VALUES (?, ?, ?)`).run(
      Date.now(),
      origin,
      source,
    );
  })();
}

export function isSandboxDatabase(db: Database.Database): boolean {
  return hasTable(db, SANDBOX_MARKER_TABLE);
}

function readInfo(db: Database.Database, path: string): SandboxInfo {
  const row = db
    .prepare(
      `SELECT marked_at, origin, source FROM ${quote(SANDBOX_MARKER_TABLE)} ORDER BY rowid DESC LIMIT 1`,
    )
    .get() as { marked_at: number; origin: SandboxOrigin; source: string | null } | undefined;
  return {
    path,
    origin: row?.origin ?? 'marked',
    markedAt: new Date(row?.marked_at ?? 0),
    source: row?.source ?? null,
  };
}

/** Options of the functions that only read a database (see OpenOptions.recoverJournal). */
export type ReadOptions = Pick<OpenOptions, 'recoverJournal'>;

/** True when the file holds the sandbox marker table (opened read-only to check). */
export function isSandbox(path: string, options: ReadOptions = {}): boolean {
  const db = openReadOnly(path, options);
  try {
    return isSandboxDatabase(db);
  } finally {
    db.close();
  }
}

/** How a sandbox became one (its latest marking: a clone of a sandbox is a clone); a ValidationError when the file is not a sandbox. */
export function sandboxInfo(path: string, options: ReadOptions = {}): SandboxInfo {
  const db = openReadOnly(path, options);
  try {
    if (!isSandboxDatabase(db)) throw new ValidationError('path', 'a sandbox database', path);
    return readInfo(db, path);
  } finally {
    db.close();
  }
}

/**
 * A new sandbox at `path` (which must not exist): the Mosaiq schema, empty or holding a synthetic
 * clinic (`clinic` options of `generateClinic`), marked as a sandbox. It is built under a hidden
 * name beside `path` and appears there only once complete and marked, so a crash leaves nothing
 * half-made at `path`.
 */
export function createSandbox(path: string, options: { clinic?: ClinicOptionsInput } = {}): SandboxInfo {
  assertNewFile(path);
  return buildThenPublish(path, 'path', 'creating', (building) => {
    if (options.clinic) createClinicDatabase(building, options.clinic);
    else {
      const db = createDatabaseFile(building);
      try {
        createSchema(db);
      } finally {
        db.close();
      }
    }
    const db = openWritable(building);
    try {
      mark(db, 'created', null);
    } finally {
      db.close();
    }
  });
}

/**
 * Builds a database under a hidden temporary name beside `path`, then links it into place (a link
 * refuses an existing `path`, where a rename would replace it). Any failure removes the temporary file.
 */
function buildThenPublish(
  path: string,
  field: string,
  verb: string,
  build: (building: string) => void,
): SandboxInfo {
  const building = join(dirname(path), `.${basename(path)}.${verb}-${process.pid}`);
  removeDatabaseFile(building);
  try {
    build(building);
    try {
      linkSync(building, path);
    } catch (error) {
      // File systems without hard links: a rename, after checking again that nothing is there.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? ''))
        throw error;
      assertNewFile(path, field);
      renameSync(building, path);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      removeDatabaseFile(building);
      throw new ValidationError(field, 'a path where no file exists yet (refusing to overwrite)', path);
    }
    throw error;
  } finally {
    removeDatabaseFile(building);
  }
  return sandboxInfo(path);
}

/**
 * Marks an existing Mosaiq database as a sandbox, so writers accept it. Deliberate by design:
 * `confirm: true` is required, and the database must have exactly the schema of this package
 * (so every change can be restored exactly). Marking a sandbox again changes nothing.
 */
export function markAsSandbox(path: string, options: { confirm: true }): SandboxInfo {
  if (options?.confirm !== true) {
    throw new ValidationError(
      'options.confirm',
      'true (marking a database as a sandbox allows Anomalia to corrupt it on purpose)',
      options?.confirm,
    );
  }
  assertExistingFile(path);
  const db = openWritable(path);
  try {
    if (isSandboxDatabase(db)) return readInfo(db, path);
    assertSchema(db, path, { exact: true });
    mark(db, 'marked', null);
    return readInfo(db, path);
  } finally {
    db.close();
  }
}

/**
 * Copies a Mosaiq database to `target` (which must not exist) and marks the copy as a sandbox.
 * The source is opened read-only and copied with `VACUUM INTO` (a consistent snapshot), so its
 * bytes and modification time stay as they were. A sandbox source keeps its runs and ledger. The
 * copy is made and marked under a hidden name beside `target`, which it takes once complete.
 */
export function cloneAsSandbox(source: string, target: string, options: ReadOptions = {}): SandboxInfo {
  assertExistingFile(source, 'source');
  assertNewFile(target, 'target');
  return buildThenPublish(target, 'target', 'cloning', (building) => {
    const src = openReadOnly(source, options);
    try {
      assertSchema(src, source, { exact: true });
      src.prepare('VACUUM INTO ?').run(building);
    } finally {
      src.close();
    }
    const db = openWritable(building);
    try {
      db.pragma('journal_mode = DELETE');
      mark(db, 'clone', source);
    } finally {
      db.close();
    }
  });
}
