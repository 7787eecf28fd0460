import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  cloneAsSandbox,
  createClinicDatabase,
  openSandboxWriter,
  openThreadedTreatmentReader,
  openTreatmentReader,
} from '@anomalia/db-sqlite';
import { z } from 'zod';
import type { OpenSandbox, SourceType } from './types';

export const SqliteSourceSchema = z.strictObject({
  type: z.literal('sqlite'),
  /** The database file (a relative path is resolved against the config file's directory). */
  path: z.string().min(1),
  /**
   * Read in a worker thread (`openThreadedTreatmentReader`): for a caller that reads while it
   * computes (the monitor reading the next batch while it scores this one). Each result is then
   * copied across threads, which costs more CPU in all than reading in place.
   */
  readerThread: z.boolean().optional(),
});
export type SqliteSource = z.output<typeof SqliteSourceSchema>;

/** The file's identity now (device and inode), or null when there is no file at `path`. */
function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * A handle keeps the file it opened: when another file is moved to `path` (a sandbox replaced by a
 * fresh copy) or the file is removed, the handle still reaches the old one, and SQLite refuses
 * writes to a moved file ("attempt to write a readonly database"). Says so, or null.
 */
function stalenessOf(path: string): () => string | null {
  const opened = fileIdentity(path);
  return () => {
    const now = fileIdentity(path);
    if (now === opened) return null;
    return now === null
      ? `${path} was removed after it was opened`
      : `${path} was replaced by another file after it was opened`;
  };
}

/** A Mosaiq-shaped SQLite file (@anomalia/db-sqlite): the embedded default. */
export const sqliteSource: SourceType<SqliteSource> = {
  type: 'sqlite',
  schema: SqliteSourceSchema,
  describe: (config) => config.path,
  resolvePaths: (config, baseDir) => ({ ...config, path: resolve(baseDir, config.path) }),
  exists: (config) => existsSync(config.path),
  synthesize(config, clinic) {
    mkdirSync(dirname(resolve(config.path)), { recursive: true });
    createClinicDatabase(config.path, { seed: clinic.seed, records: clinic.records });
  },
  async openReader(config) {
    const staleness = stalenessOf(config.path);
    const reader = config.readerThread
      ? await openThreadedTreatmentReader(config.path)
      : openTreatmentReader(config.path);
    return { name: config.path, reader, staleness, close: () => reader.close() };
  },
  async openSandbox(config): Promise<OpenSandbox> {
    const staleness = stalenessOf(config.path);
    // The writer first: on a database without the sandbox marker it throws before any reader exists.
    const writer = openSandboxWriter(config.path);
    try {
      const reader = openTreatmentReader(config.path);
      return {
        name: config.path,
        reader,
        writer,
        staleness,
        async close() {
          await reader.close();
          await writer.close();
        },
      };
    } catch (error) {
      writer.closeSync();
      throw error;
    }
  },
  // The whole file: the workflow's cohort is only part of it, and cross-record modes see the rest.
  cloneToSqliteSandbox(config, path) {
    cloneAsSandbox(config.path, path);
  },
};
