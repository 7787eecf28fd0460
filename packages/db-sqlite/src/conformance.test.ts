import type { TableRows } from '@anomalia/mosaiq';
import {
  type AdapterDatabase,
  type AdapterHarness,
  adapterConformance,
  storedRows,
  withoutNegativeZero,
} from '@anomalia/mosaiq/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, it } from 'vitest';
import { tableChecksum } from './checksum';
import { MosaiqLoader } from './loader';
import { openTreatmentReader } from './reader';
import { markAsSandbox } from './sandbox';
import { quote } from './table-codec';
import { tempDir } from './testing/fixtures';
import { openSandboxWriter } from './writer';

const tmp = tempDir();
let files = 0;

/** The adapter conformance kit of @anomalia/mosaiq, on SQLite files. */
const harness: AdapterHarness = {
  async createDatabase(rows: TableRows, { sandbox }): Promise<AdapterDatabase> {
    const path = tmp.path(`kit-${++files}.sqlite`);
    const loader = MosaiqLoader.create(path);
    loader.load(rows);
    loader.finish();
    if (sandbox) markAsSandbox(path, { confirm: true });
    const statements: string[] = [];
    const onQuery = (sql: string) => statements.push(sql);
    return {
      name: path,
      openReader: async () => openTreatmentReader(path, { onQuery }),
      openWriter: async () => openSandboxWriter(path, { onQuery }),
      checksum: async () => tableChecksum(path),
      statements: () => statements,
      // A trigger raising an error when the writer's UPDATE reaches this cell.
      async failWhenWriting({ table, key, column }) {
        const db = new Database(path);
        const pk = (
          db.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string; pk: number }[]
        ).find((c) => c.pk === 1)!.name;
        db.exec(
          `CREATE TRIGGER "kit_fail" BEFORE UPDATE OF ${quote(column)} ON ${quote(table)} WHEN OLD.${quote(pk)} = ${Number(key)} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
        );
        db.close();
        return async () => {
          const d = new Database(path);
          d.exec('DROP TRIGGER "kit_fail"');
          d.close();
        };
      },
      dispose: async () => {},
    };
  },
  // SQLite's REAL keeps every double but negative zero; everything else is stored as given.
  asStored: (rows) => storedRows(rows, withoutNegativeZero),
  // Ten SELECTs in one read transaction (BEGIN and COMMIT), whatever the number of ids.
  maxStatementsPerLoad: () => 12,
};

describe('the adapter conformance kit on db-sqlite', () => {
  const kit = adapterConformance({ harness });
  afterAll(async () => {
    await kit.dispose();
    tmp.cleanup();
  });
  for (const check of kit.checks) it(check.name, check.run);
});
