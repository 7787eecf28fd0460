import { existsSync, rmSync, statSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import Database from 'better-sqlite3';
import { isHotJournalError, type JournalRecovery, recoverHotJournal } from './recovery';

export interface OpenOptions {
  /** Called with the SQL text of every statement run (for logging and query counting). */
  onQuery?: (sql: string) => void;
  /**
   * A hot rollback journal left by a killed writer (which no read-only handle can roll back):
   * `sandbox` (default) rolls it back when the database is a sandbox, `never` refuses with a
   * HotJournalError naming the command to run (for processes that must only read). See JournalRecovery.
   */
  recoverJournal?: JournalRecovery;
}

function checkPath(path: unknown, field: string): asserts path is string {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ValidationError(field, 'a file path (string)', path);
  }
  if (path === ':memory:' || path.startsWith('file:')) {
    throw new ValidationError(field, 'a plain file path (not :memory: or a URI)', path);
  }
}

export function assertExistingFile(path: unknown, field = 'path'): asserts path is string {
  checkPath(path, field);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ValidationError(field, 'an existing SQLite database file', path);
  }
}

export function assertNewFile(path: unknown, field = 'path'): asserts path is string {
  checkPath(path, field);
  if (existsSync(path)) {
    throw new ValidationError(field, 'a path where no file exists yet (refusing to overwrite)', path);
  }
}

/** Removes a database file and its journal files. */
export function removeDatabaseFile(path: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

function withFriendlyErrors(db: Database.Database, path: string): Database.Database {
  try {
    // Touches the header: a file that is not SQLite fails here, not on the first real query.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new ValidationError('path', 'an SQLite database file', path);
    }
    throw error;
  }
  return db;
}

/**
 * Opens an existing database read-only: nothing done through this handle can change the file. A
 * hot journal left by a killed writer is handled first, by `options.recoverJournal`.
 */
export function openReadOnly(path: unknown, options: OpenOptions = {}): Database.Database {
  assertExistingFile(path);
  try {
    return openReadOnlyOnce(path, options);
  } catch (error) {
    if (!isHotJournalError(error)) throw error;
    recoverHotJournal(path, options.recoverJournal ?? 'sandbox');
    return openReadOnlyOnce(path, options);
  }
}

/**
 * Runs a read on an open read-only handle; when a writer killed since the handle was opened left
 * a hot journal, recovers it by `policy` (see JournalRecovery) and runs the read once more.
 */
export function readRecovering<T>(path: string, policy: JournalRecovery | undefined, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!isHotJournalError(error)) throw error;
    recoverHotJournal(path, policy ?? 'sandbox');
    return read();
  }
}

function openReadOnlyOnce(path: string, options: OpenOptions): Database.Database {
  const db = new Database(path, {
    readonly: true,
    fileMustExist: true,
    ...(options.onQuery ? { verbose: (sql: unknown) => options.onQuery!(String(sql)) } : {}),
  });
  withFriendlyErrors(db, path);
  // Reading speed: a larger page cache and memory-mapped I/O (neither writes anything).
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  return db;
}

/** Opens an existing database for writing (callers decide whether they may write to it). */
export function openWritable(path: unknown, options: OpenOptions = {}): Database.Database {
  assertExistingFile(path);
  const db = new Database(path, {
    fileMustExist: true,
    ...(options.onQuery ? { verbose: (sql: unknown) => options.onQuery!(String(sql)) } : {}),
  });
  return withFriendlyErrors(db, path);
}

/** Creates a new, empty database file (the path must not exist). */
export function createDatabaseFile(path: unknown, options: { overwrite?: boolean } = {}): Database.Database {
  checkPath(path, 'path');
  if (options.overwrite) removeDatabaseFile(path);
  assertNewFile(path);
  return new Database(path);
}

export function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}
