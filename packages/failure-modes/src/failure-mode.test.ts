import { Rng, ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { failureCatalogue } from './catalogue';
import { NotApplicableError } from './errors';
import { COHORT } from './test-support/harness';

const angles = failureCatalogue.mode('invalid_angles');
const single = COHORT.records.find((r) => r.controlPoints.length === 1)!;
const vmat = COHORT.records.find((r) => r.controlPoints.length > 50)!;

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

describe('parameters', () => {
  it('fill in defaults and name a bad parameter', () => {
    expect(angles.parseParams('gantry')).toEqual({ invalidValue: 400, points: 'all' });
    expect(fieldOf(() => angles.parseParams('gantry', { invalidValue: 180 }))).toBe('params.invalidValue');
    expect(() => angles.parseParams('gantry', { invalidValue: 180 })).toThrow(/outside \[0, 360\]/);
    expect(fieldOf(() => angles.parseParams('gantry', { invalidValue: 'x' }))).toBe('params.invalidValue');
    expect(fieldOf(() => angles.parseParams('gantry', { points: [] }))).toBe('params.points');
  });

  it('reject unknown parameters, listing the known ones', () => {
    expect(fieldOf(() => angles.parseParams('both', { invalid_value: 400 }))).toBe('params.invalid_value');
    expect(() => angles.parseParams('both', { invalid_value: 400 })).toThrow(/invalidValue, points/);
    const dup = failureCatalogue.mode('duplicate_treatments');
    expect(fieldOf(() => dup.parseParams('same_field', { timeOffsetSeconds: 0 }))).toBe(
      'params.timeOffsetSeconds',
    );
  });

  it('validate each variant on its own terms', () => {
    const mlc = failureCatalogue.mode('corrupt_mlc_data');
    expect(fieldOf(() => mlc.parseParams('out_of_range', { positionCm: 15 }))).toBe('params.positionCm');
    expect(fieldOf(() => mlc.parseParams('odd_bytes', { byte: 256 }))).toBe('params.byte');
    const nulls = failureCatalogue.mode('null_required_fields');
    expect(fieldOf(() => nulls.parseParams('other', { column: 'Nope' }))).toBe('params.column');
    expect(() => nulls.parseParams('other', { column: 'Pat_ID1' })).toThrow(/use variant pat_id/);
    expect(nulls.parseParams('other', { table: 'TxField', column: 'Meterset' })).toEqual({
      table: 'TxField',
      column: 'Meterset',
    });
    const offsets = failureCatalogue.mode('invalid_offset_data');
    expect(fieldOf(() => offsets.parseParams('invalid_type', { value: 3 }))).toBe('params.value');
    expect(fieldOf(() => offsets.parseParams('extreme_values', { valueCm: 5 }))).toBe('params.valueCm');
    expect(fieldOf(() => offsets.parseParams('extreme_values', { axes: ['up'] }))).toBe('params.axes[0]');
    const mu = failureCatalogue.mode('meterset_inconsistency');
    expect(fieldOf(() => mu.parseParams('mismatch_with_cp', { indexScale: 0.98 }))).toBe('params.indexScale');
    expect(fieldOf(() => mu.parseParams('extreme_value', { value: 500 }))).toBe('params.value');
    const ts = failureCatalogue.mode('timestamp_inconsistencies');
    expect(fieldOf(() => ts.parseParams('future_timestamp', { reference: 'soon' }))).toBe('params.reference');
    expect(ts.parseParams('future_timestamp', { reference: '2030-01-01T00:00:00Z' }).reference).toBe(
      '2030-01-01T00:00:00Z',
    );
  });

  it('refuse a datetime outside an SQL datetime, and a future past 9999, by parameter name', () => {
    const ts = failureCatalogue.mode('timestamp_inconsistencies');
    const offsets = failureCatalogue.mode('invalid_offset_data');
    // Epoch numbers beyond JavaScript's dates used to end in a bare "RangeError: Invalid time value".
    for (const reference of [8.64e15 + 1, -8.64e15 - 1, 1e308, Date.UTC(10000, 0, 1), Date.UTC(1700, 0, 1)]) {
      expect(fieldOf(() => ts.parseParams('future_timestamp', { reference }))).toBe('params.reference');
      expect(fieldOf(() => offsets.parseParams('future_study_time', { reference }))).toBe('params.reference');
    }
    expect(() => ts.parseParams('future_timestamp', { reference: 1e308 })).toThrow(
      /params\.reference: expected an instant from 1753-01-01 to 9999-12-31/,
    );
    const nearTheEnd = { reference: '9999-06-01T00:00:00Z', offsetDays: 365 };
    const withOffset = COHORT.records.find((r) => r.offset !== null)!;
    for (const [mode, variant, target] of [
      [ts, 'future_timestamp', vmat],
      [offsets, 'future_study_time', withOffset],
    ] as const) {
      expect(
        mode.check({ variant, target: target.treatment.TTX_ID, cohort: COHORT, params: nearTheEnd }),
      ).toMatch(/365 days after 9999-06-01T00:00:00.000Z is past 9999-12-31/);
      expect(() =>
        mode.apply({ variant, target: target.treatment.TTX_ID, cohort: COHORT, params: nearTheEnd, rng: 1 }),
      ).toThrow(NotApplicableError);
    }
  });

  it('name an unknown parameter without pretending it was a value', () => {
    expect(() => angles.parseParams('gantry', { angle: 5 })).toThrow(
      /^params\.angle: expected one of the parameters invalidValue, points \(unknown parameters are refused\)$/,
    );
  });

  it('applies with explicit parameters', () => {
    const app = angles.apply({
      variant: 'collimator',
      target: vmat.treatment.TTX_ID,
      cohort: COHORT,
      params: { invalidValue: -50, points: 'first' },
      rng: 1,
    });
    expect(app.changes).toHaveLength(1);
    expect(app.changes[0]).toMatchObject({ table: 'TxFieldPoint', column: 'Coll_Ang', newValue: -50 });
    expect(app.params).toEqual({ invalidValue: -50, points: 'first' });
  });
});

describe('apply', () => {
  it('refuses a target that does not suit the variant, saying why', () => {
    const gaps = failureCatalogue.mode('missing_control_points');
    expect(() => gaps.apply({ variant: 'single_gap', target: single, cohort: COHORT, rng: 1 })).toThrow(
      NotApplicableError,
    );
    expect(gaps.check({ variant: 'single_gap', target: single, cohort: COHORT })).toMatch(/1 control points/);
    expect(gaps.check({ variant: 'single_gap', target: vmat, cohort: COHORT })).toBeNull();
    expect(gaps.check({ variant: 'single_gap', target: vmat, cohort: COHORT, params: { point: 0 } })).toMatch(
      /first or last/,
    );
  });

  it('names a bad target, cohort or rng', () => {
    expect(fieldOf(() => angles.apply({ variant: 'gantry', target: -1, cohort: COHORT, rng: 1 }))).toBe(
      'target',
    );
    expect(fieldOf(() => angles.apply({ variant: 'gantry', cohort: COHORT, rng: 1 }))).toBe('target');
    expect(fieldOf(() => angles.apply({ variant: 'gantry', target: 1, cohort: {} as never, rng: 1 }))).toBe(
      'cohort',
    );
    expect(
      fieldOf(() => angles.apply({ variant: 'gantry', target: vmat, cohort: COHORT, rng: {} as never })),
    ).toBe('rng');
  });

  it('accepts a seed or an Rng, and the same seed gives the same changes', () => {
    const mlc = failureCatalogue.mode('corrupt_mlc_data');
    const a = mlc.apply({ variant: 'random_bytes', target: vmat, cohort: COHORT, rng: 'seed' });
    const b = mlc.apply({ variant: 'random_bytes', target: vmat, cohort: COHORT, rng: new Rng('seed') });
    const c = mlc.apply({ variant: 'random_bytes', target: vmat, cohort: COHORT, rng: 'other' });
    expect(b.changes).toEqual(a.changes);
    expect(c.changes).not.toEqual(a.changes);
  });

  it('reports every treatment of a corrupted field as affected', () => {
    const app = angles.apply({ variant: 'gantry', target: vmat, cohort: COHORT, rng: 1 });
    const siblings = COHORT.treatmentsOf('FLD_ID', vmat.treatment.FLD_ID!).map((t) => t.TTX_ID);
    expect(siblings.length).toBeGreaterThan(1);
    expect(app.affectedTtxIds).toEqual([...siblings].sort((x, y) => x - y));
    expect(app.fieldIds).toEqual([vmat.treatment.FLD_ID]);
    expect(app.primaryTtxId).toBe(vmat.treatment.TTX_ID);
  });

  it('lists the records a variant suits', () => {
    const targets = failureCatalogue.mode('missing_control_points').targets(COHORT, 'multiple_gaps');
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.every((r) => r.controlPoints.length >= 5)).toBe(true);
    expect(targets.length).toBeLessThan(COHORT.records.length);
  });
});
