import { TABLE_NAMES } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { enableChangeTracking } from './change-tracking';
import { tableChecksum } from './checksum';
import { openTreatmentReader } from './reader';
import { createTableSql } from './schema';
import { loadClinic, tempDir } from './testing/fixtures';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('change tracking', () => {
  it('versions every insert and update in commit order, from one counter, and leaves checksums alone', () => {
    const clinic = loadClinic(tmp.path('c.sqlite'), { seed: 2, records: 50 });
    const db = new Database(clinic.path);
    const versions = () =>
      db.prepare('SELECT "TTX_ID", hex("RowVers") AS v FROM "TrackTreatment" ORDER BY "RowVers"').all() as {
        TTX_ID: number;
        v: string;
      }[];
    const loaded = versions();
    expect(loaded.map((r) => r.TTX_ID)).toEqual(clinic.rows.TrackTreatment.map((t) => t.TTX_ID));
    expect(loaded[0]!.v).toBe('0000000000000001');
    expect(loaded.at(-1)!.v).toBe((50).toString(16).toUpperCase().padStart(16, '0'));
    const before = tableChecksum(clinic.path);
    const first = clinic.rows.TrackTreatment[0]!;
    // Writing the same value is a write: a new version, as with SQL Server's rowversion.
    db.prepare('UPDATE "TrackTreatment" SET "WasQAMode" = "WasQAMode" WHERE "TTX_ID" = ?').run(first.TTX_ID);
    expect(versions().at(-1)).toEqual({ TTX_ID: first.TTX_ID, v: '0000000000000033' });
    expect(tableChecksum(clinic.path)).toBe(before);
    // Other tables do not move the counter.
    db.prepare('UPDATE "TxField" SET "Meterset" = 1').run();
    expect(db.prepare('SELECT "value" FROM "Anomalia_RowVersion"').pluck().get()).toBe(51);
    db.close();
  });

  it('can be added to a database made before it existed; until then the cursor says what to do', async () => {
    const path = tmp.path('old.sqlite');
    const db = new Database(path);
    for (const t of TABLE_NAMES) db.exec(createTableSql(t).replace(',\n  "RowVers" BLOB', ''));
    db.exec('INSERT INTO "TrackTreatment" ("TTX_ID") VALUES (30), (10), (20)');
    db.close();
    const before = openTreatmentReader(path);
    await expect(before.changesSince(null)).rejects.toThrow(
      /RowVers and its triggers are missing .*run enableChangeTracking/,
    );
    before.closeSync();
    enableChangeTracking(path);
    enableChangeTracking(path);
    const reader = openTreatmentReader(path);
    const page = await reader.changesSince(null);
    expect(page.items.map((i) => [i.TTX_ID, i.version])).toEqual([
      [10, '0x0000000000000001'],
      [20, '0x0000000000000002'],
      [30, '0x0000000000000003'],
    ]);
    expect(await reader.currentWatermark()).toBe('0x0000000000000003');
    reader.closeSync();
  });
});
