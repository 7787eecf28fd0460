import { LEDGER_TABLE } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum, tableChecksums } from './checksum';
import { cloneAsSandbox } from './sandbox';
import { type Clinic, loadClinic, plainDatabase, tempDir } from './testing/fixtures';
import { openSandboxWriter } from './writer';

const tmp = tempDir();
let clinic: Clinic;
let copies = 0;

beforeAll(() => {
  clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 41, records: 200 });
});
afterAll(() => tmp.cleanup());

/** A copy of the clinic with one SQL statement run on it. */
function altered(sql: string, ...params: unknown[]): string {
  const path = tmp.path(`copy-${++copies}.sqlite`);
  cloneAsSandbox(clinic.path, path);
  const db = new Database(path);
  const changed = db.prepare(sql).run(...params).changes;
  db.close();
  expect(changed, sql).toBe(1);
  return path;
}

describe('tableChecksum', () => {
  it('is a SHA-256, stable across reads and copies', () => {
    const a = tableChecksum(clinic.path);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(tableChecksum(clinic.path)).toBe(a);
    const copy = tmp.path('copy.sqlite');
    cloneAsSandbox(clinic.path, copy);
    expect(tableChecksum(copy)).toBe(a);
  });

  it('changes with any single value (blob byte, last bit of a REAL, NULL against 0, text) and says which table', () => {
    const base = tableChecksums(clinic.path);
    const point = clinic.rows.TxFieldPoint[0]!;
    const blob = Buffer.from(point.A_Leaf_Set!);
    blob[199] = (blob[199]! + 1) & 0xff;
    const gantry = new Float64Array([point.Gantry_Ang!]);
    new BigInt64Array(gantry.buffer)[0]! += 1n;
    const cases: [string, string, ...unknown[]][] = [
      ['TxFieldPoint', 'UPDATE "TxFieldPoint" SET "A_Leaf_Set" = ? WHERE "TFP_ID" = ?', blob, point.TFP_ID],
      [
        'TxFieldPoint',
        'UPDATE "TxFieldPoint" SET "Gantry_Ang" = ? WHERE "TFP_ID" = ?',
        gantry[0],
        point.TFP_ID,
      ],
      [
        'Staff',
        'UPDATE "Staff" SET "Category" = 0 WHERE "Staff_ID" = ? AND "Category" IS NULL',
        clinic.rows.Staff[0]!.Staff_ID,
      ],
      [
        'Patient',
        'UPDATE "Patient" SET "Last_Name" = lower("Last_Name") WHERE "Pat_ID1" = ?',
        clinic.rows.Patient[0]!.Pat_ID1,
      ],
      ['Dose_Hst', 'DELETE FROM "Dose_Hst" WHERE "DHS_ID" = ?', clinic.rows.Dose_Hst[0]!.DHS_ID],
    ];
    for (const [table, sql, ...params] of cases) {
      const sums = tableChecksums(altered(sql, ...params));
      expect(sums.total, sql).not.toBe(base.total);
      const differing = Object.keys(base.tables).filter(
        (t) => base.tables[t as 'Site'] !== sums.tables[t as 'Site'],
      );
      expect(differing, sql).toEqual([table]);
    }
  });

  it('ignores the Anomalia_* bookkeeping tables', () => {
    const path = tmp.path('runs.sqlite');
    cloneAsSandbox(clinic.path, path);
    const before = tableChecksum(path);
    const field = clinic.rows.TxField[0]!;
    const writer = openSandboxWriter(path);
    const run = writer.applySync(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: field.FLD_ID,
          column: 'Meterset',
          oldValue: field.Meterset,
          newValue: 0,
        },
      ],
      { label: 'x' },
    );
    writer.restoreSync(run.runId);
    expect(writer.checksum().total).toBe(before);
    writer.closeSync();
    const db = new Database(path, { readonly: true });
    expect(db.prepare(`SELECT count(*) FROM "${LEDGER_TABLE}"`).pluck().get()).toBe(1);
    db.close();
    expect(tableChecksum(path)).toBe(before);
  });

  it('refuses a file without the Mosaiq tables', () => {
    const path = plainDatabase(tmp.path('notes.sqlite'));
    expect(() => tableChecksum(path)).toThrow(/not a Mosaiq database/);
  });
});
