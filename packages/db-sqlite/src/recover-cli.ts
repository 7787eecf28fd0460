import { ValidationError } from '@anomalia/core';
import { assertExistingFile } from './connection';
import type { CliIo } from './import-cli';
import { recoverDatabase } from './recovery';

export const RECOVER_USAGE = `Usage: anomalia-recover <database.sqlite>

Recovers an SQLite database after a writer was killed mid-transaction (kill -9, power cut): opens
it writable, so SQLite rolls back the hot journal it left (<database>-journal) and the database is
back at its last committed state, then runs PRAGMA integrity_check. Until then no read-only handle
can open it. Anomalia does this by itself for sandboxes; this command is for any other database
(it writes to the file: run it as a user who may write the file and its directory).

Exit codes: 0 recovered and sound, 1 integrity_check found problems, 2 bad arguments or an error.
`;

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** `anomalia-recover <file>`: see RECOVER_USAGE. Returns the exit code. */
export function runRecoverCli(argv: readonly string[], io: CliIo = defaultIo): number {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.stdout(RECOVER_USAGE);
    return 0;
  }
  try {
    if (argv.length !== 1 || argv[0]!.startsWith('-')) {
      throw new ValidationError('arguments', 'exactly one database file', argv.join(' '));
    }
    const path = argv[0]!;
    assertExistingFile(path, '<database.sqlite>');
    const report = recoverDatabase(path);
    const what = report.journalRolledBack
      ? 'rolled back the hot journal left by a killed writer'
      : 'no hot journal to roll back';
    if (report.integrityProblems.length > 0) {
      io.stderr(
        `${path}: ${what}; integrity_check found problems:\n${report.integrityProblems.map((p) => `  ${p}`).join('\n')}\n`,
      );
      return 1;
    }
    io.stdout(`${path}: ${what}; integrity_check ok\n`);
    return 0;
  } catch (error) {
    io.stderr(`anomalia-recover: ${(error as Error).message}\n\n${RECOVER_USAGE}`);
    return 2;
  }
}
