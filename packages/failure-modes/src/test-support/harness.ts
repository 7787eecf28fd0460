import { Rng } from '@anomalia/core';
import { extractQa74, extractQaExtended, type FeatureMatrix } from '@anomalia/features';
import {
  applyChanges,
  assembleRecords,
  type Change,
  type ColumnValue,
  columnValuesEqual,
  invertChanges,
  MOSAIQ_TABLES,
  recordsToRows,
  TABLE_NAMES,
  type TableRows,
  type TreatmentRecord,
  validateChange,
} from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { expect } from 'vitest';
import { failureCatalogue } from '../catalogue';
import { type Cohort, createCohort } from '../cohort';
import type { FailureApplication } from '../failure-mode';

/** A small synthetic clinic shared by the tests (generated once per test file). */
export const CLINIC: readonly TreatmentRecord[] = generateRecords({ seed: 11, records: 1500 });
export const COHORT: Cohort = createCohort(CLINIC);
/** A deep copy taken before any test runs: applying a failure mode must leave the cohort as it was. */
const SNAPSHOT: TableRows = structuredClone(COHORT.rows) as TableRows;

/** True while the cohort still equals its snapshot (nothing mutated a row in place). */
export const cohortUntouched = () =>
  sameRows(SNAPSHOT, COHORT.rows) && sameRows(SNAPSHOT, recordsToRows(COHORT.records));
/** Features are extracted "a day after" the clinic, so only a corrupted timestamp is in the future. */
export const AS_OF = new Date(COHORT.latestTimestamp!.getTime() + 86_400_000);

let baseline74: FeatureMatrix | null = null;
let baselineExt: FeatureMatrix | null = null;
const features74 = () => (baseline74 ??= extractQa74(COHORT.records, { asOf: AS_OF }));
const featuresExt = () => (baselineExt ??= extractQaExtended(COHORT.records, { asOf: AS_OF }));

export interface VariantRun {
  app: FailureApplication;
  target: TreatmentRecord;
  rowsAfter: TableRows;
  recordsAfter: TreatmentRecord[];
}

/** Applies a variant to a seeded choice among the records it suits. */
export function runVariant(mode: string, variant: string, params?: unknown, seed = 1): VariantRun {
  const m = failureCatalogue.mode(mode);
  const targets = m.targets(COHORT, variant, params);
  expect(targets.length, `${mode}/${variant} has targets in the test clinic`).toBeGreaterThan(0);
  const target = targets[new Rng(seed).integer(0, targets.length)]!;
  const app = m.apply({ variant, target, cohort: COHORT, params, rng: seed });
  const rowsAfter = applyChanges(COHORT.rows, app.changes);
  return { app, target, rowsAfter, recordsAfter: assembleRecords(rowsAfter) };
}

function rowOf(fm: FeatureMatrix, ttxId: number): number {
  const i = fm.recordIds.indexOf(ttxId);
  expect(i, `TTX_ID ${ttxId} in the feature matrix`).toBeGreaterThanOrEqual(0);
  return i;
}

function sameRow(a: FeatureMatrix, i: number, b: FeatureMatrix, j: number): boolean {
  const cols = a.X.cols;
  for (let c = 0; c < cols; c++) {
    if (!Object.is(a.X.data[i * cols + c], b.X.data[j * cols + c])) return false;
    if (a.missing[i * cols + c] !== b.missing[j * cols + c]) return false;
  }
  return true;
}

/** Rows per table keyed by primary key. */
function keyed(rows: TableRows) {
  return Object.fromEntries(
    TABLE_NAMES.map((t) => {
      const pk = MOSAIQ_TABLES[t].primaryKey;
      return [t, new Map((rows[t] as Record<string, ColumnValue>[]).map((r) => [r[pk] as number, r]))];
    }),
  );
}

/** True when both row sets hold the same rows (any order), column by column. */
export function sameRows(a: TableRows, b: TableRows): boolean {
  const ka = keyed(a);
  const kb = keyed(b);
  for (const t of TABLE_NAMES) {
    if (ka[t]!.size !== kb[t]!.size) return false;
    for (const [key, row] of ka[t]!) {
      const other = kb[t]!.get(key);
      if (!other) return false;
      for (const column of Object.keys(MOSAIQ_TABLES[t].columns)) {
        if (!columnValuesEqual(row[column], other[column])) return false;
      }
    }
  }
  return true;
}

/**
 * The contract every (mode, variant) must meet on the test clinic:
 * - its changes validate, keep binary(200) leaf sets at 200 bytes, and undo exactly;
 * - the QA features it names change on the record that carries it (cohort features too);
 * - the records it reports as affected are exactly those whose 74 features changed;
 * - the same seed gives the same changes, and the cohort is not mutated.
 */
export function expectVariantWorks(mode: string, variant: string, params?: unknown): VariantRun {
  const run = runVariant(mode, variant, params);
  const { app, target, rowsAfter, recordsAfter } = run;
  const v = failureCatalogue.variant(mode, variant);

  app.changes.forEach((c: Change, i) => {
    expect(() => validateChange(c, `changes[${i}]`)).not.toThrow();
    if (c.kind === 'update' && c.newValue instanceof Uint8Array && c.oldValue instanceof Uint8Array) {
      expect(c.newValue.length, 'a binary cell keeps its length').toBe(c.oldValue.length);
    }
  });

  const before = features74();
  const after = extractQa74(recordsAfter, { asOf: AS_OF });
  const primaryAfter = rowOf(after, app.primaryTtxId);
  const primaryBefore = rowOf(
    before,
    before.recordIds.includes(app.primaryTtxId) ? app.primaryTtxId : target.treatment.TTX_ID,
  );
  const cols = before.X.cols;
  for (const name of v.features) {
    const c = before.featureNames.indexOf(name);
    expect(c, `${name} is one of the 74 features`).toBeGreaterThanOrEqual(0);
    const was = before.X.data[primaryBefore * cols + c]!;
    const now = after.X.data[primaryAfter * cols + c]!;
    expect(now, `${mode}/${variant}: ${name} reacts (was ${was})`).not.toBe(was);
  }
  if (v.cohortFeatures.length > 0) {
    const eb = featuresExt();
    const ea = extractQaExtended(recordsAfter, { asOf: AS_OF });
    const ib = rowOf(
      eb,
      before.recordIds.includes(app.primaryTtxId) ? app.primaryTtxId : target.treatment.TTX_ID,
    );
    const ia = rowOf(ea, app.primaryTtxId);
    for (const name of v.cohortFeatures) {
      const c = eb.featureNames.indexOf(name);
      expect(c, `${name} is an extended feature`).toBeGreaterThanOrEqual(74);
      expect(ea.X.data[ia * ea.X.cols + c], `${mode}/${variant}: ${name} reacts`).not.toBe(
        eb.X.data[ib * eb.X.cols + c],
      );
    }
  }

  // Every record whose features changed is reported; a reported record whose 74 features did not
  // change differs only in rows the 74 do not read (a session offset it does not use).
  const affected = new Set(app.affectedTtxIds);
  expect(affected.has(app.primaryTtxId)).toBe(true);
  const afterById = new Map(recordsAfter.map((r) => [r.treatment.TTX_ID, r]));
  for (let j = 0; j < after.X.rows; j++) {
    const id = after.recordIds[j]!;
    const i = before.recordIds.indexOf(id);
    const changed = i < 0 || !sameRow(before, i, after, j);
    if (changed) expect(affected.has(id), `record ${id} changed but is not reported`).toBe(true);
    else if (affected.has(id)) {
      const a = COHORT.record(id)!;
      const b = afterById.get(id)!;
      const core = (r: TreatmentRecord) => [
        r.treatment,
        r.field,
        r.site,
        r.patient,
        r.doseHistory,
        r.offset,
        ...r.controlPoints,
      ];
      expect(core(b), `record ${id} is reported but only its session offsets may differ`).toEqual(core(a));
      expect(b.sessionOffsets).not.toEqual(a.sessionOffsets);
    }
  }
  expect(app.affectedTtxIds.every((id) => afterById.has(id))).toBe(true);

  // Undo restores the rows exactly.
  expect(sameRows(applyChanges(rowsAfter, invertChanges(app.changes)), COHORT.rows)).toBe(true);

  // Same seed, same changes; the cohort is untouched.
  const again = runVariant(mode, variant, params);
  expect(again.app.changes).toEqual(app.changes);
  expect(cohortUntouched(), 'the cohort is not mutated').toBe(true);
  return run;
}
