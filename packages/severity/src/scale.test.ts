import { describe, expect, it } from 'vitest';
import { SeverityValidationError, UnknownFailureModeError, UnknownVariantError } from './errors';
import { mosaiqScale } from './mosaiq';
import { MOSAIQ_CATALOGUE } from './mosaiq-catalogue';
import { createSeverityScale } from './scale';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('severity lookup', () => {
  it('returns the base value when the variant is omitted or null', () => {
    expect(mosaiqScale.severity('invalid_offset_data')).toBe(2.4);
    expect(mosaiqScale.severity('invalid_offset_data', undefined)).toBe(2.4);
    expect(mosaiqScale.severity('invalid_offset_data', null)).toBe(2.4);
    expect(mosaiqScale.assess('orphaned_records')).toMatchObject({
      variant: null,
      value: 2.6,
      band: 'critical',
    });
  });

  it('throws UnknownFailureModeError listing the known modes', () => {
    const error = thrown(() => mosaiqScale.severity('corrupt_mlc')) as UnknownFailureModeError;
    expect(error).toBeInstanceOf(UnknownFailureModeError);
    expect(error.mode).toBe('corrupt_mlc');
    expect(error.catalogue).toBe('mosaiq');
    expect(error.knownModes).toEqual(mosaiqScale.modeIds());
    expect(error.suggestion).toBe('corrupt_mlc_data');
    expect(error.message).toMatch(/Known modes: corrupt_mlc_data, invalid_angles,/);
    expect(error.message).toMatch(/did you mean "corrupt_mlc_data"/);
  });

  it('throws UnknownVariantError listing the known variants, never falling back to the base', () => {
    const error = thrown(() => mosaiqScale.severity('corrupt_mlc_data', 'odd_byte')) as UnknownVariantError;
    expect(error).toBeInstanceOf(UnknownVariantError);
    expect(error.mode).toBe('corrupt_mlc_data');
    expect(error.variant).toBe('odd_byte');
    expect(error.knownVariants).toEqual(['odd_bytes', 'out_of_range', 'negative_gap', 'random_bytes']);
    expect(error.message).toMatch(/Known variants: odd_bytes, out_of_range, negative_gap, random_bytes/);
    expect(thrown(() => mosaiqScale.severity('corrupt_mlc_data', ''))).toBeInstanceOf(UnknownVariantError);
    expect(thrown(() => mosaiqScale.assess('invalid_angles', 'couch'))).toBeInstanceOf(UnknownVariantError);
    expect(
      (thrown(() => mosaiqScale.assess('invalid_angles', 'couch')) as UnknownVariantError).suggestion,
    ).toBe(undefined);
  });

  it('rejects ids that are not strings', () => {
    expect(thrown(() => mosaiqScale.severity(42 as never))).toBeInstanceOf(SeverityValidationError);
    expect(thrown(() => mosaiqScale.severity('invalid_angles', 3 as never))).toBeInstanceOf(
      SeverityValidationError,
    );
    expect(thrown(() => mosaiqScale.modeIds('evil' as never))).toBeInstanceOf(SeverityValidationError);
  });
});

describe('assessments', () => {
  it('carry band, action, response time and playbook steps', () => {
    const a = mosaiqScale.assess('orphaned_records', 'patient_id');
    expect(a).toMatchObject({
      value: 2.8,
      band: 'critical',
      action: 'page',
      kind: 'accidental',
      rationale: 'CRITICAL: treatment may be for the wrong patient.',
    });
    expect(a.responseTime.label).toBe('15–30 min');
    expect(a.steps[0]).toBe('STOP: halt any pending treatments for this patient');
    expect(a.steps).not.toContain('Security team notified'); // accidental: no malicious steps

    const m = mosaiqScale.assess('audit_trail_manipulation', 'log_deletion');
    expect(m.responseTime.label).toBe('immediate (< 15 min)');
    expect(m.steps).toContain('Law enforcement notified');

    expect(mosaiqScale.assess('invalid_angles', 'collimator')).toMatchObject({ band: 'low', action: 'log' });
    expect(mosaiqScale.assess('duplicate_treatments', 'same_field')).toMatchObject({ action: 'queue' });
    expect(mosaiqScale.assess('missing_control_points', 'single_gap')).toMatchObject({
      action: 'urgent_review',
      responseTime: { label: '1–4 hours' },
    });
  });

  it('scale.route uses the catalogue playbook', () => {
    expect(mosaiqScale.route(2.0).steps[0]).toBe('Immediate review required (within 1–4 hours)');
    expect(mosaiqScale.route(2.75, { malicious: true }).steps).toContain('Incident commander assigned');
  });
});

describe('escalate', () => {
  it("escalates the seed's accidental 1.8 aperture shift to 3.0 with plausible malicious factors", () => {
    // mlc_leaf_count_mismatch/vs_plan is an accidental 1.8 on the MLC aperture, like the seed's example.
    const result = mosaiqScale.escalate('mlc_leaf_count_mismatch', 'vs_plan', {
      clinicalImpact: 0.9, // 3 mm off target on every field
      intent: 1.0, // deliberate
      evasion: 0.9, // magnitude chosen to pass tolerance checks
      persistence: 1.0, // systematic across all fields and fractions
      attribution: 0.8, // audit trail may be manipulated
    });
    expect(result).toMatchObject({ mode: 'mlc_leaf_count_mismatch', variant: 'vs_plan', from: 1.8, to: 3.0 });
    expect(result.escalated).toBe(true);
    expect(result.band).toBe('critical');
  });
});

describe('pairsByStratum and samplingPlan', () => {
  it('splits the catalogue into strata by band and kind', () => {
    const strata = mosaiqScale.pairsByStratum();
    expect(strata.normal).toEqual([]);
    expect(strata.critical_malicious).toHaveLength(40);
    expect(strata.critical_accidental.map((p) => `${p.mode}/${p.variant}`).sort()).toEqual(
      [
        'invalid_offset_data/extreme_values',
        'meterset_inconsistency/extreme_value',
        'meterset_inconsistency/negative_meterset',
        'missing_control_points/all_deleted',
        'null_required_fields/pat_id',
        'orphaned_records/patient_id',
        'orphaned_records/site_id',
      ].sort(),
    );
    expect(strata.low.map((p) => p.value).every((v) => v >= 0.4 && v < 1)).toBe(true);
    const total = Object.values(strata).reduce((n, list) => n + list.length, 0);
    expect(total).toBe(mosaiqScale.entries().length);
  });

  it('spreads each stratum count evenly over its pairs, summing to N', () => {
    const plan = mosaiqScale.samplingPlan(2000);
    expect(plan.strata.map((s) => [s.stratum, s.count])).toEqual([
      ['normal', 1000],
      ['low', 300],
      ['medium', 300],
      ['high', 200],
      ['critical_accidental', 100],
      ['critical_malicious', 100],
    ]);
    for (const s of plan.strata) {
      if (s.stratum === 'normal') continue;
      const counts = s.pairs.map((p) => p.count);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(s.count);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a stratum with a positive count and nothing to sample', () => {
    const accidentalOnly = createSeverityScale({
      ...MOSAIQ_CATALOGUE,
      modes: MOSAIQ_CATALOGUE.modes.filter((m) => m.kind === 'accidental'),
    });
    const error = thrown(() => accidentalOnly.samplingPlan(100)) as SeverityValidationError;
    expect(error).toBeInstanceOf(SeverityValidationError);
    expect(error.field).toBe('mix.critical_malicious');
    const plan = accidentalOnly.samplingPlan(100, {
      normal: 50,
      low: 15,
      medium: 15,
      high: 10,
      critical_accidental: 10,
    });
    expect(plan.strata.find((s) => s.stratum === 'critical_malicious')).toMatchObject({
      count: 0,
      pairs: [],
    });
  });
});
