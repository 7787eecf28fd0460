import { ValidationError } from '@anomalia/core';
import { extractQa74 } from '@anomalia/features';
import { applyChanges, assembleRecords, invertChanges } from '@anomalia/mosaiq';
import { DEFAULT_SAMPLING_MIX, samplingPlan, UnknownVariantError } from '@anomalia/severity';
import { mosaiqScale } from '@anomalia/severity/mosaiq';
import { describe, expect, it } from 'vitest';
import { ACCIDENTAL_FAILURE_MODES, createFailureCatalogue } from './catalogue';
import { type CorruptionPlan, planCorruption } from './plan';
import { AS_OF, COHORT, cohortUntouched, sameRows } from './test-support/harness';

const N = 120;
/** The 1500-record test clinic spans one day: no course for a malicious mode, so these plans are accidental. */
const plan = planCorruption({ cohort: COHORT, n: N, seed: 3, kinds: ['accidental'] });
const accidentalMix = { ...DEFAULT_SAMPLING_MIX, critical_malicious: 0 };

describe('planCorruption', () => {
  it('is deterministic under a seed', () => {
    const again = planCorruption({ cohort: COHORT, n: N, seed: 3, kinds: ['accidental'] });
    expect(again.examples).toEqual(plan.examples);
    expect(again.changes).toEqual(plan.changes);
    expect(again.labels).toEqual(plan.labels);
    const other = planCorruption({ cohort: COHORT, n: N, seed: 4, kinds: ['accidental'] });
    expect(other.examples).not.toEqual(plan.examples);
    expect(cohortUntouched()).toBe(true);
  });

  it('is severity-balanced: stratum counts from samplingPlan, severities from the scale', () => {
    const expected = samplingPlan(N, accidentalMix);
    expect(plan.droppedStrata).toEqual(['critical_malicious']);
    expect(plan.shortfall).toEqual([]);
    expect(plan.examples).toHaveLength(N);
    for (const s of plan.strata) {
      expect(s.planned, s.stratum).toBe(expected[s.stratum]);
      expect(plan.examples.filter((e) => e.stratum === s.stratum)).toHaveLength(expected[s.stratum]);
    }
    for (const e of plan.examples) {
      if (e.mode === null) {
        expect(e).toMatchObject({ severity: 0, band: 'normal', stratum: 'normal' });
        continue;
      }
      const a = mosaiqScale.assess(e.mode, e.variant);
      expect(e.severity).toBe(a.value);
      expect(e.stratum).toBe(a.band === 'critical' ? 'critical_accidental' : a.band);
    }
    // Each stratum's count is spread evenly over its pairs.
    for (const s of ['low', 'medium', 'high'] as const) {
      const counts = plan.pairs.filter((p) => p.stratum === s).map((p) => p.planned);
      expect(Math.max(...counts) - Math.min(...counts), s).toBeLessThanOrEqual(1);
    }
  });

  it('never writes a row or a field twice, never affects a record twice, and labels every record whose features change', () => {
    const rowsWritten = plan.applications.flatMap((a) => [
      ...new Set(a.changes.map((c) => `${c.table}:${c.key}`)),
    ]);
    expect(new Set(rowsWritten).size).toBe(rowsWritten.length);
    expect(new Set(plan.labels.map((l) => l.ttxId)).size).toBe(plan.labels.length);
    const fieldsWritten = plan.applications.map(
      (a) =>
        new Set(
          a.changes
            .filter((c) => c.table === 'TxField' || c.table === 'TxFieldPoint')
            .map((c) => (c.table === 'TxField' ? c.key : COHORT.row('TxFieldPoint', c.key)!.FLD_ID)),
        ),
    );
    const allWritten = fieldsWritten.flatMap((s) => [...s]);
    expect(new Set(allWritten).size).toBe(allWritten.length);
    const before = extractQa74(COHORT.records, { asOf: AS_OF });
    const rows = applyChanges(COHORT.rows, plan.changes);
    const after = extractQa74(assembleRecords(rows), { asOf: AS_OF });
    const labelled = new Map(plan.labels.map((l) => [l.ttxId, l]));
    const changed = new Set<number>();
    for (let j = 0; j < after.X.rows; j++) {
      const id = after.recordIds[j]!;
      const i = before.recordIds.indexOf(id);
      const same = i >= 0 && before.X.row(i).every((v, c) => Object.is(v, after.X.get(j, c)));
      if (!same) {
        changed.add(id);
        expect(labelled.has(id), `record ${id} changed without a label`).toBe(true);
      }
    }
    for (const e of plan.examples) {
      if (e.mode === null) {
        expect(changed.has(e.ttxId)).toBe(false);
        expect(labelled.has(e.ttxId)).toBe(false);
        expect(plan.excludedTtxIds).not.toContain(e.ttxId);
      } else {
        expect(changed.has(e.ttxId), `${e.mode}/${e.variant} example ${e.ttxId} changed`).toBe(true);
        expect(labelled.get(e.ttxId)).toMatchObject({ mode: e.mode, variant: e.variant, primary: true });
      }
    }
    expect(new Set(plan.examples.map((e) => e.ttxId)).size).toBe(N);
    // Non-primary labels are siblings on shared fields: excluded from the balanced set.
    for (const l of plan.labels) if (!l.primary) expect(plan.excludedTtxIds).toContain(l.ttxId);
    expect(plan.labels.some((l) => !l.primary)).toBe(true);
    expect(sameRows(applyChanges(rows, invertChanges(plan.changes)), COHORT.rows)).toBe(true);
  });

  it('honours holdouts and redistributes their share within the stratum', () => {
    const held = planCorruption({
      cohort: COHORT,
      n: 60,
      seed: 5,
      kinds: ['accidental'],
      holdout: [{ mode: 'corrupt_mlc_data', variant: 'odd_bytes' }, { mode: 'orphaned_records' }],
    });
    expect(held.examples.some((e) => e.mode === 'corrupt_mlc_data' && e.variant === 'odd_bytes')).toBe(false);
    expect(held.labels.some((l) => l.mode === 'orphaned_records')).toBe(false);
    expect(held.pairs.some((p) => p.variant === 'odd_bytes' || p.mode === 'orphaned_records')).toBe(false);
    const expected = samplingPlan(60, accidentalMix);
    for (const s of held.strata) expect(s.planned, s.stratum).toBe(expected[s.stratum]);
  });

  it('restricts kinds and refuses a mix it cannot honour', () => {
    const accidental = planCorruption({ cohort: COHORT, n: 30, seed: 1, kinds: ['accidental'] });
    expect(accidental.examples.every((e) => e.kind === null || e.kind === 'accidental')).toBe(true);
    const catalogue = createFailureCatalogue(ACCIDENTAL_FAILURE_MODES);
    expect(() => planCorruption({ cohort: COHORT, n: 30, seed: 1, kinds: ['malicious'], catalogue })).toThrow(
      /kinds/,
    );
    expect(() =>
      planCorruption({ cohort: COHORT, n: 30, seed: 1, mix: DEFAULT_SAMPLING_MIX, catalogue }),
    ).toThrow(/mix\.critical_malicious/);
    // With the malicious modes but no course long enough, the stratum is reported short, not dropped.
    const short = planCorruption({ cohort: COHORT, n: 40, seed: 1 });
    expect(short.droppedStrata).toEqual([]);
    expect(short.shortfall).toContainEqual(
      expect.objectContaining({ stratum: 'critical_malicious', missing: 2 }),
    );
    const lowOnly = planCorruption({ cohort: COHORT, n: 10, seed: 1, mix: { low: 1 } });
    expect(lowOnly.examples.every((e) => e.stratum === 'low')).toBe(true);
  });

  it('names bad options', () => {
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e instanceof ValidationError ? e.field : (e as Error).name;
      }
    };
    expect(field(() => planCorruption({ cohort: COHORT, n: 0, seed: 1 }))).toBe('n');
    expect(field(() => planCorruption({ cohort: {} as never, n: 5, seed: 1 }))).toBe('cohort');
    expect(
      field(() =>
        planCorruption({
          cohort: COHORT,
          n: 5,
          seed: 1,
          holdout: [{ mode: 'invalid_angles', variant: 'couch' }],
        }),
      ),
    ).toBe(new UnknownVariantError('a', 'b', []).name);
    expect(
      field(() =>
        planCorruption({
          cohort: COHORT,
          n: 5,
          seed: 1,
          params: { 'invalid_angles/gantry': { invalidValue: 90 } },
        }),
      ),
    ).toBe('params.invalidValue');
  });

  it('passes parameters and restricts the population', () => {
    const p: CorruptionPlan = planCorruption({
      cohort: COHORT,
      n: 40,
      seed: 2,
      mix: { low: 1 },
      params: { invalid_angles: { invalidValue: -50 } },
      eligible: (r) => r.treatment.WasBeamComplete === true,
    });
    const angles = p.applications.filter((a) => a.mode === 'invalid_angles');
    expect(angles.length).toBeGreaterThan(0);
    expect(angles.every((a) => a.params.invalidValue === -50)).toBe(true);
    for (const e of p.examples) expect(COHORT.record(e.ttxId)!.treatment.WasBeamComplete).toBe(true);
  });

  it('reports a shortfall instead of reusing records', () => {
    const few = new Set(COHORT.records.slice(0, 30).map((r) => r.treatment.TTX_ID));
    const small = planCorruption({
      cohort: COHORT,
      n: 100,
      seed: 1,
      mix: { low: 1 },
      eligible: (r) => few.has(r.treatment.TTX_ID),
    });
    const s = small.strata.find((x) => x.stratum === 'low')!;
    expect(s.requested).toBe(100);
    expect(s.planned).toBeGreaterThan(0);
    expect(s.planned).toBeLessThanOrEqual(30);
    expect(small.shortfall).toEqual([expect.objectContaining({ stratum: 'low', missing: 100 - s.planned })]);
    expect(new Set(small.examples.map((e) => e.ttxId)).size).toBe(s.planned);
  });
});
