import type { TableName } from '@anomalia/mosaiq';
import type { MosaiqFailureModeId } from '@anomalia/severity/mosaiq';

/**
 * Feature metadata. The 74 QA features keep the names, order and meaning of the original
 * `STANDARD_FEATURE_NAMES` (ebm_features.py), computed without its defects (see README).
 */

export type FeatureCategory =
  | 'foreign_keys'
  | 'timestamps'
  | 'meterset'
  | 'control_points'
  | 'angles'
  | 'mlc'
  | 'offsets'
  | 'cohort'
  | 'longitudinal';

export type FeatureUnit =
  | 'flag'
  | 'count'
  | 's'
  | 'h'
  | 'MU'
  | '%'
  | 'deg'
  | 'cm'
  | 'mm'
  | 'bytes'
  | 'ratio'
  | 'sigma'
  | 'z';

export interface FeatureDefinition {
  name: string;
  category: FeatureCategory;
  unit: FeatureUnit;
  description: string;
  /** Failure modes this feature is meant to catch. */
  catches: readonly MosaiqFailureModeId[];
  /** The value written when the inputs are missing (the missing mask is set too). */
  missingValue: number;
  /** When the value counts as missing. Empty when it never is. */
  missingWhen: string;
  /**
   * The tables read besides TrackTreatment, when the category does not say (see `featureTables`);
   * the longitudinal features list theirs.
   */
  tables?: readonly TableName[];
  /**
   * `slog`: the value is sign(x)·ln(1 + |x|) of the quantity described, so that a 1 % drift and
   * a 5000 % corruption both stay visible after min-max scaling.
   */
  transform?: 'slog';
}

type Def = [
  name: string,
  unit: FeatureUnit,
  description: string,
  catches: MosaiqFailureModeId[],
  missingWhen?: string,
  missingValue?: number,
];

const FK: MosaiqFailureModeId[] = ['null_required_fields', 'orphaned_records'];
const TS: MosaiqFailureModeId[] = ['timestamp_inconsistencies', 'audit_trail_manipulation'];
const MU: MosaiqFailureModeId[] = ['meterset_inconsistency'];
const MU_ATTACKS: MosaiqFailureModeId[] = [
  'meterset_inconsistency',
  'subtle_dose_escalation',
  'gradual_parameter_drift',
  'statistical_camouflage',
  'time_delayed_corruption',
  'selective_fraction_sabotage',
];
const CP: MosaiqFailureModeId[] = ['missing_control_points'];
const ANG: MosaiqFailureModeId[] = ['invalid_angles'];
const ANG_STATS: MosaiqFailureModeId[] = [
  'invalid_angles',
  'gradual_parameter_drift',
  'coordinated_multifield_attack',
];
const MLC_FORMAT: MosaiqFailureModeId[] = ['corrupt_mlc_data', 'mlc_leaf_count_mismatch'];
const MLC_POS: MosaiqFailureModeId[] = [
  'corrupt_mlc_data',
  'field_aperture_manipulation',
  'coordinated_multifield_attack',
  'gradual_parameter_drift',
];
const OFF: MosaiqFailureModeId[] = [
  'invalid_offset_data',
  'gradual_parameter_drift',
  'coordinated_multifield_attack',
];

const NO_TIMES = 'Create_DtTm or Edit_DtTm is NULL';
const NO_DOSE = 'no Dose_Hst row matches, or Create_DtTm / Tx_DtTm is NULL';
const NO_MU = 'no TxField row or Meterset is NULL';
const NO_CP = 'the field has no control points';
const NO_LEAVES = 'no leaf could be decoded (no control points, or empty/NULL blobs)';
const NO_OFFSET = 'no valid Offset for the site set (or that component is NULL)';

function defs(category: FeatureCategory, rows: Def[]): FeatureDefinition[] {
  return rows.map(([name, unit, description, catches, missingWhen = '', missingValue = 0]) => ({
    name,
    category,
    unit,
    description,
    catches,
    missingValue,
    missingWhen,
  }));
}

/** The 74 QA features, in the original order (indices 0–73). */
export const QA74_FEATURES: readonly FeatureDefinition[] = Object.freeze([
  ...defs('foreign_keys', [
    ['pat_id_null', 'flag', 'TrackTreatment.Pat_ID1 is NULL', ['null_required_fields']],
    ['fld_id_null', 'flag', 'TrackTreatment.FLD_ID is NULL', ['null_required_fields']],
    ['sit_id_null', 'flag', 'TrackTreatment.SIT_ID is NULL', ['null_required_fields']],
    ['patient_exists', 'flag', 'a Patient row has TrackTreatment.Pat_ID1', FK],
    ['field_exists', 'flag', 'a TxField row has TrackTreatment.FLD_ID', FK],
    ['site_exists', 'flag', 'a Site row has TrackTreatment.SIT_ID', FK],
  ]),
  ...defs('timestamps', [
    ['edit_before_create', 'flag', 'Edit_DtTm < Create_DtTm', TS, NO_TIMES],
    [
      'create_in_future',
      'flag',
      'Create_DtTm is after the extraction time (`asOf`)',
      [...TS, 'time_delayed_corruption'],
      'Create_DtTm is NULL',
    ],
    [
      'edit_in_future',
      'flag',
      'Edit_DtTm is after the extraction time (`asOf`)',
      [...TS, 'time_delayed_corruption'],
      'Edit_DtTm is NULL',
    ],
    ['duration_seconds', 's', 'Edit_DtTm − Create_DtTm', TS, NO_TIMES],
    ['duration_negative', 'flag', 'duration < 0', TS, NO_TIMES],
    ['duration_too_short', 'flag', 'duration < 10 s', TS, NO_TIMES],
    ['duration_too_long', 'flag', 'duration > 1800 s', TS, NO_TIMES],
    [
      'dose_time_delta',
      's',
      '|Create_DtTm − Dose_Hst.Tx_DtTm| for the matching Dose_Hst row',
      [...TS, 'duplicate_treatments'],
      NO_DOSE,
    ],
    [
      'dose_time_mismatch',
      'flag',
      'dose_time_delta > 300 s (can fire: the Dose_Hst row is matched without a time window)',
      [...TS, 'duplicate_treatments'],
      NO_DOSE,
    ],
  ]),
  ...defs('meterset', [
    ['mu_negative', 'flag', 'TxField.Meterset < 0', MU, NO_MU],
    ['mu_extreme_low', 'flag', 'TxField.Meterset < 10 MU', MU, NO_MU],
    ['mu_extreme_high', 'flag', 'TxField.Meterset > 1000 MU', MU, NO_MU],
    ['mu_planned', 'MU', 'TxField.Meterset', MU_ATTACKS, NO_MU],
    [
      'mu_cp_sum',
      'MU',
      'MU accounted for by the control points: Meterset × Σ|ΔIndex| / 100 over consecutive points ([Index] is the cumulative weight, 0→100); a single point carries the whole Meterset',
      [...MU, ...CP],
      `${NO_MU}, or no control point has an Index`,
    ],
    [
      'mu_cp_difference',
      'MU',
      '|mu_cp_sum − Meterset|',
      [...MU, ...CP],
      `${NO_MU}, or no control point has an Index`,
    ],
    [
      'mu_cp_percent_diff',
      '%',
      'mu_cp_difference / |Meterset| × 100',
      [...MU, ...CP],
      `${NO_MU}, Meterset is 0, or no control point has an Index`,
    ],
    [
      'mu_cp_mismatch',
      'flag',
      'mu_cp_difference > 5 % of |Meterset|',
      [...MU, ...CP],
      `${NO_MU}, Meterset is 0, or no control point has an Index`,
    ],
  ]),
  ...defs('control_points', [
    ['cp_count', 'count', 'number of TxFieldPoint rows of the field', CP],
    [
      'cp_minimum_met',
      'flag',
      'cp_count ≥ the minimum for the field type: 10 for VMAT (Type_Enum 13), 2 for step-and-shoot, DMLC and arcs (2, 14, 11), else 1',
      CP,
    ],
    ['cp_sequential', 'flag', 'the Points, sorted, are exactly 0, 1, …, n−1 (no NULL Point)', CP, NO_CP, 1],
    [
      'cp_max_gap',
      'count',
      'largest difference between consecutive sorted Points (0 for one point)',
      CP,
      NO_CP,
    ],
    ['cp_gap_count', 'count', 'number of consecutive sorted Points more than 1 apart', CP, NO_CP],
    ['cp_starts_at_zero', 'flag', 'the smallest Point is 0', CP, NO_CP, 1],
  ]),
  ...defs('angles', [
    ['gantry_out_of_range', 'flag', 'some Gantry_Ang < 0 or > 360', ANG, 'no control point has a Gantry_Ang'],
    ['coll_out_of_range', 'flag', 'some Coll_Ang < 0 or > 360', ANG, 'no control point has a Coll_Ang'],
    [
      'gantry_mean',
      'deg',
      'mean Gantry_Ang over all control points',
      ANG_STATS,
      'no control point has a Gantry_Ang',
    ],
    [
      'gantry_std',
      'deg',
      'population standard deviation of Gantry_Ang',
      ANG_STATS,
      'no control point has a Gantry_Ang',
    ],
    ['gantry_range', 'deg', 'max − min Gantry_Ang', ANG_STATS, 'no control point has a Gantry_Ang'],
    ['coll_mean', 'deg', 'mean Coll_Ang', ANG, 'no control point has a Coll_Ang'],
    ['coll_std', 'deg', 'population standard deviation of Coll_Ang', ANG, 'no control point has a Coll_Ang'],
    ['coll_range', 'deg', 'max − min Coll_Ang', ANG, 'no control point has a Coll_Ang'],
    [
      'gantry_max_delta',
      'deg',
      'largest point-to-point gantry change, wrapped to [0, 180]',
      ANG_STATS,
      'no control point has a Gantry_Ang',
    ],
    [
      'gantry_mean_delta',
      'deg',
      'mean point-to-point gantry change, wrapped (0 for one point)',
      ANG_STATS,
      'no control point has a Gantry_Ang',
    ],
    [
      'coll_max_delta',
      'deg',
      'largest point-to-point collimator change, wrapped',
      ANG,
      'no control point has a Coll_Ang',
    ],
    [
      'coll_mean_delta',
      'deg',
      'mean point-to-point collimator change, wrapped',
      ANG,
      'no control point has a Coll_Ang',
    ],
    [
      'gantry_suspicious_jumps',
      'count',
      'point-to-point gantry changes above 90° (wrapped)',
      ANG,
      'no control point has a Gantry_Ang',
    ],
    [
      'coll_suspicious_jumps',
      'count',
      'point-to-point collimator changes above 90° (wrapped)',
      ANG,
      'no control point has a Coll_Ang',
    ],
  ]),
  ...defs('mlc', [
    [
      'a_byte_length',
      'bytes',
      'A_Leaf_Set length furthest from the 200 bytes of binary(200) over all points (NULL = 0)',
      MLC_FORMAT,
      NO_CP,
    ],
    [
      'b_byte_length',
      'bytes',
      'B_Leaf_Set length furthest from 200 over all points (NULL = 0)',
      MLC_FORMAT,
      NO_CP,
    ],
    ['byte_length_match', 'flag', 'A and B have the same length at every point', MLC_FORMAT, NO_CP, 1],
    ['byte_length_even', 'flag', 'every A and B blob has an even length', MLC_FORMAT, NO_CP, 1],
    [
      'a_mean_pos',
      'cm',
      'mean A leaf position over the used leaves (MLC_Leaves) of every point',
      MLC_POS,
      NO_LEAVES,
    ],
    ['a_std_pos', 'cm', 'population standard deviation of A positions', MLC_POS, NO_LEAVES],
    ['a_min_pos', 'cm', 'smallest A position', MLC_POS, NO_LEAVES],
    ['a_max_pos', 'cm', 'largest A position', MLC_POS, NO_LEAVES],
    ['b_mean_pos', 'cm', 'mean B leaf position over the used leaves of every point', MLC_POS, NO_LEAVES],
    ['b_std_pos', 'cm', 'population standard deviation of B positions', MLC_POS, NO_LEAVES],
    ['b_min_pos', 'cm', 'smallest B position', MLC_POS, NO_LEAVES],
    ['b_max_pos', 'cm', 'largest B position', MLC_POS, NO_LEAVES],
    ['a_out_of_range', 'flag', 'some |A| > 20 cm', ['corrupt_mlc_data'], NO_LEAVES],
    ['b_out_of_range', 'flag', 'some |B| > 20 cm', ['corrupt_mlc_data'], NO_LEAVES],
    ['min_gap', 'cm', 'smallest B − A over the leaf pairs of every point', MLC_POS, NO_LEAVES],
    ['mean_gap', 'cm', 'mean B − A', MLC_POS, NO_LEAVES],
    [
      'negative_gap_count',
      'count',
      'leaf pairs (over all points) with B < A',
      ['corrupt_mlc_data', 'field_aperture_manipulation'],
      NO_LEAVES,
    ],
    ['max_gap', 'cm', 'largest B − A', MLC_POS, NO_LEAVES],
    [
      'leaf_count',
      'count',
      'fewest leaves decoded from either bank at any point (MLC_Leaves, fewer when a blob is short)',
      MLC_FORMAT,
      NO_CP,
    ],
  ]),
  ...defs('offsets', [
    ['offset_superior', 'cm', 'Superior_Offset of the latest valid Offset', OFF, NO_OFFSET],
    ['offset_anterior', 'cm', 'Anterior_Offset', OFF, NO_OFFSET],
    ['offset_lateral', 'cm', 'Lateral_Offset', OFF, NO_OFFSET],
    ['offset_vector_magnitude', 'cm', '√(sup² + ant² + lat²)', OFF, NO_OFFSET],
    ['superior_extreme', 'flag', '|Superior_Offset| > 10 cm', ['invalid_offset_data'], NO_OFFSET],
    ['anterior_extreme', 'flag', '|Anterior_Offset| > 10 cm', ['invalid_offset_data'], NO_OFFSET],
    ['lateral_extreme', 'flag', '|Lateral_Offset| > 10 cm', ['invalid_offset_data'], NO_OFFSET],
    ['vector_extreme', 'flag', 'magnitude > 15 cm', ['invalid_offset_data'], NO_OFFSET],
    ['offset_critical', 'flag', 'magnitude > 20 cm', ['invalid_offset_data'], NO_OFFSET],
    [
      'type_valid',
      'flag',
      'Offset_Type ∈ {2 localization, 3 portal, 4 third party} for the used offset and every offset of the session',
      ['invalid_offset_data'],
      'no Offset for the site set in the session',
      1,
    ],
    [
      'state_valid',
      'flag',
      'Offset_State ∈ {1 active, 2 complete} for the used offset and every offset of the session',
      ['invalid_offset_data'],
      'no Offset for the site set in the session',
      1,
    ],
    [
      'type_third_party',
      'flag',
      'the used offset has Offset_Type 4',
      ['invalid_offset_data'],
      'no valid Offset for the site set',
    ],
  ]),
]);

export const QA74_FEATURE_NAMES: readonly string[] = Object.freeze(QA74_FEATURES.map((f) => f.name));

/** Column index of each of the 74 features. */
export const QA74_INDEX: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(QA74_FEATURE_NAMES.map((n, i) => [n, i])),
);
