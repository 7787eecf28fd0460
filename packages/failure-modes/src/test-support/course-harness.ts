import { Rng } from '@anomalia/core';
import { extractQa74, extractQaExtended, type FeatureMatrix } from '@anomalia/features';
import {
  applyChanges,
  assembleRecords,
  type Change,
  type ColumnValue,
  columnValuesEqual,
  invertChanges,
  type TableName,
  type TableRows,
  type TreatmentRecord,
  type TxFieldPointRow,
  validateChange,
} from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { expect } from 'vitest';
import { failureCatalogue } from '../catalogue';
import { type Cohort, createCohort } from '../cohort';
import type { FailureApplication } from '../failure-mode';
import { sameRows } from './harness';

/**
 * A synthetic clinic long enough for malicious modes: few new courses a day, so 5000 records span
 * about five weeks and courses have up to ~25 fractions in the cohort (generated once per file).
 */
export const LONG_CLINIC: readonly TreatmentRecord[] = generateRecords({
  seed: 11,
  records: 5000,
  newCoursesPerDay: 0.7,
});
export const LONG: Cohort = createCohort(LONG_CLINIC);
const SNAPSHOT: TableRows = structuredClone(LONG.rows) as TableRows;
export const LONG_AS_OF = new Date(LONG.latestTimestamp!.getTime() + 86_400_000);

export const longCohortUntouched = () => sameRows(SNAPSHOT, LONG.rows);

export interface MaliciousRun {
  app: FailureApplication;
  target: TreatmentRecord;
  rowsAfter: TableRows;
  recordsAfter: TreatmentRecord[];
}

/** Applies a variant to a seeded choice among the records it suits in the long clinic. */
export function runMalicious(mode: string, variant: string, params?: unknown, seed = 1): MaliciousRun {
  const m = failureCatalogue.mode(mode);
  const targets = m.targets(LONG, variant, params);
  expect(targets.length, `${mode}/${variant} has targets in the long clinic`).toBeGreaterThan(0);
  const target = targets[new Rng(seed).integer(0, targets.length)]!;
  const app = m.apply({ variant, target, cohort: LONG, params, rng: seed });
  const rowsAfter = applyChanges(LONG.rows, app.changes);
  return { app, target, rowsAfter, recordsAfter: assembleRecords(rowsAfter) };
}

/** Columns a version row may differ in from the row it versions, beyond the declared ones. */
const VERSION_COLUMNS: Partial<Record<TableName, readonly string[]>> = {
  TxField: ['FLD_ID', 'Version', 'Edit_DtTm', 'Edit_ID'],
  TxFieldPoint: ['TFP_ID', 'FLD_ID', 'Edit_DtTm'],
  Site: ['SIT_ID', 'Version', 'Edit_DtTm'],
};

const differing = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  Object.keys(a).filter((c) => !columnValuesEqual(a[c] as ColumnValue, b[c] as ColumnValue));

/**
 * The changes write exactly the declared cells: every update's `Table.Column` and every inserted
 * or deleted row's table is in `writes`, and an inserted version differs from the row it versions
 * only in its key, version and audit columns and the declared columns.
 */
export function expectOnlyDeclaredWrites(app: FailureApplication, writes: readonly string[]): void {
  const declared = new Set(writes);
  const columnsOf = (table: string) =>
    new Set(writes.filter((w) => w.startsWith(`${table}.`)).map((w) => w.slice(table.length + 1)));
  const inserted = new Map<string, Record<string, unknown>>();
  for (const c of app.changes) if (c.kind === 'insert') inserted.set(`${c.table}:${c.key}`, c.row);
  // Which version each inserted TxField row replaces: the FLD_ID the repointed rows named before.
  const baseOfField = new Map<number, number>();
  for (const c of app.changes) {
    if (c.kind === 'update') {
      expect(
        declared.has(`${c.table}.${c.column}`),
        `${app.mode}/${app.variant} writes ${c.table}.${c.column}`,
      ).toBe(true);
      if (c.table === 'TrackTreatment' && c.column === 'FLD_ID') {
        const to = c.newValue as number;
        expect(inserted.has(`TxField:${to}`), 'a fraction is repointed at an inserted version').toBe(true);
        const prev = baseOfField.get(to);
        expect(prev === undefined || prev === c.oldValue, 'a version replaces one field version').toBe(true);
        baseOfField.set(to, c.oldValue as number);
      }
    } else {
      expect(declared.has(c.table), `${app.mode}/${app.variant} ${c.kind}s ${c.table} rows`).toBe(true);
    }
  }
  for (const c of app.changes) {
    if (c.kind !== 'insert') continue;
    if (c.table === 'TxField') {
      const base = LONG.row('TxField', baseOfField.get(c.key)!)!;
      expect(base, `inserted TxField ${c.key} versions a field of the cohort`).toBeDefined();
      expect(c.row.FLD_SET_ID).toBe(base.FLD_SET_ID ?? base.FLD_ID);
      const allowed = new Set([...VERSION_COLUMNS.TxField!, ...columnsOf('TxField')]);
      for (const col of differing(c.row, base as unknown as Record<string, unknown>))
        expect(allowed, `TxField.${col}`).toContain(col);
    } else if (c.table === 'TxFieldPoint') {
      const version = c.row.FLD_ID as number;
      const base = LONG.pointsOfField(baseOfField.get(version)!).find(
        (p) => p.Point === c.row.Point,
      ) as TxFieldPointRow;
      expect(base, `inserted TxFieldPoint ${c.key} copies a point of the versioned field`).toBeDefined();
      const allowed = new Set([...VERSION_COLUMNS.TxFieldPoint!, ...columnsOf('TxFieldPoint')]);
      for (const col of differing(c.row, base as unknown as Record<string, unknown>))
        expect(allowed, `TxFieldPoint.${col}`).toContain(col);
    } else if (c.table === 'Site') {
      const sitIds = app.changes.filter(
        (x) =>
          x.kind === 'update' &&
          x.table === 'TrackTreatment' &&
          x.column === 'SIT_ID' &&
          x.newValue === c.key,
      );
      const base = LONG.row('Site', (sitIds[0] as { oldValue: number }).oldValue)!;
      const allowed = new Set([...VERSION_COLUMNS.Site!, ...columnsOf('Site')]);
      for (const col of differing(c.row, base as unknown as Record<string, unknown>))
        expect(allowed, `Site.${col}`).toContain(col);
    } else {
      throw new Error(`unexpected insert into ${c.table}`);
    }
  }
}

/** Changes as comparable text (deep equality of thousands of blobs is slow). */
export const changesText = (changes: readonly Change[]) => json(changes);

const pointText = new WeakMap<readonly TxFieldPointRow[], string>();
const json = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

/** Every value a record is assembled from, as text (control points cached per shared array). */
export function fingerprint(r: TreatmentRecord): string {
  let cps = pointText.get(r.controlPoints);
  if (cps === undefined) {
    cps = json(r.controlPoints);
    pointText.set(r.controlPoints, cps);
  }
  return (
    json([
      r.treatment,
      r.field,
      r.site,
      r.patient,
      r.ident,
      r.machine,
      r.doseHistory,
      r.offset,
      r.sessionOffsets,
    ]) + cps
  );
}

let before74: FeatureMatrix | null = null;
let beforeExt: FeatureMatrix | null = null;
const features74 = () => (before74 ??= extractQa74(LONG.records, { asOf: LONG_AS_OF }));
const featuresExt = () => (beforeExt ??= extractQaExtended(LONG.records, { asOf: LONG_AS_OF }));
let prints: Map<number, string> | null = null;
const printsBefore = () =>
  (prints ??= new Map(LONG.records.map((r) => [r.treatment.TTX_ID, fingerprint(r)])));

/**
 * The contract every malicious (mode, variant) meets on the long clinic:
 * - its changes validate, keep binary(200) leaf sets at 200 bytes, and write only declared cells;
 * - the records it reports as affected are exactly those whose assembled values changed;
 * - the QA features it names change on the record that carries its label;
 * - undo restores every row exactly; the same seed gives the same changes; the cohort is not mutated.
 */
export function expectMaliciousVariantWorks(mode: string, variant: string, params?: unknown): MaliciousRun {
  const run = runMalicious(mode, variant, params);
  const { app, recordsAfter, rowsAfter } = run;
  const v = failureCatalogue.variant(mode, variant);
  expect(app.kind).toBe('malicious');
  expect(app.severity).toBe(v.severity);
  expect(v.band).toBe('critical');

  app.changes.forEach((c: Change, i) => {
    expect(() => validateChange(c, `changes[${i}]`)).not.toThrow();
    if (c.kind === 'update' && c.newValue instanceof Uint8Array && c.oldValue instanceof Uint8Array) {
      expect(c.newValue.length).toBe(c.oldValue.length);
    }
    if (c.kind === 'insert') {
      for (const col of ['A_Leaf_Set', 'B_Leaf_Set']) {
        const blob = c.row[col];
        if (blob instanceof Uint8Array) expect(blob.length, `${c.table}.${col}`).toBe(200);
      }
    }
  });
  expectOnlyDeclaredWrites(app, v.writes);

  // Affected = exactly the records whose values changed (deleted ones are gone from both).
  const before = printsBefore();
  const changed = recordsAfter
    .filter((r) => before.get(r.treatment.TTX_ID) !== fingerprint(r))
    .map((r) => r.treatment.TTX_ID)
    .sort((a, b) => a - b);
  expect(app.affectedTtxIds).toEqual(changed);
  expect(app.affectedTtxIds).toContain(app.primaryTtxId);

  // The named features react on the primary record.
  const after74 = extractQa74(recordsAfter, { asOf: LONG_AS_OF });
  const b74 = features74();
  const row = (fm: FeatureMatrix, id: number) => fm.recordIds.indexOf(id);
  const ib = row(b74, app.primaryTtxId);
  const ia = row(after74, app.primaryTtxId);
  for (const name of v.features) {
    const c = b74.featureNames.indexOf(name);
    expect(c, `${name} is one of the 74`).toBeGreaterThanOrEqual(0);
    expect(after74.X.get(ia, c), `${mode}/${variant}: ${name} reacts`).not.toBe(b74.X.get(ib, c));
  }
  if (v.cohortFeatures.length > 0) {
    const bx = featuresExt();
    const ax = extractQaExtended(recordsAfter, { asOf: LONG_AS_OF });
    for (const name of v.cohortFeatures) {
      const c = bx.featureNames.indexOf(name);
      expect(c, `${name} is an extended feature`).toBeGreaterThanOrEqual(74);
      expect(ax.X.get(row(ax, app.primaryTtxId), c), `${mode}/${variant}: ${name} reacts`).not.toBe(
        bx.X.get(row(bx, app.primaryTtxId), c),
      );
    }
  }

  expect(sameRows(applyChanges(rowsAfter, invertChanges(app.changes)), LONG.rows)).toBe(true);
  const again = runMalicious(mode, variant, params);
  expect(changesText(again.app.changes)).toBe(changesText(app.changes));
  expect(longCohortUntouched(), 'the cohort is not mutated').toBe(true);
  return run;
}
