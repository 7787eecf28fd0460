import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SANDBOX_MARKER_TABLE } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';

/**
 * A writer killed in the middle of a transaction (kill -9, power cut) leaves a *hot* rollback
 * journal beside the database: the original content of the pages it had begun to overwrite.
 * SQLite rolls it back on the next open that may write, so nothing committed is lost and nothing
 * uncommitted survives. A read-only handle cannot roll it back: every read-only open fails with
 * SQLITE_READONLY_ROLLBACK until some writable handle has opened the file.
 *
 * How a read-only open of this package reacts:
 * - `sandbox` (default): when the database is an Anomalia sandbox, which Anomalia may write, the
 *   journal is rolled back through a short-lived writable handle. That the database is a sandbox,
 *   and that the rolled-back file passes `integrity_check`, is first established on a private copy
 *   of the file and its journal, so a database that is not a sandbox is never written.
 * - `never`: for processes that only read (the monitor's sources): a HotJournalError saying what
 *   to run.
 */
export type JournalRecovery = 'sandbox' | 'never';

export const JOURNAL_RECOVERY_POLICIES: readonly JournalRecovery[] = ['sandbox', 'never'];

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** The command that recovers a database by hand (also in every HotJournalError). */
export function recoverCommand(path: string): string {
  return `anomalia-recover ${shellQuote(path)}`;
}

/** A hot rollback journal this process may not or could not roll back; the message says what to run. */
export class HotJournalError extends Error {
  override readonly name = 'HotJournalError';
  constructor(
    readonly path: string,
    /** Why it was not rolled back here. */
    readonly reason: string,
  ) {
    super(
      `${path}: a writer was killed mid-transaction and left a hot rollback journal (${basename(path)}-journal), ` +
        `which a read-only handle cannot roll back; ${reason}. Nothing was changed. Run \`${recoverCommand(path)}\` ` +
        '(@anomalia/db-sqlite; as a user who may write the file and its directory) to roll it back and check the ' +
        'database, then try again.',
    );
  }
}

/** True for the error SQLite gives a read-only handle on a database with a hot journal. */
export function isHotJournalError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_READONLY_ROLLBACK';
}

/** Opens `path` writable and reads its schema: SQLite rolls a hot journal back on that first read. */
function rollBack(path: string): void {
  const db = new Database(path, { fileMustExist: true, timeout: 5000 });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } finally {
    db.close();
  }
}

function integrityProblems(db: Database.Database): string[] {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const lines = rows.map((r) => r.integrity_check);
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}

/**
 * Rolls the journal back on a private copy (the file and its journal, copied beside them) and
 * says whether the result is a sound sandbox: null when it is, else why not. The copy is removed.
 */
function sandboxAfterRollback(path: string): string | null {
  const copy = join(
    dirname(path),
    `.${basename(path)}.recovery-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    try {
      // A clone (reflink) where the file system has them, else a copy.
      copyFileSync(path, copy, constants.COPYFILE_FICLONE);
      copyFileSync(`${path}-journal`, `${copy}-journal`, constants.COPYFILE_FICLONE);
    } catch (error) {
      return `a private copy to check it could not be made beside it (${(error as NodeJS.ErrnoException).code ?? error})`;
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(copy, { fileMustExist: true });
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      const marked =
        db
          .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
          .get(SANDBOX_MARKER_TABLE) !== undefined;
      if (!marked) return 'it is not an Anomalia sandbox, and Anomalia writes to no other database';
      const problems = integrityProblems(db);
      if (problems.length > 0) {
        return `rolled back on a private copy, it fails integrity_check (${problems.slice(0, 3).join('; ')})`;
      }
      return null;
    } catch (error) {
      return `rolling it back on a private copy failed (${(error as Error).message})`;
    } finally {
      db?.close();
    }
  } finally {
    for (const suffix of ['', '-journal']) rmSync(`${copy}${suffix}`, { force: true });
  }
}

/**
 * Handles a hot journal met by a read-only open (see JournalRecovery): rolls it back when the
 * policy allows and the database is a sound sandbox, else throws a HotJournalError. Returns
 * normally when the caller should retry its read-only open.
 */
export function recoverHotJournal(path: string, policy: JournalRecovery): void {
  if (policy === 'never') {
    throw new HotJournalError(path, 'this process only reads databases and leaves recovery to you');
  }
  // Another process may have recovered it meanwhile: then there is nothing left to do.
  if (!existsSync(`${path}-journal`)) return;
  const problem = sandboxAfterRollback(path);
  if (problem !== null) throw new HotJournalError(path, problem);
  try {
    rollBack(path);
  } catch (error) {
    throw new HotJournalError(path, `rolling it back failed (${(error as Error).message})`);
  }
}

/** What `recoverDatabase` did. */
export interface RecoveryReport {
  readonly path: string;
  /** A journal was present before and gone after: it was rolled back (or, if not hot, discarded by SQLite). */
  readonly journalRolledBack: boolean;
  /** `integrity_check` after recovery: empty when the database is sound. */
  readonly integrityProblems: readonly string[];
}

/**
 * Recovers any SQLite database after a crashed writer: opens it writable (SQLite rolls back a
 * hot journal on that first read, restoring the last committed state) and runs
 * `integrity_check`. This writes to the file whatever it is: the explicit, by-hand recovery
 * (`anomalia-recover`), for databases Anomalia does not recover by itself.
 */
export function recoverDatabase(path: string): RecoveryReport {
  const had = existsSync(`${path}-journal`);
  rollBack(path);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      path,
      journalRolledBack: had && !existsSync(`${path}-journal`),
      integrityProblems: integrityProblems(db),
    };
  } finally {
    db.close();
  }
}
