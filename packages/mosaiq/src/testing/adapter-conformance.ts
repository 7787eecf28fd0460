import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { ValidationError } from '@anomalia/core';
import {
  type ChangedTreatment,
  decodeWatermark,
  NotASandboxError,
  type SandboxWriter,
  type TreatmentQueryInput,
  type TreatmentReader,
  type TreatmentSummary,
} from '../adapters';
import { applyChanges, type Change, ChangeConflictError, changeToJson, type UpdateChange } from '../changes';
import { assembleRecords, type TreatmentRecord } from '../record';
import { generateClinic } from '../synthetic/clinic';
import { emptyTableRows, MOSAIQ_TABLES, TABLE_NAMES, type TableName, type TableRows } from '../tables';
import type { AdapterDatabase, AdapterHarness } from './harness';

export interface AdapterConformanceOptions {
  harness: AdapterHarness;
  /** Seed of the synthetic clinic the checks run on. */
  seed?: number;
  /** TrackTreatment rows of that clinic (default 300: enough for every filter to select rows). */
  records?: number;
}

export interface AdapterCheck {
  name: string;
  run: () => Promise<void>;
}

export interface AdapterConformance {
  /** Run each inside a test: `for (const c of kit.checks) it(c.name, c.run)`. Failures throw. */
  checks: AdapterCheck[];
  /** Removes the databases the checks created (call once, after all checks). */
  dispose: () => Promise<void>;
}

/** Statements that write or change a schema (what a refused writer must never have sent). */
const WRITING = /\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|BEGIN\s+TRAN|BEGIN\s+IMMEDIATE)\b/i;

const FROM = new Date('2000-01-01T00:00:00Z');
const TO = new Date('2100-01-01T00:00:00Z');

function summaryOf(t: TableRows['TrackTreatment'][number]): TreatmentSummary {
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

/** The path of the first difference between two values, for readable failures. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (
    a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    !(a instanceof Date) &&
    !(a instanceof Uint8Array)
  ) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
      if (d !== null) return d;
    }
    return `${path} (prototype or length)`;
  }
  const show = (v: unknown) =>
    v instanceof Date
      ? v.toISOString()
      : v instanceof Uint8Array
        ? `${v.constructor.name} of ${v.length} bytes ${Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex').slice(0, 40)}`
        : JSON.stringify(v);
  return `${path}: got ${show(a)}, expected ${show(b)}`;
}

function assertSame(actual: unknown, expected: unknown, what: string): void {
  const d = firstDifference(actual, expected);
  if (d !== null) assert.fail(`${what} differ at ${d}`);
}

async function rejects(promise: Promise<unknown>, check: (error: unknown) => boolean, what: string) {
  try {
    await promise;
  } catch (error) {
    if (check(error)) return error;
    throw error;
  }
  assert.fail(`${what}: expected an error, none was thrown`);
}

const isValidation = (field: RegExp) => (e: unknown) => e instanceof ValidationError && field.test(e.message);

/**
 * The contract tests of `TreatmentReader` (with its change cursor) and `SandboxWriter`, the same
 * for every adapter: db-sqlite runs them on files, db-mssql on its TDS test server and, live, on
 * SQL Server. Each check creates the databases it needs through the harness from one synthetic
 * clinic, and compares what the adapter returns with `assembleRecords` over the stored rows.
 */
export function adapterConformance(options: AdapterConformanceOptions): AdapterConformance {
  const { harness } = options;
  const created: AdapterDatabase[] = [];
  let clinic: { rows: TableRows; stored: TableRows; records: TreatmentRecord[] } | null = null;

  const data = () => {
    if (clinic) return clinic;
    const rows = emptyTableRows();
    for (const batch of generateClinic({ seed: options.seed ?? 7, records: options.records ?? 300 })) {
      for (const t of TABLE_NAMES) (rows[t] as unknown[]).push(...batch.rows[t]);
    }
    const stored = harness.asStored(rows);
    clinic = { rows, stored, records: assembleRecords(stored) };
    return clinic;
  };

  let source: Promise<AdapterDatabase> | null = null;
  /** The clinic in a database that is not a sandbox, shared by the read-only checks. */
  const sourceDb = () => {
    source ??= harness.createDatabase(data().rows, { sandbox: false }).then((db) => {
      created.push(db);
      return db;
    });
    return source;
  };
  /** A fresh sandbox holding the clinic, for checks that write. */
  const sandboxDb = async () => {
    const db = await harness.createDatabase(data().rows, { sandbox: true });
    created.push(db);
    return db;
  };

  const withReader = async <T>(db: AdapterDatabase, f: (r: TreatmentReader) => Promise<T>): Promise<T> => {
    const reader = await db.openReader();
    try {
      return await f(reader);
    } finally {
      await reader.close();
    }
  };
  const withWriter = async <T>(db: AdapterDatabase, f: (w: SandboxWriter) => Promise<T>): Promise<T> => {
    const writer = await db.openWriter();
    try {
      return await f(writer);
    } finally {
      await writer.close();
    }
  };

  const listAll = async (reader: TreatmentReader, query: TreatmentQueryInput) => {
    const items: TreatmentSummary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await reader.listTreatments({ ...query, cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      assert.ok(pages < 100_000, 'listTreatments never returned a null cursor');
    } while (cursor !== null);
    return { items, pages };
  };

  const ordered = () =>
    [...data().stored.TrackTreatment].sort(
      (a, b) => a.Create_DtTm!.getTime() - b.Create_DtTm!.getTime() || a.TTX_ID - b.TTX_ID,
    );

  /** Changes of every kind and every SQL type the clinic has, with values any adapter stores exactly. */
  const sampleChanges = (stored: TableRows): Change[] => {
    const tt = stored.TrackTreatment.find((t) => t.FLD_ID !== null && t.WasBeamComplete !== null)!;
    const field = stored.TxField.find((f) => f.FLD_ID === tt.FLD_ID)!;
    const point = stored.TxFieldPoint.find((p) => p.FLD_ID === field.FLD_ID && p.A_Leaf_Set !== null)!;
    const staff = stored.Staff.find((s) => typeof s.Last_Name === 'string')!;
    const patient = stored.Patient.find((p) => p.Pat_ID1 === tt.Pat_ID1) ?? stored.Patient[0]!;
    const offset = stored.Offset[0]!;
    const dose =
      stored.Dose_Hst.find((d) => !stored.TrackTreatment.some((t) => t.DHS_ID === d.DHS_ID)) ??
      stored.Dose_Hst[0]!;
    const maxKey = (t: TableName) =>
      Math.max(
        ...(stored[t] as unknown as Record<string, number>[]).map((r) => r[MOSAIQ_TABLES[t].primaryKey]!),
      );
    const leaves = new Uint8Array(point.A_Leaf_Set!);
    leaves[0] = (leaves[0]! + 7) & 0xff;
    const lastName = staff.Last_Name!;
    const newName = 'TAMPERED'.padEnd(lastName.length, ' ').slice(0, Math.max(lastName.length, 1));
    const upd = (
      table: TableName,
      key: number,
      column: string,
      oldValue: unknown,
      newValue: unknown,
    ): UpdateChange => ({ kind: 'update', table, key, column, oldValue, newValue }) as UpdateChange;
    const newTt = {
      ...tt,
      TTX_ID: maxKey('TrackTreatment') + 1,
      Create_DtTm: new Date(Date.UTC(2031, 0, 2, 8, 0, 5)),
    };
    const newPoint = { ...point, TFP_ID: maxKey('TxFieldPoint') + 1, Point: 999 };
    return [
      upd('TrackTreatment', tt.TTX_ID, 'WasBeamComplete', tt.WasBeamComplete, !tt.WasBeamComplete),
      upd('TrackTreatment', tt.TTX_ID, 'Edit_DtTm', tt.Edit_DtTm, new Date(Date.UTC(2030, 5, 1, 12, 30, 15))),
      upd('TxField', field.FLD_ID, 'Meterset', field.Meterset, -100.5),
      upd('TxField', field.FLD_ID, 'Field_Name', field.Field_Name, 'TAMPERED'),
      upd('TxField', field.FLD_ID, 'Type_Enum', field.Type_Enum, 13),
      upd('TxField', field.FLD_ID, 'ControlPoints', field.ControlPoints, 32000),
      upd('TxFieldPoint', point.TFP_ID, 'A_Leaf_Set', point.A_Leaf_Set, leaves),
      upd('TxFieldPoint', point.TFP_ID, 'Gantry_Ang', point.Gantry_Ang, 400.5),
      upd('TxFieldPoint', point.TFP_ID, 'Coll_Ang', point.Coll_Ang, null),
      upd('Staff', staff.Staff_ID, 'Last_Name', lastName, newName),
      upd('Staff', staff.Staff_ID, 'Status_inactive', staff.Status_inactive, !staff.Status_inactive),
      upd(
        'Patient',
        patient.Pat_ID1,
        'Birth_DtTm',
        patient.Birth_DtTm,
        new Date(Date.UTC(1901, 1, 3, 4, 5, 6)),
      ),
      upd('Offset', offset.OFF_ID, 'Superior_Offset', offset.Superior_Offset, 12.5),
      { kind: 'insert', table: 'TrackTreatment', key: newTt.TTX_ID, row: newTt },
      { kind: 'insert', table: 'TxFieldPoint', key: newPoint.TFP_ID, row: newPoint },
      { kind: 'delete', table: 'Dose_Hst', key: dose.DHS_ID, row: dose },
      { kind: 'delete', table: 'Offset', key: stored.Offset[1]!.OFF_ID, row: stored.Offset[1]! },
    ];
  };

  const checks: AdapterCheck[] = [
    {
      name: 'listTreatments pages a window in (Create_DtTm, TTX_ID) order without gaps or repeats',
      run: async () => {
        const db = await sourceDb();
        await withReader(db, async (reader) => {
          const expected = ordered().map(summaryOf);
          const { items, pages } = await listAll(reader, { from: FROM, to: TO, pageSize: 37 });
          assert.equal(pages, Math.ceil(expected.length / 37), 'pages of 37 rows');
          assertSame(items, expected, 'listed treatments');
          const one = await reader.listTreatments({ from: FROM, to: TO, pageSize: expected.length });
          assert.equal(one.items.length, expected.length);
          assert.equal(one.nextCursor, null, 'a page holding exactly the last row has a null cursor');
          const first = await reader.listTreatments({ from: FROM, to: TO, pageSize: expected.length - 1 });
          assert.notEqual(first.nextCursor, null);
          const last = await reader.listTreatments({
            from: FROM,
            to: TO,
            pageSize: expected.length - 1,
            cursor: first.nextCursor,
          });
          assertSame(last.items, expected.slice(-1), 'the last page');
          assert.equal(last.nextCursor, null);
        });
      },
    },
    {
      name: 'listTreatments windows on Create_DtTm half-open [from, to) and filters by machine, patient, field, completion and QA mode',
      run: async () => {
        const db = await sourceDb();
        const all = ordered();
        await withReader(db, async (reader) => {
          const a = all[Math.floor(all.length / 5)]!.Create_DtTm!;
          const b = all[Math.floor(all.length / 2)]!.Create_DtTm!;
          const window = all.filter((t) => t.Create_DtTm! >= a && t.Create_DtTm! < b).map(summaryOf);
          assert.ok(window.length > 0 && window[0]!.Create_DtTm!.getTime() === a.getTime());
          assertSame((await listAll(reader, { from: a, to: b, pageSize: 13 })).items, window, 'a window');
          // A machine that delivered a complete, non-QA beam (so the combined filter selects rows).
          const machine = all.filter((t) => t.WasBeamComplete === true && t.WasQAMode !== true).at(-1)!
            .Machine_ID_Staff_ID!;
          const patients = [all[3]!.Pat_ID1!, all[all.length - 2]!.Pat_ID1!];
          const fields = [all[Math.floor(all.length / 3)]!.FLD_ID!];
          const cases: [TreatmentQueryInput, (t: (typeof all)[number]) => boolean][] = [
            [{ from: FROM, to: TO, machineIds: [machine] }, (t) => t.Machine_ID_Staff_ID === machine],
            [{ from: FROM, to: TO, patientIds: patients }, (t) => patients.includes(t.Pat_ID1!)],
            [{ from: FROM, to: TO, fieldIds: fields }, (t) => fields.includes(t.FLD_ID!)],
            [{ from: FROM, to: TO, completedOnly: true }, (t) => t.WasBeamComplete === true],
            [{ from: FROM, to: TO, qaMode: 'only' }, (t) => t.WasQAMode === true],
            [{ from: FROM, to: TO, qaMode: 'exclude' }, (t) => t.WasQAMode !== true],
            [
              { from: a, to: TO, machineIds: [machine], completedOnly: true, qaMode: 'exclude', pageSize: 7 },
              (t) =>
                t.Create_DtTm! >= a &&
                t.Machine_ID_Staff_ID === machine &&
                t.WasBeamComplete === true &&
                t.WasQAMode !== true,
            ],
          ];
          for (const [query, keep] of cases) {
            const expected = all.filter(keep).map(summaryOf);
            assert.ok(expected.length > 0, `the clinic has rows for ${JSON.stringify(query)}`);
            assertSame(
              (await listAll(reader, { pageSize: 50, ...query })).items,
              expected,
              JSON.stringify(query),
            );
          }
        });
      },
    },
    {
      name: 'listTreatments names a bad query field and a bad cursor',
      run: async () => {
        const db = await sourceDb();
        await withReader(db, async (reader) => {
          await rejects(
            reader.listTreatments({ from: TO, to: FROM }),
            isValidation(/^query\.to/),
            'from after to',
          );
          await rejects(
            reader.listTreatments({ from: FROM, to: TO, pageSize: 0 }),
            isValidation(/^query\.pageSize/),
            'pageSize 0',
          );
          await rejects(
            reader.listTreatments({ from: FROM, to: TO, cursor: 'nope!' }),
            isValidation(/^query\.cursor/),
            'a bad cursor',
          );
        });
      },
    },
    {
      name: 'loadRecords gives the records of the stored rows, in the order asked, with the ids not found',
      run: async () => {
        const db = await sourceDb();
        const { stored, records } = data();
        await withReader(db, async (reader) => {
          const ids = stored.TrackTreatment.map((t) => t.TTX_ID);
          const all = await reader.loadRecords(ids);
          assert.deepEqual(all.missingIds, []);
          assertSame(all.records, records, 'records');
          const sample = [ids[10]!, 987_654_321, ids[3]!, ids[10]!];
          const some = await reader.loadRecords(sample);
          assert.deepEqual(
            some.records.map((r) => r.treatment.TTX_ID),
            [ids[10], ids[3], ids[10]],
          );
          assert.deepEqual(some.missingIds, [987_654_321]);
          assertSame(some.records[1], records[3], 'a record loaded with others');
          assertSame(await reader.loadRecords([]), { records: [], missingIds: [] }, 'no ids');
          await rejects(reader.loadRecords([1, 2.5]), isValidation(/^ids\[1\]/), 'a fractional id');
        });
      },
    },
    {
      name: 'loadRecords is set-wise: a bounded number of statements whatever the batch size, control points shared per field',
      run: async () => {
        const db = await sourceDb();
        const ids = data().stored.TrackTreatment.map((t) => t.TTX_ID);
        await withReader(db, async (reader) => {
          for (const n of [1, 50, ids.length]) {
            const before = db.statements().length;
            const { records } = await reader.loadRecords(ids.slice(0, n));
            const sent = db.statements().length - before;
            assert.equal(records.length, n);
            assert.ok(sent >= 1, 'the harness must report the statements a reader sends');
            assert.ok(
              sent <= harness.maxStatementsPerLoad(n),
              `${sent} statements for ${n} ids (at most ${harness.maxStatementsPerLoad(n)})`,
            );
          }
          const { records } = await reader.loadRecords(ids);
          const byField = new Map<number, readonly unknown[]>();
          let shared = 0;
          for (const r of records) {
            const f = r.treatment.FLD_ID;
            if (f === null || r.field === null) continue;
            const seen = byField.get(f);
            if (seen) {
              assert.equal(r.controlPoints, seen, `records of field ${f} share one control-point array`);
              shared++;
            } else byField.set(f, r.controlPoints);
          }
          assert.ok(shared > 0);
        });
      },
    },
    {
      name: 'a writer refuses a database that is not a sandbox before sending anything that writes',
      run: async () => {
        const db = await sourceDb();
        const before = await db.checksum();
        const sent = db.statements().length;
        await rejects(
          db.openWriter(),
          (e) => e instanceof NotASandboxError,
          'opening a writer on a non-sandbox',
        );
        const writes = db
          .statements()
          .slice(sent)
          .filter((s) => WRITING.test(s));
        assert.deepEqual(writes, [], 'statements that write, sent to a database that is not a sandbox');
        assert.equal(await db.checksum(), before);
      },
    },
    {
      name: 'apply writes every kind of change in one run with its typed ledger, and restore is exact (same checksum)',
      run: async () => {
        const db = await sandboxDb();
        const { stored, records } = data();
        const changes = sampleChanges(stored);
        const before = await db.checksum();
        await withWriter(db, async (writer) => {
          assert.deepEqual(await writer.listRuns(), []);
          const meta = { label: 'kit: every kind', mode: 'kit', variant: 'all', seed: 3, params: { n: 1 } };
          const run = await writer.apply(changes, meta);
          assert.equal(run.status, 'applied');
          assert.equal(run.changeCount, changes.length);
          assert.deepEqual(run.meta, meta);
          assert.equal(run.restoredAt, null);
          const ledger = await writer.ledger(run.runId);
          assert.deepEqual(
            ledger.map((l) => [l.runId, l.seq]),
            changes.map((_, i) => [run.runId, i]),
          );
          assertSame(
            ledger.map((l) => changeToJson(l.change)),
            changes.map(changeToJson),
            'ledger lines (typed old and new values)',
          );
          assert.notEqual(await db.checksum(), before);
          const corrupted = applyChanges(stored, changes);
          await withReader(db, async (reader) => {
            const ids = corrupted.TrackTreatment.map((t) => t.TTX_ID);
            assertSame(
              (await reader.loadRecords(ids)).records,
              assembleRecords(corrupted),
              'records after the run',
            );
          });
          const restored = await writer.restore(run.runId);
          assert.equal(restored.status, 'restored');
          assert.ok(restored.restoredAt instanceof Date);
          assert.equal(await db.checksum(), before, 'checksum after restore');
          await withReader(db, async (reader) => {
            const ids = stored.TrackTreatment.map((t) => t.TTX_ID);
            assertSame((await reader.loadRecords(ids)).records, records, 'records after the restore');
          });
          await rejects(writer.restore(run.runId), isValidation(/^runId/), 'restoring twice');
          await rejects(writer.restore('run-404'), isValidation(/^runId/), 'an unknown run');
          const runs = await writer.listRuns();
          assert.deepEqual(
            runs.map((r) => [r.runId, r.status]),
            [[run.runId, 'restored']],
          );
        });
      },
    },
    {
      name: 'a conflicting or invalid change anywhere in a run leaves nothing: no row changed, no run, no ledger line',
      run: async () => {
        const db = await sandboxDb();
        const changes = sampleChanges(data().stored);
        const before = await db.checksum();
        await withWriter(db, async (writer) => {
          const stale = { ...(changes[2] as UpdateChange), oldValue: 123_456 };
          const conflict = [changes[0]!, changes[1]!, changes[13]!, stale];
          const error = await rejects(
            writer.apply(conflict, { label: 'kit: conflict' }),
            (e) => e instanceof ChangeConflictError,
            'a stale old value',
          );
          assert.equal((error as ChangeConflictError).index, 3);
          const existing = data().stored.TrackTreatment[0]!;
          const dup: Change[] = [
            changes[0]!,
            { kind: 'insert', table: 'TrackTreatment', key: existing.TTX_ID, row: { ...existing } },
          ];
          await rejects(
            writer.apply(dup, { label: 'kit: existing key' }),
            (e) => e instanceof ChangeConflictError && (e as ChangeConflictError).index === 1,
            'an insert over an existing key',
          );
          const invalid = [changes[0]!, { ...(changes[4] as UpdateChange), newValue: 300 }];
          await rejects(
            writer.apply(invalid, { label: 'kit: invalid' }),
            (e) => e instanceof ValidationError,
            'a tinyint of 300',
          );
          await rejects(writer.apply([], { label: 'none' }), isValidation(/^changes/), 'no changes');
          await rejects(
            writer.apply([changes[0]!], { label: '' }),
            isValidation(/^meta\.label/),
            'an empty label',
          );
          assert.deepEqual(await writer.listRuns(), []);
        });
        assert.equal(await db.checksum(), before);
      },
    },
    {
      name: 'a failure inside the database after part of a run was written rolls the whole run back',
      run: async () => {
        const db = await sandboxDb();
        if (!db.failWhenWriting) return; // the harness cannot inject one (documented by its adapter)
        const changes = sampleChanges(data().stored);
        const before = await db.checksum();
        const last = changes[12] as UpdateChange;
        const disarm = await db.failWhenWriting(last);
        try {
          await withWriter(db, async (writer) => {
            await rejects(
              writer.apply(changes, { label: 'kit: failure midway' }),
              () => true,
              'an injected failure',
            );
            assert.deepEqual(await writer.listRuns(), []);
          });
        } finally {
          await disarm();
        }
        assert.equal(await db.checksum(), before);
        await withWriter(db, async (writer) => {
          const run = await writer.apply(changes, { label: 'kit: after the failure' });
          await writer.restore(run.runId);
        });
        assert.equal(await db.checksum(), before);
      },
    },
    {
      name: 'restore refuses to undo a run whose cells a later run changed, until the later run is restored',
      run: async () => {
        const db = await sandboxDb();
        const first = sampleChanges(data().stored)[2] as UpdateChange;
        const before = await db.checksum();
        await withWriter(db, async (writer) => {
          const a = await writer.apply([first], { label: 'kit: first' });
          const b = await writer.apply([{ ...first, oldValue: first.newValue, newValue: 77.25 }], {
            label: 'kit: second',
          });
          await rejects(
            writer.restore(a.runId),
            (e) => e instanceof ChangeConflictError,
            'restoring under a later run',
          );
          assert.deepEqual(
            (await writer.listRuns()).map((r) => r.status),
            ['applied', 'applied'],
          );
          await writer.restore(b.runId);
          await writer.restore(a.runId);
        });
        assert.equal(await db.checksum(), before);
      },
    },
    {
      name: 'changesSince pages through every TrackTreatment row once, in version order, and ends at the safe point',
      run: async () => {
        const db = await sourceDb();
        const expected = new Map(data().stored.TrackTreatment.map((t) => [t.TTX_ID, summaryOf(t)]));
        await withReader(db, async (reader) => {
          const seen: ChangedTreatment[] = [];
          let watermark: string | null = null;
          let calls = 0;
          for (;;) {
            const page = await reader.changesSince(watermark, { limit: 64 });
            assert.equal(page.since, watermark);
            assert.ok(page.items.length <= 64);
            if (watermark !== null) assert.ok(decodeWatermark(page.watermark) >= decodeWatermark(watermark));
            seen.push(...page.items);
            watermark = page.watermark;
            calls++;
            if (!page.hasMore) break;
            assert.equal(page.items.length, 64, 'a page with more waiting is full');
          }
          assert.equal(calls, Math.ceil(expected.size / 64), 'a full last page already says hasMore: false');
          const versions = seen.map((s) => decodeWatermark(s.version));
          for (let i = 1; i < versions.length; i++)
            assert.ok(versions[i]! > versions[i - 1]!, 'versions increase');
          assert.equal(seen.length, expected.size);
          for (const s of seen) {
            const { version: _, ...summary } = s;
            assertSame(summary, expected.get(s.TTX_ID), `TTX_ID ${s.TTX_ID}`);
          }
          assert.ok(decodeWatermark(watermark!) >= versions[versions.length - 1]!);
          assert.equal(watermark, await reader.currentWatermark());
          const again = await reader.changesSince(watermark);
          assert.deepEqual([again.items, again.hasMore, again.watermark], [[], false, watermark]);
          await rejects(reader.changesSince('garbage'), isValidation(/^watermark/), 'a bad watermark');
          await rejects(reader.changesSince(null, { limit: 0 }), isValidation(/^options\.limit/), 'limit 0');
        });
      },
    },
    {
      name: 'changesSince returns the TrackTreatment rows a run inserted or updated, with new versions, and only those',
      run: async () => {
        const db = await sandboxDb();
        const changes = sampleChanges(data().stored);
        await withReader(db, async (reader) => {
          const w0 = await reader.currentWatermark();
          assert.deepEqual((await reader.changesSince(w0)).items, []);
          const runId = await withWriter(
            db,
            async (writer) => (await writer.apply(changes, { label: 'kit' })).runId,
          );
          const after = applyChanges(data().stored, changes);
          const page = await reader.changesSince(w0);
          assert.equal(page.hasMore, false);
          const touched = [changes[0]!.key, changes[13]!.key];
          assert.deepEqual(
            page.items.map((i) => i.TTX_ID),
            touched,
            'the updated row, then the inserted one; no other table',
          );
          for (const item of page.items) {
            const { version, ...summary } = item;
            assert.ok(decodeWatermark(version) > decodeWatermark(w0));
            assertSame(
              summary,
              summaryOf(after.TrackTreatment.find((t) => t.TTX_ID === item.TTX_ID)!),
              'summary',
            );
          }
          const w1 = page.watermark;
          assert.ok(decodeWatermark(w1) >= decodeWatermark(page.items[1]!.version));
          await withWriter(db, (writer) => writer.restore(runId));
          const undone = await reader.changesSince(w1);
          assert.deepEqual(
            undone.items.map((i) => i.TTX_ID),
            [changes[0]!.key],
            'a restore is a write too; the deleted insert is not reported',
          );
          assertSame(
            (({ version: _, ...s }) => s)(undone.items[0]!),
            summaryOf(data().stored.TrackTreatment.find((t) => t.TTX_ID === changes[0]!.key)!),
            'restored summary',
          );
        });
      },
    },
    {
      name: 'a keyset page does not shift when rows are inserted before it between calls',
      run: async () => {
        const db = await sandboxDb();
        const all = ordered();
        await withReader(db, async (reader) => {
          const first = await reader.listTreatments({ from: FROM, to: TO, pageSize: 50 });
          const early = { ...all[0]!, TTX_ID: Math.max(...all.map((t) => t.TTX_ID)) + 10 };
          await withWriter(db, (writer) =>
            writer.apply([{ kind: 'insert', table: 'TrackTreatment', key: early.TTX_ID, row: early }], {
              label: 'kit: an early row',
            }),
          );
          const second = await reader.listTreatments({
            from: FROM,
            to: TO,
            pageSize: 50,
            cursor: first.nextCursor,
          });
          assertSame(second.items, all.slice(50, 100).map(summaryOf), 'the second page');
        });
      },
    },
  ];

  return {
    checks,
    dispose: async () => {
      for (const db of created.splice(0)) await db.dispose();
    },
  };
}
