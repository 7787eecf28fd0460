import { ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MALICIOUS_FAILURE_MODES } from '../../catalogue';
import { NotApplicableError } from '../../errors';
import { paramsJsonSchema } from '../../params';
import { LONG } from '../../test-support/course-harness';
import { COHORT } from '../../test-support/harness';

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  throw new Error('no error');
};

describe('malicious parameters', () => {
  for (const mode of MALICIOUS_FAILURE_MODES) {
    for (const v of mode.variants) {
      it(`${mode.id}/${v.id}: defaults parse, every bad parameter is named, the JSON Schema lists them`, () => {
        const defaults = mode.parseParams(v.id);
        const shape = (v.params as z.ZodObject).shape as Record<string, z.ZodType>;
        const keys = Object.keys(shape);
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) {
          // An object is a valid value of no parameter (numbers, enums, arrays, dates, strings).
          expect(fieldOf(() => mode.parseParams(v.id, { [key]: { bogus: true } }))).toBe(`params.${key}`);
          if (!(shape[key] instanceof z.ZodOptional)) expect(defaults, key).toHaveProperty(key);
        }
        expect(fieldOf(() => mode.parseParams(v.id, { notAParameter: 1 }))).toBe('params.notAParameter');
        expect(fieldOf(() => mode.parseParams(v.id, JSON.parse('{"__proto__": {"x": 1}}')))).toMatch(
          /^params/,
        );
        const schema = paramsJsonSchema(v.params) as { properties: Record<string, unknown> };
        expect(Object.keys(schema.properties).sort()).toEqual([...keys].sort());
        expect(v.evidence.length, `${mode.id}/${v.id} states its evidence`).toBeGreaterThan(40);
      });
    }
  }

  it('range errors say what is accepted', () => {
    const m = (id: string) => MALICIOUS_FAILURE_MODES.find((x) => x.id === id)!;
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(
      message(() => m('statistical_camouflage').parseParams('within_tolerance_bias', { biasPercent: 5 })),
    ).toMatch(/params\.biasPercent.*3/);
    expect(
      fieldOf(() =>
        m('statistical_camouflage').parseParams('outlier_avoidance', { minPercent: 3, maxPercent: 2 }),
      ),
    ).toBe('params.maxPercent');
    expect(
      message(() => m('selective_fraction_sabotage').parseParams('periodic_attacks', { percent: 0 })),
    ).toMatch(/params\.percent.*non-zero/);
    expect(
      fieldOf(() => m('selective_fraction_sabotage').parseParams('calendar_based', { weekdays: [5, 5] })),
    ).toBe('params.weekdays');
    expect(
      fieldOf(() => m('field_aperture_manipulation').parseParams('systematic_shift', { shiftMm: 0.1 })),
    ).toBe('params.shiftMm');
    expect(
      fieldOf(() => m('time_delayed_corruption').parseParams('scheduled_activation', { activateAt: 'soon' })),
    ).toBe('params.activateAt');
  });
});

describe('a target or cohort that cannot carry the attack gets a clear reason', () => {
  const mode = (id: string) => MALICIOUS_FAILURE_MODES.find((m) => m.id === id)!;
  const reasonOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof NotApplicableError) return e.reason;
      throw e;
    }
    throw new Error('applied');
  };

  it('a one-day clinic has no course long enough', () => {
    const target = COHORT.records.find(
      (r) => r.treatment.WasBeamComplete && !r.treatment.WasQAMode && r.field?.Meterset,
    )!;
    expect(
      reasonOf(() =>
        mode('subtle_dose_escalation').apply({ variant: 'linear_ramp', target, cohort: COHORT, rng: 1 }),
      ),
    ).toMatch(/has 1 session in the cohort; the attack needs at least 5/);
    expect(mode('gradual_parameter_drift').targets(COHORT, 'mu_creep')).toEqual([]);
    expect(
      reasonOf(() =>
        mode('targeted_patient_selection').apply({
          variant: 'temporal_spacing',
          target,
          cohort: COHORT,
          rng: 1,
        }),
      ),
    ).toMatch(/no other patient is treated 5 days or more after this fraction/);
  });

  it('QA deliveries, portal fields, heads without X jaws, single-therapist courses and missing fractions are refused', () => {
    const qa = LONG.records.find((r) => r.treatment.WasQAMode)!;
    expect(mode('gradual_parameter_drift').check({ variant: 'mu_creep', target: qa, cohort: LONG })).toMatch(
      /QA-mode/,
    );
    const port = LONG.records.find((r) => r.field?.Type_Enum === 6 && !r.treatment.WasQAMode)!;
    expect(
      mode('field_aperture_manipulation').check({ variant: 'margin_erosion', target: port, cohort: LONG }),
    ).toMatch(/not a treatment field \(Type_Enum 6\)/);
    const agility = LONG.records.find(
      (r) => r.controlPoints[0]?.MLC_Leaves === 80 && !r.treatment.WasQAMode && r.field?.Type_Enum !== 6,
    )!;
    expect(
      mode('collimator_jaw_manipulation').check({
        variant: 'jaw_asymmetry',
        target: agility,
        cohort: LONG,
        params: { axis: 'X' },
      }),
    ).toMatch(/no X jaws/);
    expect(
      mode('subtle_dose_escalation').check({
        variant: 'fraction_selective',
        target: agility,
        cohort: LONG,
        params: { fractions: [999] },
      }),
    ).toMatch(/no fraction 999/);
    expect(
      mode('selective_fraction_sabotage').check({
        variant: 'staff_correlated',
        target: agility,
        cohort: LONG,
        params: { staffId: 123_456 },
      }),
    ).toMatch(/staff 123456 treated no fraction/);
  });

  it('a cohort-scope mode without a target starts from the first record it suits', () => {
    const app = mode('targeted_patient_selection').apply({
      variant: 'random_sampling',
      cohort: LONG,
      rng: 4,
    });
    expect(app.targetTtxId).toBeNull();
    expect(app.affectedTtxIds.length).toBeGreaterThan(10);
  });
});

describe('tool inputs', () => {
  it('every malicious parameter schema is plain JSON Schema (dates as date-time strings)', () => {
    const s = paramsJsonSchema(
      MALICIOUS_FAILURE_MODES.find((m) => m.id === 'time_delayed_corruption')!.variant('scheduled_activation')
        .params,
    ) as { properties: Record<string, { anyOf?: { format?: string }[] }> };
    expect(JSON.stringify(s.properties.activateAt)).toContain('date-time');
  });
});
