import { existsSync } from 'node:fs';
import { TABLE_NAMES } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createClinicDatabase, MosaiqLoader } from './loader';
import { openTreatmentReader } from './reader';
import { tempDir } from './testing/fixtures';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('createClinicDatabase', () => {
  it('loads every row the generator streams and leaves one self-contained file', () => {
    const path = tmp.path('clinic.sqlite');
    const summary = createClinicDatabase(path, { seed: 51, records: 1200, batchSize: 500 });
    const expected = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0]));
    for (const batch of generateClinic({ seed: 51, records: 1200, batchSize: 500 }))
      for (const t of TABLE_NAMES) expected[t]! += batch.rows[t].length;
    expect(summary.rows).toEqual(expected);
    expect(summary.records).toBe(1200);
    expect(summary.seconds).toBeGreaterThan(0);
    const reader = openTreatmentReader(path);
    expect(reader.tableCounts()).toEqual(expected);
    reader.closeSync();
    // Back to a rollback journal: no -wal/-shm left, so read-only readers need nothing else.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });

  it('refuses to overwrite unless asked, and refuses bad options before creating a file', () => {
    const path = tmp.path('twice.sqlite');
    createClinicDatabase(path, { seed: 1, records: 50 });
    expect(() => createClinicDatabase(path, { seed: 1, records: 50 })).toThrow(
      /path: expected a path where no file exists yet/,
    );
    expect(createClinicDatabase(path, { seed: 2, records: 60 }, { overwrite: true }).records).toBe(60);
    expect(() => createClinicDatabase(tmp.path('bad.sqlite'), { seed: 1, batchSize: 0 })).toThrow(
      /options\.batchSize/,
    );
    expect(existsSync(tmp.path('bad.sqlite'))).toBe(false);
    expect(() => createClinicDatabase(':memory:', { seed: 1 })).toThrow(/path: expected a plain file path/);
  });
});

describe('MosaiqLoader', () => {
  it('loads a batch all or nothing, naming a duplicate key or a bad value', () => {
    const path = tmp.path('loader.sqlite');
    const loader = MosaiqLoader.create(path);
    const [batch] = generateClinic({ seed: 52, records: 100 });
    loader.load(batch!.rows);
    const field = batch!.rows.TxField[0]!;
    const patient = { ...batch!.rows.Patient[0]!, Pat_ID1: 1 };
    expect(() => loader.load({ Patient: [patient], TxField: [field] })).toThrow(
      `rows.TxField[0].FLD_ID: expected a primary-key value not already in the database, received ${field.FLD_ID}`,
    );
    expect(() =>
      loader.load({
        TrackTreatment: [{ ...batch!.rows.TrackTreatment[0]!, TTX_ID: 5, WasQAMode: 1 as never }],
      }),
    ).toThrow(
      'TrackTreatment[TTX_ID=5].WasQAMode: expected an SQL bit (INTEGER 0 or 1; true/false in memory), received 1',
    );
    expect(() => loader.load({ Site: 'rows' as never })).toThrow(/rows\.Site: expected an array of rows/);
    const summary = loader.finish();
    // The failed batches left nothing behind (the Patient row with key 1 was rolled back).
    expect(summary.rows.Patient).toBe(batch!.rows.Patient.length);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM "Patient"').pluck().get()).toBe(batch!.rows.Patient.length);
    db.close();
    expect(() => loader.load({})).toThrow(/an open loader/);
  });

  it('removes the file when aborted', () => {
    const path = tmp.path('aborted.sqlite');
    const loader = MosaiqLoader.create(path);
    loader.abort();
    expect(existsSync(path)).toBe(false);
  });
});
