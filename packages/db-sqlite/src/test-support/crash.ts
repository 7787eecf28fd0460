import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Change } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

export interface CrashOutcome {
  /** True when SIGKILL ended the child; false when it finished first. */
  readonly killed: boolean;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `crash-child.ts <args>` (through tsx) and kills it with SIGKILL `delayMs` after it
 * printed "ready", unless it has finished by then. `delayMs` null: never killed.
 */
export function runAndKill(args: readonly string[], delayMs: number | null): Promise<CrashOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.stdout.on('data', (d) => {
      out += String(d);
      if (delayMs !== null && timer === undefined && out.includes('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, stdout: out, stderr });
    });
  });
}

/** Whether a plain read-only open fails as it did before recovery existed (a hot journal). */
export function readOnlyOpenFails(path: string): boolean {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_READONLY_ROLLBACK') return true;
    throw error;
  } finally {
    db.close();
  }
}

/** SQLite's `integrity_check` of a file, read-only: `ok`, or what it found. */
export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
  } finally {
    db.close();
  }
}

/**
 * The victim's workload: every control point of a sandbox turned by 400° (thousands of rows, so
 * the transaction's pages spill to the file before the commit), read from the file as it is.
 */
export function gantryChanges(sandbox: string): Change[] {
  const db = new Database(sandbox, { readonly: true });
  try {
    const points = db.prepare('SELECT TFP_ID, Gantry_Ang FROM TxFieldPoint').all() as {
      TFP_ID: number;
      Gantry_Ang: number | null;
    }[];
    return points.map((p) => ({
      kind: 'update',
      table: 'TxFieldPoint',
      key: p.TFP_ID,
      column: 'Gantry_Ang',
      oldValue: p.Gantry_Ang,
      newValue: (p.Gantry_Ang ?? 0) + 400,
    }));
  } finally {
    db.close();
  }
}
