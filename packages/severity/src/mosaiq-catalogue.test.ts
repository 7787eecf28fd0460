import { describe, expect, it } from 'vitest';
import { UnknownVariantError } from './errors';
import { mosaiqScale } from './mosaiq';
import { MOSAIQ_CATALOGUE } from './mosaiq-catalogue';

/**
 * Seed 001's tables, transcribed row by row. `seedVariant` is the name the seed uses; `variant`
 * is our id when it differs (the implementation's name, see README "Where the sources disagree").
 * `band` is the band the value files into, which for `null_required_fields/other` is not the
 * table it is printed under.
 */
const SEED_ACCIDENTAL: [mode: string, variant: string, value: number, seedTable: string, band: string][] = [
  // Low severity table
  ['invalid_angles', 'collimator', 0.6, 'low', 'low'],
  ['invalid_angles', 'gantry', 0.7, 'low', 'low'],
  ['corrupt_mlc_data', 'odd_bytes', 0.6, 'low', 'low'],
  ['invalid_offset_data', 'invalid_state', 0.9, 'low', 'low'],
  // Medium severity table
  ['duplicate_treatments', 'same_field', 1.0, 'medium', 'medium'],
  ['timestamp_inconsistencies', 'future_timestamp', 1.0, 'medium', 'medium'],
  ['invalid_offset_data', 'invalid_type', 1.0, 'medium', 'medium'],
  ['timestamp_inconsistencies', 'edit_before_create', 1.2, 'medium', 'medium'],
  ['null_required_fields', 'timestamp', 1.2, 'medium', 'medium'],
  ['timestamp_inconsistencies', 'negative_duration', 1.3, 'medium', 'medium'],
  ['duplicate_treatments', 'different_field', 1.5, 'medium', 'medium'],
  ['meterset_inconsistency', 'mismatch_with_cp', 1.5, 'medium', 'medium'],
  ['corrupt_mlc_data', 'random_bytes', 1.5, 'medium', 'medium'],
  // High severity table
  ['null_required_fields', 'other', 1.0, 'high', 'medium'],
  ['mlc_leaf_count_mismatch', 'vs_plan', 1.8, 'high', 'high'],
  ['missing_control_points', 'single_gap', 1.8, 'high', 'high'],
  ['mlc_leaf_count_mismatch', 'vs_machine', 2.0, 'high', 'high'],
  ['corrupt_mlc_data', 'out_of_range', 2.0, 'high', 'high'],
  ['mlc_leaf_count_mismatch', 'intra_field', 2.1, 'high', 'high'],
  ['missing_control_points', 'multiple_gaps', 2.2, 'high', 'high'],
  ['corrupt_mlc_data', 'negative_gap', 2.2, 'high', 'high'],
  ['orphaned_records', 'field_id', 2.3, 'high', 'high'],
  ['null_required_fields', 'fld_id', 2.3, 'high', 'high'],
  // Critical severity table
  ['missing_control_points', 'all_deleted', 2.5, 'critical', 'critical'],
  ['orphaned_records', 'site_id', 2.5, 'critical', 'critical'],
  ['meterset_inconsistency', 'extreme_value', 2.6, 'critical', 'critical'],
  ['orphaned_records', 'patient_id', 2.8, 'critical', 'critical'],
  ['null_required_fields', 'pat_id', 2.7, 'critical', 'critical'],
  ['invalid_offset_data', 'extreme_values', 2.7, 'critical', 'critical'],
  ['meterset_inconsistency', 'negative_meterset', 2.8, 'critical', 'critical'],
  // "Variant-Specific Severity" prose (not in a table)
  ['invalid_offset_data', 'future_study_time', 1.1, 'prose', 'medium'],
];

const SEED_MALICIOUS: [
  mode: string,
  base: number,
  variants: [seedVariant: string, variant: string, value: number][],
][] = [
  [
    'collimator_jaw_manipulation',
    2.6,
    [
      ['jaw_asymmetry', 'jaw_asymmetry', 2.7],
      ['field_size_reduction', 'field_size_reduction', 2.8],
    ],
  ],
  [
    'audit_trail_manipulation',
    2.7,
    [
      ['audit_disable', 'audit_disable', 2.7],
      ['timestamp_forgery', 'timestamp_forgery', 2.8],
    ],
  ],
  [
    'gradual_parameter_drift',
    2.8,
    [
      ['gantry_drift', 'gantry_angle_drift', 2.7],
      ['mu_creep', 'mu_creep', 2.8],
      ['isocenter_shift', 'isocenter_shift', 2.9],
    ],
  ],
  [
    'selective_fraction_sabotage',
    2.8,
    [
      ['periodic', 'periodic_attacks', 2.7],
      ['random', 'random_selection', 2.9],
      ['calendar', 'calendar_based', 2.8],
    ],
  ],
  [
    'time_delayed_corruption',
    2.8,
    [
      ['db_trigger', 'database_trigger', 2.7],
      ['scheduled', 'scheduled_activation', 2.9],
      ['conditional', 'conditional_execution', 2.8],
    ],
  ],
  // The seed's `within_tolerance` (2.9) here has no counterpart in the implementation: see README.
  ['subtle_dose_escalation', 2.9, [['random_walk', 'random_walk', 2.9]]],
  [
    'coordinated_multifield_attack',
    2.9,
    [
      ['compensatory_errors', 'compensatory_errors', 3.0],
      ['geometric_shift', 'geometric_shift', 2.9],
    ],
  ],
  [
    'statistical_camouflage',
    2.9,
    [
      ['within_tolerance_bias', 'within_tolerance_bias', 2.9],
      ['outlier_avoidance', 'outlier_avoidance', 2.9],
    ],
  ],
  [
    'field_aperture_manipulation',
    2.9,
    [
      ['systematic_shift', 'systematic_shift', 3.0],
      ['margin_erosion', 'margin_erosion', 2.9],
    ],
  ],
  [
    'targeted_patient_selection',
    3.0,
    [
      ['demographic_targeting', 'demographic_targeting', 3.0],
      ['random_sampling', 'random_sampling', 2.9],
    ],
  ],
];

/** Seed 001's "Special Cases (Severity 3.0)". */
const SEED_SPECIAL_CASES: [label: string, mode: string, variant: string][] = [
  ['Log Deletion', 'audit_trail_manipulation', 'log_deletion'],
  ['Systematic MLC Shift', 'field_aperture_manipulation', 'systematic_shift'],
  ['Compensatory Errors', 'coordinated_multifield_attack', 'compensatory_errors'],
  ['Fraction-Selective Overdose', 'subtle_dose_escalation', 'fraction_selective'],
  ['Demographic Targeting', 'targeted_patient_selection', 'demographic_targeting'],
];

/** The implementation's FAILURE_MODES dict (notes §1.2): base, then every variant in order. */
const NOTES_FAILURE_MODES: Record<string, string> = {
  corrupt_mlc_data: '1.5 | odd_bytes=0.6 out_of_range=2.0 negative_gap=2.2 random_bytes=1.5',
  invalid_angles: '0.7 | gantry=0.7 collimator=0.6 both=0.8',
  duplicate_treatments: '1.2 | same_field=1.0 different_field=1.5',
  missing_control_points: '2.0 | single_gap=1.8 multiple_gaps=2.2 all_deleted=2.5',
  null_required_fields: '1.8 | pat_id=2.7 fld_id=2.3 timestamp=1.2 other=1.0',
  timestamp_inconsistencies: '1.0 | edit_before_create=1.2 future_timestamp=1.0 negative_duration=1.3',
  orphaned_records: '2.6 | patient_id=2.8 field_id=2.3 site_id=2.5',
  invalid_offset_data: '2.4 | extreme_values=2.7 invalid_type=1.0 invalid_state=0.9 future_study_time=1.1',
  meterset_inconsistency: '2.3 | negative_meterset=2.8 extreme_value=2.6 mismatch_with_cp=1.5',
  mlc_leaf_count_mismatch: '1.9 | intra_field=2.1 vs_machine=2.0 vs_plan=1.8',
  subtle_dose_escalation:
    '2.9 | linear_ramp=2.8 random_walk=2.9 fraction_selective=3.0 field_distributed=2.7',
  targeted_patient_selection:
    '3.0 | demographic_targeting=3.0 random_sampling=2.9 temporal_spacing=2.9 site_specific=2.8',
  coordinated_multifield_attack:
    '2.9 | compensatory_errors=3.0 geometric_shift=2.9 aperture_erosion=2.8 hotspot_creation=2.9',
  time_delayed_corruption:
    '2.8 | scheduled_activation=2.9 conditional_execution=2.8 database_trigger=2.7 gradual_onset=2.8',
  statistical_camouflage:
    '2.9 | within_tolerance_bias=2.9 noise_injection=2.7 correlation_masking=2.8 outlier_avoidance=2.9',
  audit_trail_manipulation:
    '2.7 | timestamp_forgery=2.8 user_impersonation=2.9 log_deletion=3.0 audit_disable=2.7',
  field_aperture_manipulation:
    '2.9 | systematic_shift=3.0 margin_erosion=2.9 oar_expansion=2.8 asymmetric_blur=2.7',
  gradual_parameter_drift: '2.8 | gantry_angle_drift=2.7 isocenter_shift=2.9 mu_creep=2.8 mlc_drift=2.7',
  selective_fraction_sabotage:
    '2.8 | periodic_attacks=2.7 random_selection=2.9 calendar_based=2.8 staff_correlated=2.8',
  collimator_jaw_manipulation:
    '2.6 | jaw_asymmetry=2.7 field_size_reduction=2.8 field_size_expansion=2.5 gradient_shift=2.6',
};

describe('Mosaiq catalogue against seed 001 tables', () => {
  it.each(SEED_ACCIDENTAL)('%s/%s = %s (seed table: %s, band: %s)', (mode, variant, value, _table, band) => {
    const a = mosaiqScale.assess(mode, variant);
    expect(a.value).toBe(value);
    expect(a.band).toBe(band);
    expect(a.kind).toBe('accidental');
  });

  it.each(SEED_MALICIOUS)('%s: base %s and the seed variants', (mode, base, variants) => {
    expect(mosaiqScale.severity(mode)).toBe(base);
    expect(mosaiqScale.getMode(mode).kind).toBe('malicious');
    for (const [seedVariant, variant, value] of variants) {
      expect(mosaiqScale.severity(mode, variant)).toBe(value);
      if (seedVariant !== variant) {
        // the seed's short name is not an id, but the error points to ours
        expect(() => mosaiqScale.severity(mode, seedVariant)).toThrow(UnknownVariantError);
        try {
          mosaiqScale.severity(mode, seedVariant);
        } catch (error) {
          expect((error as UnknownVariantError).suggestion).toBe(variant);
        }
      }
    }
  });

  it.each(SEED_SPECIAL_CASES)('special case %s is 3.0', (_label, mode, variant) => {
    expect(mosaiqScale.severity(mode, variant)).toBe(3.0);
  });

  it("leaves out the seed's subtle_dose_escalation/within_tolerance (not in the implementation)", () => {
    expect(() => mosaiqScale.severity('subtle_dose_escalation', 'within_tolerance')).toThrow(
      UnknownVariantError,
    );
    expect(mosaiqScale.severity('statistical_camouflage', 'within_tolerance_bias')).toBe(2.9);
  });
});

describe("Mosaiq catalogue against the implementation's FAILURE_MODES (notes §1.2)", () => {
  it('has the same 20 modes in the same order, 10 accidental then 10 malicious', () => {
    expect(mosaiqScale.modeIds()).toEqual(Object.keys(NOTES_FAILURE_MODES));
    expect(mosaiqScale.modeIds('accidental')).toHaveLength(10);
    expect(mosaiqScale.modeIds('malicious')).toHaveLength(10);
    expect(mosaiqScale.modeIds('malicious')).toEqual(Object.keys(NOTES_FAILURE_MODES).slice(10));
  });

  it.each(Object.entries(NOTES_FAILURE_MODES))('%s: %s', (mode, spec) => {
    const [base, variants] = spec.split(' | ') as [string, string];
    const expected = variants.split(' ').map((kv) => {
      const [id, value] = kv.split('=') as [string, string];
      return { id, value: Number(value) };
    });
    const m = mosaiqScale.getMode(mode);
    expect(m.base).toBe(Number(base));
    expect(m.variants.map(({ id, value }) => ({ id, value }))).toEqual(expected);
  });

  it('counts 72 (mode, variant) entries, every one with rationale, action and response time', () => {
    const entries = mosaiqScale.entries();
    expect(entries).toHaveLength(32 + 40);
    for (const e of entries) {
      expect(e.rationale.length).toBeGreaterThan(5);
      expect(e.steps.length).toBeGreaterThan(0);
      expect(e.responseTime.label.length).toBeGreaterThan(0);
      expect(e.description.length).toBeGreaterThan(10);
    }
    expect(entries.filter((e) => e.kind === 'malicious').every((e) => e.band === 'critical')).toBe(true);
  });

  it('has QA checks for every mode', () => {
    for (const m of MOSAIQ_CATALOGUE.modes) expect(m.qaChecks?.length ?? 0).toBeGreaterThan(0);
  });

  it('flags exactly the documented-gap values 0.9 (invalid_state) and 2.4 (invalid_offset_data base)', () => {
    expect(
      mosaiqScale
        .entries()
        .filter((e) => e.inDocumentedGap)
        .map((e) => `${e.mode}/${e.variant}`),
    ).toEqual(['invalid_offset_data/invalid_state']);
    const base = mosaiqScale.assess('invalid_offset_data');
    expect(base).toMatchObject({ value: 2.4, band: 'high', inDocumentedGap: true, variant: null });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(MOSAIQ_CATALOGUE)).toBe(true);
    expect(Object.isFrozen(MOSAIQ_CATALOGUE.modes[0]!.variants[0])).toBe(true);
  });
});
