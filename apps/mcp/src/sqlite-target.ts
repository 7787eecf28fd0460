import { openSandboxWriter, openTreatmentReader } from '@anomalia/db-sqlite';
import type { TargetDatabase } from './target';

/**
 * A sandbox SQLite file as the target. The writer is opened first: on a database without the
 * sandbox marker it throws NotASandboxError before any reader exists.
 */
export function openSqliteTarget(path: string): TargetDatabase {
  const writer = openSandboxWriter(path);
  try {
    const reader = openTreatmentReader(path);
    return {
      name: path,
      reader,
      writer,
      async close() {
        await reader.close();
        await writer.close();
      },
    };
  } catch (error) {
    writer.closeSync();
    throw error;
  }
}
