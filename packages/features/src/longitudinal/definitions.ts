import type { TableName } from '@anomalia/mosaiq';
import type { MosaiqFailureModeId } from '@anomalia/severity/mosaiq';
import type { FeatureDefinition, FeatureUnit } from '../definitions';

/**
 * The longitudinal columns of `qa74-longitudinal`, appended to the 87 of `qa74-cohort`. Course
 * features compare a fraction with the earlier fractions of its course (patient × field set, in
 * delivery order) as the tracker saw them; they never look ahead, so a monitor updating a course
 * one fraction at a time computes the same values as a batch. Some record-level features come
 * first: flags for corruptions the original 74 only show through scaled counts.
 */
type Def = [
  name: string,
  unit: FeatureUnit,
  description: string,
  catches: MosaiqFailureModeId[],
  tables: TableName[],
  missingWhen?: string,
  missingValue?: number,
  transform?: 'slog',
];

const DOSE: MosaiqFailureModeId[] = [
  'subtle_dose_escalation',
  'gradual_parameter_drift',
  'statistical_camouflage',
  'selective_fraction_sabotage',
  'time_delayed_corruption',
  'targeted_patient_selection',
  'coordinated_multifield_attack',
];
const GEOMETRY: MosaiqFailureModeId[] = [
  'field_aperture_manipulation',
  'collimator_jaw_manipulation',
  'coordinated_multifield_attack',
  'gradual_parameter_drift',
  'selective_fraction_sabotage',
  'statistical_camouflage',
];
const POSITION: MosaiqFailureModeId[] = [
  'gradual_parameter_drift',
  'coordinated_multifield_attack',
  'invalid_offset_data',
  'statistical_camouflage',
];
const AUDIT: MosaiqFailureModeId[] = ['audit_trail_manipulation', 'time_delayed_corruption'];
const FIELD: TableName[] = ['TxField', 'TxFieldPoint'];
/** What a fraction's planned content (its fingerprint) reads: the field, its points, the prescription. */
const PLANNED: TableName[] = ['TxField', 'TxFieldPoint', 'Site'];
const NO_COURSE = 'the record has no patient, field or Create_DtTm, or is the first fraction of its course';
const NO_OFFSETS = 'no offset, or no earlier offset in the course';

const ROWS: Def[] = [
  [
    'create_dtm_null',
    'flag',
    'TrackTreatment.Create_DtTm is NULL',
    ['null_required_fields', 'audit_trail_manipulation'],
    [],
  ],
  [
    'edit_dtm_null',
    'flag',
    'TrackTreatment.Edit_DtTm is NULL',
    ['null_required_fields', 'audit_trail_manipulation'],
    [],
  ],
  [
    'negative_gap_present',
    'flag',
    'some leaf pair has B < A (negative_gap_count > 0)',
    ['corrupt_mlc_data', 'field_aperture_manipulation'],
    ['TxFieldPoint'],
    'the field has no control points',
  ],
  [
    'zero_leaf_pairs',
    'count',
    'used leaf pairs stored as exactly 0 in both banks, at the control point with most of them (real closed pairs are parked with a gap)',
    ['mlc_leaf_count_mismatch', 'corrupt_mlc_data'],
    ['TxFieldPoint'],
    'the field has no control points',
  ],
  [
    'leaf_count_vs_machine',
    'flag',
    "MLC_Leaves differs from the count most of the machine's other fields declare",
    ['mlc_leaf_count_mismatch'],
    ['TxFieldPoint'],
    'no machine, no control points, or fewer than 3 other fields of the machine seen',
  ],
  [
    'course_fraction_index',
    'count',
    'earlier deliveries of the course (0 for the first)',
    [...DOSE, 'duplicate_treatments'],
    [],
    'the record has no patient, field or Create_DtTm',
  ],
  [
    'meterset_change_pct',
    '%',
    "TxField.Meterset vs the course's first fraction, signed log of the %",
    ['meterset_inconsistency', ...DOSE],
    ['TxField'],
    NO_COURSE,
    0,
    'slog',
  ],
  [
    'dose_per_fraction_change_pct',
    '%',
    "Site.Dose_Tx (the prescription of the site version named) vs the course's first fraction, signed log of the %",
    DOSE,
    ['Site'],
    NO_COURSE,
    0,
    'slog',
  ],
  [
    'mu_per_cp_max_change_pct',
    '%',
    "largest MU of one control point vs the course's first fraction, signed log of the %",
    ['meterset_inconsistency', ...DOSE],
    FIELD,
    NO_COURSE,
    0,
    'slog',
  ],
  [
    'cp_count_change',
    'count',
    "control points minus those of the course's first fraction",
    ['missing_control_points', ...GEOMETRY],
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'gantry_change_deg',
    'deg',
    "|circular mean gantry angle − the first fraction's| (wrapped)",
    ['invalid_angles', ...GEOMETRY],
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'coll_change_deg',
    'deg',
    "|circular mean collimator angle − the first fraction's| (wrapped)",
    ['invalid_angles', ...GEOMETRY],
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'jaw_max_change_mm',
    'mm',
    "largest |mean jaw position − the first fraction's| over Coll_X1, X2, Y1, Y2",
    GEOMETRY,
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'aperture_change_pct',
    '%',
    "MLC opening (Σ max(0, B − A)) vs the first fraction's, signed log of the %",
    ['corrupt_mlc_data', ...GEOMETRY],
    ['TxFieldPoint'],
    NO_COURSE,
    0,
    'slog',
  ],
  [
    'aperture_centroid_shift_mm',
    'mm',
    "|opening-weighted X centre of the leaf pairs − the first fraction's|",
    ['corrupt_mlc_data', ...GEOMETRY],
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'leaf_count_change',
    'count',
    "|MLC_Leaves − the first fraction's|",
    ['mlc_leaf_count_mismatch'],
    ['TxFieldPoint'],
    NO_COURSE,
  ],
  [
    'field_changed_since_reference',
    'flag',
    "the delivered field version or its planned content (meterset, control points, prescription) differs from the course's first fraction",
    [...DOSE, ...GEOMETRY],
    PLANNED,
    NO_COURSE,
  ],
  [
    'field_edited_after_first_delivery',
    'flag',
    "TxField or one of its control points has an Edit_DtTm after the course's reference (its QA-mode verification, else its first delivery)",
    [...AUDIT, ...DOSE, ...GEOMETRY],
    FIELD,
    NO_COURSE,
  ],
  [
    'offset_shift_vs_course_cm',
    'cm',
    "distance of the offset from the per-axis median of the course's earlier distinct offsets",
    POSITION,
    ['Offset'],
    NO_OFFSETS,
  ],
  [
    'offset_older_than_previous',
    'flag',
    "the offset used was acquired before the one the course's previous fraction used (an offset disappeared)",
    ['invalid_offset_data', 'audit_trail_manipulation'],
    ['Offset'],
    'no offset for this or the previous fraction',
  ],
  [
    'offset_lost',
    'flag',
    "no valid offset although the course's previous fraction had one",
    ['invalid_offset_data', 'audit_trail_manipulation'],
    ['Offset'],
    'the first fraction of its course',
  ],
  [
    'offset_stale_in_daily_course',
    'flag',
    "each of the course's last (up to 5) fractions used a localization offset (Offset_Type 2) acquired within 2 h before it (daily imaging), yet this fraction's offset is more than 12 h old or missing",
    ['invalid_offset_data', 'timestamp_inconsistencies'],
    ['Offset'],
    'the first fraction of its course',
  ],
  [
    'offset_predates_imaging',
    'flag',
    "the patient had an imaging field (Type_Enum 3, 4 or 6) delivered in the 3 h before this fraction, yet the offset used was acquired more than 1 h before those images (or there is none): the session's offset is gone",
    ['invalid_offset_data', 'audit_trail_manipulation'],
    ['TxField', 'Offset'],
    'no imaging delivery of the patient in the 3 h before',
  ],
  [
    'duration_vs_course_log_ratio',
    'ratio',
    "ln(duration / the median duration of the course's earlier fractions)",
    ['timestamp_inconsistencies', ...AUDIT],
    [],
    'no positive duration for this or the earlier fractions',
  ],
  [
    'course_cusum_max',
    'sigma',
    'largest CUSUM statistic max(C⁺, C⁻) over the course parameters after this fraction (σ units), signed log',
    [...DOSE, ...GEOMETRY, ...POSITION],
    [...PLANNED, 'Offset'],
    'the record has no patient, field or Create_DtTm',
    0,
    'slog',
  ],
  [
    'course_trend_z_max',
    'z',
    'largest |Mann–Kendall z| over the set-up offset series of the course',
    POSITION,
    ['Offset'],
    'the record has no patient, field or Create_DtTm',
  ],
  [
    'course_alarm_count',
    'count',
    'course parameters with a statistical alarm so far (CUSUM or Mann–Kendall)',
    [...DOSE, ...GEOMETRY, ...POSITION],
    [...FIELD, 'Offset'],
    'the record has no patient, field or Create_DtTm',
  ],
  [
    'cumulative_dose_change_pct',
    '%',
    "mean meterset deviation from the course's first fraction over the fractions so far, signed log of the %",
    DOSE,
    ['TxField'],
    NO_COURSE,
    0,
    'slog',
  ],
  [
    'patient_courses_changed',
    'count',
    "the patient's other courses whose latest fraction differs from their first (coordinated changes)",
    ['coordinated_multifield_attack', 'targeted_patient_selection'],
    PLANNED,
    'the record has no patient',
  ],
  [
    'edit_by_other_user',
    'flag',
    'TrackTreatment.Edit_ID differs from Create_ID',
    AUDIT,
    [],
    'Create_ID or Edit_ID is NULL',
  ],
  ['row_audit_ids_missing', 'flag', 'TrackTreatment.Create_ID or Edit_ID is NULL', AUDIT, []],
  [
    'field_version_audit_missing',
    'flag',
    'the delivered field is an archived version (TxField.Version ≠ 0) without Edit_DtTm or Edit_ID',
    AUDIT,
    ['TxField'],
    'no TxField row',
  ],
  [
    'field_version_predates_use',
    'flag',
    'the delivered field version differs from the one an earlier fraction of the course delivered, yet its Edit_DtTm is before that fraction (a back-dated edit)',
    AUDIT,
    ['TxField'],
    NO_COURSE,
  ],
  [
    'field_version_archived',
    'flag',
    'the delivered field version is not the current one (TxField.Version ≠ 0): at delivery it should be',
    AUDIT,
    ['TxField'],
    'no TxField row or Version',
  ],
  [
    'field_editor_unusual',
    'flag',
    'the delivered version was last edited (TxField.Edit_ID) by someone the clinic sees logging treatments (TrackTreatment.Staff_ID) who edited no other field',
    AUDIT,
    ['TxField'],
    'no TxField row or Edit_ID',
  ],
];

export const LONGITUDINAL_FEATURES: readonly FeatureDefinition[] = Object.freeze(
  ROWS.map(([name, unit, description, catches, tables, missingWhen = '', missingValue = 0, transform]) =>
    Object.freeze({
      name,
      category: 'longitudinal' as const,
      unit,
      description,
      catches: [...new Set(catches)],
      missingValue,
      missingWhen,
      tables,
      ...(transform ? { transform } : {}),
    }),
  ),
);
export const LONGITUDINAL_FEATURE_NAMES: readonly string[] = Object.freeze(
  LONGITUDINAL_FEATURES.map((f) => f.name),
);
export const LONGITUDINAL_COLS = LONGITUDINAL_FEATURES.length;

/** Column of each longitudinal feature (0-based within the longitudinal block). */
export const L = Object.freeze(
  Object.fromEntries(LONGITUDINAL_FEATURE_NAMES.map((n, i) => [n, i])),
) as Readonly<Record<string, number>>;

/** sign(x)·ln(1 + |x|). */
export const slog = (x: number): number => Math.sign(x) * Math.log1p(Math.abs(x));
