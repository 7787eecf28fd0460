import { writeFileSync } from 'node:fs';
import { Rng, ValidationError } from '@anomalia/core';
import { extractQa74 } from '@anomalia/features';
import {
  assembleRecords,
  MOSAIQ_TABLES,
  parseRow,
  recordsToRows,
  TABLE_NAMES,
  type TreatmentRecord,
  type TreatmentSummary,
} from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTreatmentReader, type SqliteTreatmentReader } from './reader';
import { createTableSql } from './schema';
import { expectSameRecords } from './test-support/records';
import {
  type Clinic,
  fileFingerprint,
  loadClinic,
  plainDatabase,
  tempDir,
  withoutNegativeZero,
} from './testing/fixtures';

const tmp = tempDir();
let clinic: Clinic;
let reader: SqliteTreatmentReader;
const from = new Date('2020-01-01T00:00:00Z');
const to = new Date('2030-01-01T00:00:00Z');

beforeAll(() => {
  clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 11, records: 3000, batchSize: 700 });
  // What the database holds: the generator's values with -0 stored as 0.
  clinic.records = withoutNegativeZero(clinic.records);
  reader = openTreatmentReader(clinic.path);
});
afterAll(() => {
  reader.closeSync();
  tmp.cleanup();
});

function summary(r: TreatmentRecord): TreatmentSummary {
  const t = r.treatment;
  return {
    TTX_ID: t.TTX_ID,
    Pat_ID1: t.Pat_ID1,
    FLD_ID: t.FLD_ID,
    SIT_ID: t.SIT_ID,
    Machine_ID_Staff_ID: t.Machine_ID_Staff_ID,
    Create_DtTm: t.Create_DtTm,
    Edit_DtTm: t.Edit_DtTm,
    WasQAMode: t.WasQAMode,
    WasBeamComplete: t.WasBeamComplete,
  };
}

/** Every page of a query, following the cursors. */
function listAll(query: Parameters<SqliteTreatmentReader['listTreatmentsSync']>[0]): {
  items: TreatmentSummary[];
  pages: number;
} {
  const items: TreatmentSummary[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = reader.listTreatmentsSync({ ...query, cursor });
    items.push(...page.items);
    pages++;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { items, pages };
}

describe('loadRecords', () => {
  it('gives back exactly the records the generator made (all fields, blobs and dates included)', () => {
    const ids = clinic.records.map((r) => r.treatment.TTX_ID);
    const { records, missingIds } = reader.loadRecordsSync(ids);
    expect(missingIds).toEqual([]);
    expectSameRecords(records, clinic.records);
  });

  it('gives the same records for a random sample as for the whole clinic (set-wise joins are complete)', async () => {
    const rng = new Rng(5);
    const sample = Array.from(rng.sampleIndices(clinic.records.length, 150), (i) => clinic.records[i]!);
    const { records } = await reader.loadRecords(sample.map((r) => r.treatment.TTX_ID));
    expectSameRecords(records, sample);
    const cp = records.find((r) => r.controlPoints.length > 0)!.controlPoints[0]!;
    expect(cp.A_Leaf_Set).toBeInstanceOf(Uint8Array);
    expect(cp.A_Leaf_Set!.length).toBe(200);
    expect(records[0]!.treatment.Create_DtTm).toBeInstanceOf(Date);
  });

  it("decodes rows that mosaiq's zod row schemas accept unchanged", () => {
    const spread = clinic.records.filter((_, i) => i % 25 === 0);
    const { records } = reader.loadRecordsSync(spread.map((r) => r.treatment.TTX_ID));
    const rows = recordsToRows(records);
    for (const table of TABLE_NAMES) {
      expect(rows[table].length, table).toBeGreaterThan(0);
      // zod is slow on blobs: a few hundred rows per table suffice.
      for (const row of rows[table].slice(0, 300)) expect(parseRow(table, row)).toEqual(row);
    }
  });

  it('keeps the order asked, repeats duplicates and lists the ids not found', () => {
    const [a, b] = [clinic.records[10]!.treatment.TTX_ID, clinic.records[3]!.treatment.TTX_ID];
    const { records, missingIds } = reader.loadRecordsSync([a, 42, b, a]);
    expect(records.map((r) => r.treatment.TTX_ID)).toEqual([a, b, a]);
    expect(missingIds).toEqual([42]);
    expect(reader.loadRecordsSync([])).toEqual({ records: [], missingIds: [] });
  });

  it('shares one control-point array between records of the same field', () => {
    const { records } = reader.loadRecordsSync(clinic.records.slice(0, 500).map((r) => r.treatment.TTX_ID));
    const byField = new Map<number, TreatmentRecord['controlPoints']>();
    let shared = 0;
    for (const r of records) {
      const f = r.treatment.FLD_ID!;
      if (byField.has(f)) {
        expect(r.controlPoints).toBe(byField.get(f));
        shared++;
      } else byField.set(f, r.controlPoints);
    }
    expect(shared).toBeGreaterThan(0);
  });

  it('runs a bounded number of queries per batch, whatever its size, in one read transaction', () => {
    const counts: number[] = [];
    for (const n of [1, 50, 3000]) {
      const statements: string[] = [];
      const counting = openTreatmentReader(clinic.path, { onQuery: (sql) => statements.push(sql) });
      statements.length = 0;
      const { records } = counting.loadRecordsSync(clinic.records.slice(0, n).map((r) => r.treatment.TTX_ID));
      expect(records).toHaveLength(n);
      expect(statements[0]).toMatch(/^BEGIN/);
      expect(statements[statements.length - 1]).toMatch(/^COMMIT/);
      counts.push(statements.filter((s) => s.startsWith('SELECT')).length);
      expect(statements.length).toBe(counts[counts.length - 1]! + 2);
      counting.closeSync();
    }
    for (const q of counts) expect(q).toBeLessThanOrEqual(10);
    expect(counts[2]).toBeGreaterThanOrEqual(9);
  });

  it('joins dangling references to null and finds Dose_Hst rows by patient and field when DHS_ID is NULL', () => {
    const tmp2 = tempDir();
    try {
      const small = loadClinic(tmp2.path('c.sqlite'), { seed: 3, records: 400 });
      const db = new Database(small.path);
      const withDose = small.records.find((r) => r.doseHistory !== null && r.treatment.DHS_ID !== null)!;
      const orphan = small.records.find((r) => r.treatment.TTX_ID !== withDose.treatment.TTX_ID)!;
      db.prepare('UPDATE "TrackTreatment" SET "DHS_ID" = NULL WHERE "TTX_ID" = ?').run(
        withDose.treatment.TTX_ID,
      );
      db.prepare('UPDATE "TrackTreatment" SET "Pat_ID1" = 999999, "FLD_ID" = 888888 WHERE "TTX_ID" = ?').run(
        orphan.treatment.TTX_ID,
      );
      db.close();
      const r = openTreatmentReader(small.path);
      const [dose, dangling] = r.loadRecordsSync([
        withDose.treatment.TTX_ID,
        orphan.treatment.TTX_ID,
      ]).records;
      r.closeSync();
      // Matched by patient, field and time (nearest within 12 h): the same row as before.
      expect(dose!.treatment.DHS_ID).toBeNull();
      expect(dose!.doseHistory).toEqual(withDose.doseHistory);
      expect(dangling!.treatment.Pat_ID1).toBe(999999);
      expect(dangling!.patient).toBeNull();
      expect(dangling!.ident).toBeNull();
      expect(dangling!.field).toBeNull();
      expect(dangling!.controlPoints).toEqual([]);
      // The in-memory reference (assembleRecords over every row) agrees.
      const all = { ...small.rows };
      all.TrackTreatment = all.TrackTreatment.map((t) =>
        t.TTX_ID === withDose.treatment.TTX_ID
          ? { ...t, DHS_ID: null }
          : t.TTX_ID === orphan.treatment.TTX_ID
            ? { ...t, Pat_ID1: 999999, FLD_ID: 888888 }
            : t,
      );
      const expected = assembleRecords(all);
      const byId = new Map(expected.map((e) => [e.treatment.TTX_ID, e]));
      expect(dose).toEqual(byId.get(withDose.treatment.TTX_ID));
      expect(dangling).toEqual(byId.get(orphan.treatment.TTX_ID));
    } finally {
      tmp2.cleanup();
    }
  });

  it('names table, key and column of a bad stored value', () => {
    const tmp2 = tempDir();
    try {
      const small = loadClinic(tmp2.path('c.sqlite'), { seed: 3, records: 100 });
      const victim = small.records[5]!;
      const db = new Database(small.path);
      db.prepare('UPDATE "TxField" SET "Type_Enum" = 300 WHERE "FLD_ID" = ?').run(victim.field!.FLD_ID);
      db.close();
      const r = openTreatmentReader(small.path);
      expect(() => r.loadRecordsSync([victim.treatment.TTX_ID])).toThrow(
        `TxField[FLD_ID=${victim.field!.FLD_ID}].Type_Enum: expected an SQL tinyint (an INTEGER in [0, 255]), received 300`,
      );
      r.closeSync();
    } finally {
      tmp2.cleanup();
    }
  });

  it('names a leaf set that is not a BLOB (possible in a database without STRICT tables)', () => {
    const tmp2 = tempDir();
    try {
      const path = tmp2.path('loose.sqlite');
      const db = new Database(path);
      for (const table of TABLE_NAMES) db.exec(createTableSql(table).replace(/ STRICT$/, ''));
      db.exec(`INSERT INTO "TrackTreatment" ("TTX_ID", "FLD_ID") VALUES (1, 5)`);
      db.exec(
        `INSERT INTO "TxFieldPoint" ("TFP_ID", "FLD_ID", "A_Leaf_Set", "B_Leaf_Set") VALUES (7, 5, x'0102', 'abc')`,
      );
      db.close();
      const r = openTreatmentReader(path);
      expect(() => r.loadRecordsSync([1])).toThrow(
        'TxFieldPoint[TFP_ID=7].B_Leaf_Set: expected an SQL binary (a BLOB), received "not a BLOB: text"',
      );
      r.closeSync();
      const utf16 = tmp2.path('utf16.sqlite');
      const db16 = new Database(utf16);
      db16.pragma('encoding = "UTF-16le"');
      for (const table of TABLE_NAMES) db16.exec(createTableSql(table));
      db16.close();
      expect(() => openTreatmentReader(utf16)).toThrow(/the database encoding is UTF-16le, expected UTF-8/);
    } finally {
      tmp2.cleanup();
    }
  });

  it('rejects ids that are not integers, naming the index', () => {
    expect(() => reader.loadRecordsSync([1, 2.5])).toThrow(/ids\[1\]: expected a TTX_ID integer/);
    expect(() => reader.loadRecordsSync('1' as never)).toThrow(ValidationError);
  });

  it('feeds the 74-feature extraction', () => {
    const ids = clinic.records.slice(0, 200).map((r) => r.treatment.TTX_ID);
    const asOf = new Date('2030-01-01T00:00:00Z');
    const fromDb = extractQa74(reader.loadRecordsSync(ids).records, { asOf });
    const fromGenerator = extractQa74(clinic.records.slice(0, 200), { asOf });
    expect(fromDb.featureNames).toEqual(fromGenerator.featureNames);
    expect(fromDb.X.rows).toBe(200);
    expect(fromDb.X.cols).toBe(74);
    expect(Array.from(fromDb.X.data)).toEqual(Array.from(fromGenerator.X.data));
  });
});

describe('listTreatments', () => {
  const ordered = () =>
    [...clinic.records].sort(
      (a, b) =>
        a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime() ||
        a.treatment.TTX_ID - b.treatment.TTX_ID,
    );

  it('pages through a window in (Create_DtTm, TTX_ID) order without gaps or repeats', () => {
    const { items, pages } = listAll({ from, to, pageSize: 333 });
    expect(pages).toBe(Math.ceil(3000 / 333));
    expect(items).toEqual(ordered().map(summary));
  });

  it('gives a null cursor on the last page, also when the page is exactly full', async () => {
    const one = await reader.listTreatments({ from, to, pageSize: 3000 });
    expect(one.items).toHaveLength(3000);
    expect(one.nextCursor).toBeNull();
    const first = reader.listTreatmentsSync({ from, to, pageSize: 2999 });
    expect(first.nextCursor).not.toBeNull();
    const last = reader.listTreatmentsSync({ from, to, pageSize: 2999, cursor: first.nextCursor });
    expect(last.items).toHaveLength(1);
    expect(last.nextCursor).toBeNull();
  });

  it('windows on Create_DtTm, half-open [from, to)', () => {
    const all = ordered();
    const a = all[400]!.treatment.Create_DtTm!;
    const b = all[900]!.treatment.Create_DtTm!;
    const expected = all.filter((r) => r.treatment.Create_DtTm! >= a && r.treatment.Create_DtTm! < b);
    expect(listAll({ from: a, to: b, pageSize: 100 }).items).toEqual(expected.map(summary));
    expect(expected[0]!.treatment.Create_DtTm).toEqual(a);
    expect(expected.some((r) => r.treatment.Create_DtTm!.getTime() === b.getTime())).toBe(false);
  });

  it('filters by machine, patient, field, completion and QA mode', () => {
    const all = ordered();
    const machine = all[0]!.treatment.Machine_ID_Staff_ID!;
    const patients = [all[100]!.treatment.Pat_ID1!, all[2000]!.treatment.Pat_ID1!];
    const field = all[1500]!.treatment.FLD_ID!;
    const cases: [Parameters<typeof listAll>[0], (r: TreatmentRecord) => boolean][] = [
      [{ from, to, machineIds: [machine] }, (r) => r.treatment.Machine_ID_Staff_ID === machine],
      [{ from, to, patientIds: patients }, (r) => patients.includes(r.treatment.Pat_ID1!)],
      [{ from, to, fieldIds: [field] }, (r) => r.treatment.FLD_ID === field],
      [{ from, to, completedOnly: true }, (r) => r.treatment.WasBeamComplete === true],
      [{ from, to, qaMode: 'only' }, (r) => r.treatment.WasQAMode === true],
      [{ from, to, qaMode: 'exclude' }, (r) => r.treatment.WasQAMode !== true],
      [
        { from, to, machineIds: [machine], completedOnly: true, qaMode: 'exclude', pageSize: 50 },
        (r) =>
          r.treatment.Machine_ID_Staff_ID === machine &&
          r.treatment.WasBeamComplete === true &&
          r.treatment.WasQAMode !== true,
      ],
    ];
    for (const [query, keep] of cases) {
      const expected = all.filter(keep).map(summary);
      expect(expected.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(listAll({ pageSize: 400, ...query }).items, JSON.stringify(query)).toEqual(expected);
    }
  });

  it('names a bad query field and a bad cursor', () => {
    expect(() => reader.listTreatmentsSync({ from: to, to: from })).toThrow(/query\.to/);
    expect(() => reader.listTreatmentsSync({ from, to, pageSize: 0 })).toThrow(/query\.pageSize/);
    expect(() => reader.listTreatmentsSync({ from, to, cursor: 'nope!' })).toThrow(/query\.cursor/);
  });
});

describe('a reader', () => {
  it('cannot write: the file is opened read-only and stays byte-identical', () => {
    const before = fileFingerprint(clinic.path);
    const r = openTreatmentReader(clinic.path);
    r.loadRecordsSync([clinic.records[0]!.treatment.TTX_ID]);
    expect(() =>
      (r as unknown as { db: Database.Database }).db.prepare('DELETE FROM "TrackTreatment"').run(),
    ).toThrow(/readonly/);
    r.closeSync();
    expect(fileFingerprint(clinic.path)).toEqual(before);
  });

  it('reports the highest key of every table', () => {
    const keys = reader.maxKeys();
    for (const t of TABLE_NAMES) {
      const pk = MOSAIQ_TABLES[t].primaryKey;
      const rows = clinic.rows[t] as unknown as Record<string, number>[];
      expect(keys[t], t).toBe(rows.length ? Math.max(...rows.map((r) => r[pk]!)) : null);
    }
  });

  it('counts rows and refuses files that are not Mosaiq databases', () => {
    expect(reader.tableCounts()).toEqual(
      Object.fromEntries(TABLE_NAMES.map((t) => [t, clinic.rows[t].length])) as Record<string, number>,
    );
    const plain = plainDatabase(tmp.path('plain.sqlite'));
    const text = tmp.path('text.sqlite');
    writeFileSync(text, 'not a database at all, just some text that is long enough to have a header');
    expect(() => openTreatmentReader(text)).toThrow(/path: expected an SQLite database file/);
    expect(() => openTreatmentReader(plain)).toThrow(
      /plain\.sqlite: not a Mosaiq database.*table TrackTreatment is missing/,
    );
    expect(() => openTreatmentReader(tmp.path('absent.sqlite'))).toThrow(
      /path: expected an existing SQLite database file/,
    );
  });
});
