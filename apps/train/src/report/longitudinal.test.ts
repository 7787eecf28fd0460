import type { LongitudinalEvaluation, VariantDetection } from '@anomalia/qa-workflow';
import { describe, expect, it } from 'vitest';
import { longitudinalSection } from './longitudinal';

const variant = (v: Partial<VariantDetection> & Pick<VariantDetection, 'variant'>): VariantDetection => ({
  mode: 'gradual_parameter_drift',
  severity: 2.8,
  applications: 20,
  courses: 20,
  shortCourses: 1,
  detected: 19,
  rate: 0.95,
  statistical: { rate: 0.9, overToleranceRate: 0.95 },
  medianDelay: 3,
  overTolerance: { courses: 18, detected: 18, rate: 1, long: { courses: 12, detected: 12, rate: 1 } },
  maxEffect: { dosePercent: 12.5, geometryMm: 0 },
  preOnsetAlarms: 0,
  firstAlarms: { 'cusum meterset': 17, 'cusum mu_per_cp_max': 2 },
  malice: { patients: 20, median: 0.94, atLeastHalf: 1, suspectedCourses: 1, raisedCourses: 1 },
  ...v,
});

const evaluation: LongitudinalEvaluation = {
  variants: [
    variant({ variant: 'mu_creep' }),
    variant({
      variant: 'gantry_angle_drift',
      detected: 10,
      rate: 0.5,
      medianDelay: null,
      overTolerance: { courses: 10, detected: 5, rate: 0.5, long: { courses: 4, detected: 3, rate: 0.75 } },
      firstAlarms: {},
    }),
    variant({
      mode: 'audit_trail_manipulation',
      variant: 'audit_disable',
      overTolerance: { courses: 0, detected: 0, rate: null, long: { courses: 0, detected: 0, rate: null } },
    }),
  ],
  clean: { courses: 1300, alarmed: 2, rate: 2 / 1300, patients: 310, maliceAtLeastHalf: 0 },
  tolerance: { dosePercent: 5, geometryMm: 3 },
  powerPoints: 10,
  applicationsPerVariant: 20,
  seed: 42,
};

describe('the longitudinal detection section', () => {
  const html = longitudinalSection(evaluation);
  const rows = [...html.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td>(.*?)<\/tr>/g)];

  it('has one row per variant with its rates, delay, target and first alarms', () => {
    expect(rows.map((r) => r[2])).toEqual(['mu_creep', 'gantry_angle_drift', 'audit_disable']);
    expect(rows[0]![3]).toContain('95 %');
    expect(rows[0]![3]).toContain('<span class="pass">pass</span>');
    expect(rows[0]![3]).toContain('cusum meterset (17), cusum mu_per_cp_max (2)');
    expect(rows[0]![3]).toContain('0.94 (100 %)');
    expect(rows[1]![3]).toContain('<span class="fail">fail</span>');
    // The long courses above the tolerance, counted apart: 3 of the 4 detected.
    expect(rows[1]![3]).toContain('75 % of 4');
    expect(html).toContain('≥ 10 points from onset');
    // No course above the tolerance: the target does not apply.
    expect(rows[2]![3]).toContain('<span class="na">n/a</span>');
  });

  it('states the target count and the clean-course false-alarm rate', () => {
    expect(html).toContain('Variants meeting the target: 1 of 2 with courses above the tolerance.');
    expect(html).toMatch(
      /Clean courses alarmed: 2 of 1300 \(0\.15 %; target ≤ 1 %\)\s*<span class="pass">pass<\/span>/,
    );
  });
});
