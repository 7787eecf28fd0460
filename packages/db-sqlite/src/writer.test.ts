import { ValidationError } from '@anomalia/core';
import {
  applyChanges,
  assembleRecords,
  type Change,
  ChangeConflictError,
  LEDGER_TABLE,
  NotASandboxError,
  RUN_TABLE,
  SANDBOX_MARKER_TABLE,
  type TableRows,
} from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum, tableChecksums } from './checksum';
import { openTreatmentReader } from './reader';
import { cloneAsSandbox } from './sandbox';
import { expectSameRecords } from './test-support/records';
import { type Clinic, fileFingerprint, loadClinic, tempDir, withoutNegativeZero } from './testing/fixtures';
import { openSandboxWriter, type SqliteSandboxWriter } from './writer';

const tmp = tempDir();
let clinic: Clinic;
let sandboxes = 0;

beforeAll(() => {
  clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 21, records: 600 });
  clinic.rows = withoutNegativeZero(clinic.rows);
});
afterAll(() => tmp.cleanup());

/** A fresh sandbox copy of the clinic and a writer on it. */
function sandbox(): { path: string; writer: SqliteSandboxWriter } {
  const path = tmp.path(`sandbox-${++sandboxes}.sqlite`);
  cloneAsSandbox(clinic.path, path);
  return { path, writer: openSandboxWriter(path) };
}

/** Everything the sandbox holds, as records in TTX_ID order. */
function readAll(path: string) {
  const reader = openTreatmentReader(path);
  const db = new Database(path, { readonly: true });
  const ids = db.prepare('SELECT "TTX_ID" FROM "TrackTreatment" ORDER BY "TTX_ID"').pluck().all() as number[];
  db.close();
  const { records } = reader.loadRecordsSync(ids);
  reader.closeSync();
  return records;
}

/** The in-memory reference: the same changes applied by `applyChanges`, records in TTX_ID order. */
function expectedAfter(rows: TableRows, changes: readonly Change[]) {
  const applied = applyChanges(rows, changes);
  applied.TrackTreatment = [...applied.TrackTreatment].sort((a, b) => a.TTX_ID - b.TTX_ID);
  return assembleRecords(applied);
}

/** Updates of every SQL type (NULLs and blobs included), inserts and deletes, on real rows. */
function representativeChanges(rows: TableRows): Change[] {
  const multi = new Set(rows.TxFieldPoint.filter((p) => p.Point === 1).map((p) => p.FLD_ID));
  const tt = rows.TrackTreatment.find(
    (t) => t.DHS_ID !== null && t.Resolved_DtTm === null && multi.has(t.FLD_ID!),
  )!;
  const field = rows.TxField.find((f) => f.FLD_ID === tt.FLD_ID)!;
  const points = rows.TxFieldPoint.filter((p) => p.FLD_ID === field.FLD_ID);
  const point = points[0]!;
  const site = rows.Site.find((s) => s.SIT_ID === tt.SIT_ID)!;
  const patient = rows.Patient.find((p) => p.Pat_ID1 === tt.Pat_ID1)!;
  const staff = rows.Staff[0]!;
  const offset = rows.Offset[0]!;
  const lastPoint = rows.TxFieldPoint.reduce((m, p) => Math.max(m, p.TFP_ID), 0);
  const lastTtx = rows.TrackTreatment.reduce((m, t) => Math.max(m, t.TTX_ID), 0);
  const { DHS_ID: _dose, ...withoutDose } = tt;
  const odd = new Uint8Array(201);
  odd.set(point.A_Leaf_Set!);
  return [
    // int, int → NULL, bit, bit → NULL, datetime (ms), NULL → datetime
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'Pat_ID1',
      oldValue: tt.Pat_ID1,
      newValue: 999_999,
    },
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'SIT_ID',
      oldValue: tt.SIT_ID,
      newValue: null,
    },
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'WasQAMode',
      oldValue: tt.WasQAMode,
      newValue: !tt.WasQAMode,
    },
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'WasRecorded',
      oldValue: tt.WasRecorded,
      newValue: null,
    },
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'Edit_DtTm',
      oldValue: tt.Edit_DtTm,
      newValue: new Date(tt.Create_DtTm!.getTime() - 7_200_123),
    },
    {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'Resolved_DtTm',
      oldValue: null,
      newValue: new Date('2031-02-03T04:05:06.789Z'),
    },
    // decimal, smallint, tinyint
    {
      kind: 'update',
      table: 'TxField',
      key: field.FLD_ID,
      column: 'Meterset',
      oldValue: field.Meterset,
      newValue: -100.25,
    },
    {
      kind: 'update',
      table: 'TxField',
      key: field.FLD_ID,
      column: 'ControlPoints',
      oldValue: field.ControlPoints,
      newValue: -32768,
    },
    {
      kind: 'update',
      table: 'TxField',
      key: field.FLD_ID,
      column: 'Type_Enum',
      oldValue: field.Type_Enum,
      newValue: 255,
    },
    {
      kind: 'update',
      table: 'TxFieldPoint',
      key: point.TFP_ID,
      column: 'Gantry_Ang',
      oldValue: point.Gantry_Ang,
      newValue: 400.123456789,
    },
    // binary: odd length, empty, NULL
    {
      kind: 'update',
      table: 'TxFieldPoint',
      key: point.TFP_ID,
      column: 'A_Leaf_Set',
      oldValue: point.A_Leaf_Set,
      newValue: odd,
    },
    {
      kind: 'update',
      table: 'TxFieldPoint',
      key: point.TFP_ID,
      column: 'B_Leaf_Set',
      oldValue: point.B_Leaf_Set,
      newValue: new Uint8Array(0),
    },
    {
      kind: 'update',
      table: 'TxFieldPoint',
      key: point.TFP_ID,
      column: 'B_Leaf_Set',
      oldValue: new Uint8Array(0),
      newValue: null,
    },
    // varchar, varchar → NULL, char
    {
      kind: 'update',
      table: 'Site',
      key: site.SIT_ID,
      column: 'Site_Name',
      oldValue: site.Site_Name,
      newValue: 'LEFT LUNG ✓',
    },
    {
      kind: 'update',
      table: 'Patient',
      key: patient.Pat_ID1,
      column: 'Last_Name',
      oldValue: patient.Last_Name,
      newValue: null,
    },
    {
      kind: 'update',
      table: 'Staff',
      key: staff.Staff_ID,
      column: 'Last_Name',
      oldValue: staff.Last_Name,
      newValue: 'LA9       ',
    },
    // an int column of Offset, then its row deleted (with the changed value)
    {
      kind: 'update',
      table: 'Offset',
      key: offset.OFF_ID,
      column: 'Offset_State',
      oldValue: offset.Offset_State,
      newValue: 99,
    },
    { kind: 'delete', table: 'Offset', key: offset.OFF_ID, row: { ...offset, Offset_State: 99 } },
    // a duplicated treatment (a partial row: the rest is NULL) and a new control point with blobs
    {
      kind: 'insert',
      table: 'TrackTreatment',
      key: lastTtx + 1,
      row: { ...withoutDose, TTX_ID: lastTtx + 1, Create_DtTm: new Date(tt.Create_DtTm!.getTime() + 5000) },
    },
    {
      kind: 'insert',
      table: 'TxFieldPoint',
      key: lastPoint + 1,
      row: { ...points[points.length - 1]!, TFP_ID: lastPoint + 1, Point: 999 },
    },
    // a control point deleted
    {
      kind: 'delete',
      table: 'TxFieldPoint',
      key: points[points.length - 1]!.TFP_ID,
      row: points[points.length - 1]!,
    },
  ] satisfies Change[];
}

describe('SqliteSandboxWriter', () => {
  it('refuses a database that is not marked as a sandbox, and leaves it untouched', () => {
    const before = fileFingerprint(clinic.path);
    expect(() => openSandboxWriter(clinic.path)).toThrow(NotASandboxError);
    expect(() => openSandboxWriter(clinic.path)).toThrow(
      `${clinic.path}: not a sandbox (no ${SANDBOX_MARKER_TABLE} table); refusing to write`,
    );
    expect(fileFingerprint(clinic.path)).toEqual(before);
    expect(() => openSandboxWriter(tmp.path('absent.sqlite'))).toThrow(/existing SQLite database file/);
  });

  it('applies every kind of change in one run, as applyChanges does in memory, and restores exactly', async () => {
    const { path, writer } = sandbox();
    const changes = representativeChanges(clinic.rows);
    const before = tableChecksums(path);
    const original = readAll(path);

    const run = await writer.apply(changes, {
      label: 'every type',
      mode: 'test_mode',
      variant: 'all',
      seed: 7,
      params: { n: 1 },
    });
    expect(run).toMatchObject({
      runId: 'run-1',
      status: 'applied',
      changeCount: changes.length,
      restoredAt: null,
    });
    expect(run.meta).toEqual({
      label: 'every type',
      mode: 'test_mode',
      variant: 'all',
      seed: 7,
      params: { n: 1 },
    });

    // The database now holds what the in-memory reference semantics say.
    expectSameRecords(readAll(path), expectedAfter(clinic.rows, changes));
    const after = tableChecksums(path);
    for (const table of [
      'TrackTreatment',
      'TxField',
      'TxFieldPoint',
      'Site',
      'Patient',
      'Staff',
      'Offset',
    ] as const) {
      expect(after.tables[table], table).not.toBe(before.tables[table]);
    }
    expect(after.tables.Dose_Hst).toBe(before.tables.Dose_Hst);

    const restored = await writer.restore(run.runId);
    expect(restored.status).toBe('restored');
    expect(restored.restoredAt).toBeInstanceOf(Date);
    expect(tableChecksums(path)).toEqual(before);
    expectSameRecords(readAll(path), original);
    expect(await writer.listRuns()).toEqual([restored]);
    await writer.close();
  });

  it('keeps a ledger of each change exactly as applied, with typed old and new values', async () => {
    const { path, writer } = sandbox();
    const changes = representativeChanges(clinic.rows);
    const run = writer.applySync(changes, { label: 'ledger', mode: 'm', variant: 'v' });
    const ledger = await writer.ledger(run.runId);
    expect(ledger.map((l) => l.seq)).toEqual(changes.map((_, i) => i));
    expect(ledger.every((l) => l.runId === run.runId)).toBe(true);
    ledger.forEach(({ change }, i) => {
      const asked = changes[i]!;
      if (asked.kind === 'insert') {
        // Inserts are recorded with every column, NULL where the change left one out.
        expect(change.kind).toBe('insert');
        const row = (change as typeof asked).row;
        expect(Object.keys(row).length).toBeGreaterThanOrEqual(Object.keys(asked.row).length);
        for (const [k, v] of Object.entries(row)) expect(v, k).toEqual(asked.row[k] ?? null);
      } else expect(change, `ledger[${i}]`).toEqual(asked);
    });

    const db = new Database(path, { readonly: true });
    const lines = db
      .prepare(
        `SELECT seq, kind, table_name, row_key, column_name, sql_type, typeof(old_value) AS o, typeof(new_value) AS n, mode, variant, applied_at FROM "${LEDGER_TABLE}" ORDER BY seq`,
      )
      .all() as Record<string, unknown>[];
    db.close();
    const types = Object.fromEntries(
      lines
        .filter((l) => l.kind === 'update')
        .map((l) => [`${l.table_name}.${l.column_name}:${l.seq}`, `${l.o}->${l.n}`]),
    );
    expect(types).toMatchObject({
      'TrackTreatment.Pat_ID1:0': 'integer->integer',
      'TrackTreatment.SIT_ID:1': 'integer->null',
      'TrackTreatment.WasQAMode:2': 'integer->integer',
      'TrackTreatment.Edit_DtTm:4': 'integer->integer',
      'TrackTreatment.Resolved_DtTm:5': 'null->integer',
      'TxField.Meterset:6': 'real->real',
      'TxFieldPoint.A_Leaf_Set:10': 'blob->blob',
      'TxFieldPoint.B_Leaf_Set:12': 'blob->null',
      'Site.Site_Name:13': 'text->text',
    });
    expect(
      lines.every((l) => l.mode === 'm' && l.variant === 'v' && l.applied_at === run.appliedAt.getTime()),
    ).toBe(true);
    expect(
      lines.filter((l) => l.kind !== 'update').map((l) => `${l.kind} ${l.table_name} ${l.row_key}`),
    ).toHaveLength(4);
    writer.closeSync();
  });

  it('records the stored old value when the requested one differs within tolerance, so restore is exact', () => {
    const { path, writer } = sandbox();
    const field = clinic.rows.TxField.find((f) => f.Meterset !== null && f.Meterset > 10)!;
    const before = tableChecksum(path);
    const nearly = field.Meterset! * (1 + 1e-12);
    const run = writer.applySync(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: field.FLD_ID,
          column: 'Meterset',
          oldValue: nearly,
          newValue: 1,
        },
      ],
      { label: 'tolerance' },
    );
    const [line] = writer.ledgerSync(run.runId);
    expect(line!.change).toMatchObject({ oldValue: field.Meterset });
    writer.restoreSync(run.runId);
    expect(tableChecksum(path)).toBe(before);
    writer.closeSync();
  });

  it('rolls back everything when the 50th change conflicts: same checksum, no run, no ledger lines', () => {
    const { path, writer } = sandbox();
    const before = tableChecksum(path);
    const points = clinic.rows.TxFieldPoint.slice(0, 60);
    const changes: Change[] = points.map((p, i) => ({
      kind: 'update',
      table: 'TxFieldPoint',
      key: p.TFP_ID,
      column: 'Gantry_Ang',
      // The 50th expects a value that is not stored.
      oldValue: i === 49 ? 12345 : p.Gantry_Ang,
      newValue: 400,
    }));
    expect(() => writer.applySync(changes, { label: 'conflict' })).toThrow(ChangeConflictError);
    try {
      writer.applySync(changes, { label: 'conflict' });
    } catch (error) {
      expect((error as ChangeConflictError).index).toBe(49);
      expect((error as Error).message).toMatch(
        /^changes\[49\] \(update TxFieldPoint \d+\.Gantry_Ang\): expected 12345, found /,
      );
    }
    // A conflicting insert late in a run, after other writes, rolls back the same way.
    const taken = clinic.rows.Patient[0]!;
    const inserts: Change[] = [
      ...changes.slice(0, 49),
      { kind: 'insert', table: 'Patient', key: taken.Pat_ID1, row: { Pat_ID1: taken.Pat_ID1 } },
    ];
    expect(() => writer.applySync(inserts, { label: 'conflict' })).toThrow(
      /changes\[49\] \(insert Patient \d+\): a row with this key already exists/,
    );

    expect(tableChecksum(path)).toBe(before);
    expect(writer.listRunsSync()).toEqual([]);
    const db = new Database(path, { readonly: true });
    expect(db.prepare(`SELECT count(*) FROM "${LEDGER_TABLE}"`).pluck().get()).toBe(0);
    expect(db.prepare(`SELECT count(*) FROM "${RUN_TABLE}"`).pluck().get()).toBe(0);
    db.close();
    writer.closeSync();
  });

  it('checks every change before writing, naming the bad field', () => {
    const { path, writer } = sandbox();
    const before = tableChecksum(path);
    const tt = clinic.rows.TrackTreatment[0]!;
    const good: Change = {
      kind: 'update',
      table: 'TrackTreatment',
      key: tt.TTX_ID,
      column: 'Pat_ID1',
      oldValue: tt.Pat_ID1,
      newValue: 1,
    };
    expect(() => writer.applySync([good, { ...good, column: 'Delivered_MU' }], { label: 'x' })).toThrow(
      /changes\[1\]\.column: expected a column of TrackTreatment/,
    );
    expect(() => writer.applySync([{ ...good, newValue: 'one' }], { label: 'x' })).toThrow(
      /changes\[0\]\.newValue/,
    );
    expect(() => writer.applySync([good], { label: '' })).toThrow(/meta\.label/);
    expect(() => writer.applySync([good], { label: 'x', extra: 1 } as never)).toThrow(ValidationError);
    expect(() => writer.applySync([], { label: 'x' })).toThrow(/changes: expected a non-empty array/);
    expect(() =>
      writer.applySync(
        [{ kind: 'delete', table: 'TrackTreatment', key: tt.TTX_ID, row: { TTX_ID: tt.TTX_ID } }],
        { label: 'x' },
      ),
    ).toThrow(
      /changes\[0\]\.row\.Create_DtTm: expected a value \(the full old row is needed to restore it\)/,
    );
    expect(tableChecksum(path)).toBe(before);
    writer.closeSync();
  });

  it('refuses to restore over a later run that touched the same cell, then restores in reverse order', () => {
    const { path, writer } = sandbox();
    const before = tableChecksum(path);
    const f = clinic.rows.TxField[3]!;
    const first = writer.applySync(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: f.FLD_ID,
          column: 'Meterset',
          oldValue: f.Meterset,
          newValue: 50,
        },
      ],
      { label: 'first' },
    );
    const second = writer.applySync(
      [{ kind: 'update', table: 'TxField', key: f.FLD_ID, column: 'Meterset', oldValue: 50, newValue: 5000 }],
      { label: 'second' },
    );
    const mid = tableChecksum(path);
    expect(() => writer.restoreSync(first.runId)).toThrow(
      /changes\[0\] \(update TxField \d+\.Meterset\): restoring run-1: .*expected 50, found 5000/,
    );
    expect(tableChecksum(path)).toBe(mid);
    expect(writer.listRunsSync().map((r) => r.status)).toEqual(['applied', 'applied']);
    writer.restoreSync(second.runId);
    writer.restoreSync(first.runId);
    expect(tableChecksum(path)).toBe(before);
    expect(writer.listRunsSync().map((r) => [r.runId, r.meta.label, r.status])).toEqual([
      ['run-1', 'first', 'restored'],
      ['run-2', 'second', 'restored'],
    ]);
    expect(() => writer.restoreSync(first.runId)).toThrow(
      /runId: expected a run that is still applied \(run-1 was restored at/,
    );
    expect(() => writer.restoreSync('run-9')).toThrow(
      /runId: expected the id of a run of this sandbox, received "run-9"/,
    );
    expect(() => writer.ledgerSync('run-9')).toThrow(ValidationError);
    writer.closeSync();
  });

  it('refuses to write once the marker is gone, and refuses databases with columns it would not restore', () => {
    const { path, writer } = sandbox();
    const db = new Database(path);
    db.exec(`DROP TABLE "${SANDBOX_MARKER_TABLE}"`);
    db.close();
    const f = clinic.rows.TxField[0]!;
    expect(() =>
      writer.applySync(
        [
          {
            kind: 'update',
            table: 'TxField',
            key: f.FLD_ID,
            column: 'Meterset',
            oldValue: f.Meterset,
            newValue: 1,
          },
        ],
        { label: 'x' },
      ),
    ).toThrow(NotASandboxError);
    writer.closeSync();
    expect(() => openSandboxWriter(path)).toThrow(NotASandboxError);

    const other = sandbox();
    other.writer.closeSync();
    const db2 = new Database(other.path);
    db2.exec('ALTER TABLE "Patient" ADD COLUMN "SS_Number" TEXT');
    db2.close();
    expect(() => openSandboxWriter(other.path)).toThrow(/Patient\.SS_Number is not a column Anomalia knows/);
  });

  it('refuses prototype keys in a stored run or ledger line, naming the run and field', () => {
    const { path, writer } = sandbox();
    const f = clinic.rows.TxField[0]!;
    const run = writer.applySync(
      [{ kind: 'delete', table: 'TxField', key: f.FLD_ID, row: f as unknown as Record<string, never> }],
      { label: 'x' },
    );
    const db = new Database(path);
    db.prepare(`UPDATE "${RUN_TABLE}" SET meta_json = ? WHERE run_id = ?`).run(
      '{"label": "x", "__proto__": {"seed": 1}}',
      run.runId,
    );
    db.prepare(
      `UPDATE "${LEDGER_TABLE}" SET row_json = replace(row_json, '{', '{"__proto__": {}, ') WHERE run_id = ?`,
    ).run(run.runId);
    db.close();
    expect(() => writer.listRunsSync()).toThrow(`${run.runId}.meta_json.__proto__: expected an ordinary key`);
    expect(() => writer.ledgerSync(run.runId)).toThrow(
      `${run.runId}.ledger[0].row_json.__proto__: expected an ordinary key`,
    );
    writer.closeSync();
  });

  it('says where two blobs of one length differ, instead of "expected 200 bytes, found 200 bytes"', () => {
    const { writer } = sandbox();
    const point = clinic.rows.TxFieldPoint.find((p) => p.A_Leaf_Set !== null && p.A_Leaf_Set.length === 200)!;
    const wrong = Uint8Array.from(point.A_Leaf_Set!);
    wrong[54] = wrong[54]! ^ 0x01;
    const change: Change = {
      kind: 'update',
      table: 'TxFieldPoint',
      key: point.TFP_ID,
      column: 'A_Leaf_Set',
      oldValue: wrong,
      newValue: new Uint8Array(200),
    };
    expect(() => writer.applySync([change], { label: 'x' })).toThrow(
      new RegExp(
        `A_Leaf_Set\\): expected 200 bytes with byte 54 = 0x${wrong[54]!.toString(16).padStart(2, '0')}, found 0x${point.A_Leaf_Set![54]!.toString(16).padStart(2, '0')} there \\(1 of 200 bytes differ\\)$`,
      ),
    );
    writer.closeSync();
  });
});
