/**
 * The per-fraction parameters of a course (one patient's field across fractions) that the
 * longitudinal tracker follows, with the units and scales its change tests use.
 *
 * - `planned` parameters come from the plan (TxField, TxFieldPoint): in a clean course they are
 *   identical at every fraction, so any change is a finding. Their CUSUM uses `sigmaFloor` as σ
 *   (the plan's own spread is 0), which makes the chart a change detector with a known
 *   resolution: a sustained deviation of k·σ per fraction is the smallest it accumulates.
 * - `measured` parameters vary from fraction to fraction (set-up offsets): their CUSUM uses a
 *   baseline estimated from the course's first distinct values, with σ floored at `sigmaFloor`.
 *
 * `scale` says how a deviation from the reference is expressed: `relative` in % of the
 * reference, `angle` as the signed difference wrapped to (−180°, 180°], `absolute` in the unit.
 * `tolerance` is one fraction's clinical tolerance in the same scale: the "statistical evasion"
 * evidence is a cumulative alarm while every single fraction stayed within it.
 */
export type ParameterKind = 'planned' | 'measured';
export type ParameterScale = 'relative' | 'absolute' | 'angle';
/** What a parameter is evidence about, for counting independent anomaly types. */
export type ParameterFamily = 'dose' | 'aperture' | 'jaws' | 'angles' | 'position' | 'integrity';

export interface SeriesParameter {
  readonly id: SeriesParameterId;
  readonly description: string;
  /** Unit of the raw value. */
  readonly unit: 'MU' | 'cGy' | 'count' | 'deg' | 'cm';
  readonly kind: ParameterKind;
  readonly scale: ParameterScale;
  /** Smallest σ the change tests use, in the deviation's scale (% for relative ones). */
  readonly sigmaFloor: number;
  /** One fraction's tolerance, in the deviation's scale. */
  readonly tolerance: number;
  readonly family: ParameterFamily;
}

export const SERIES_PARAMETER_IDS = [
  'meterset',
  'dose_per_fraction',
  'mu_per_cp_max',
  'cp_count',
  'gantry_mean',
  'coll_mean',
  'jaw_x1',
  'jaw_x2',
  'jaw_y1',
  'jaw_y2',
  'aperture',
  'aperture_centroid_x',
  'aperture_centroid_y',
  'leaf_count',
  'offset_superior',
  'offset_anterior',
  'offset_lateral',
] as const;
export type SeriesParameterId = (typeof SERIES_PARAMETER_IDS)[number];

const p = (
  id: SeriesParameterId,
  unit: SeriesParameter['unit'],
  kind: ParameterKind,
  scale: ParameterScale,
  sigmaFloor: number,
  tolerance: number,
  family: ParameterFamily,
  description: string,
): SeriesParameter => Object.freeze({ id, unit, kind, scale, sigmaFloor, tolerance, family, description });

/**
 * Floors and tolerances: MU 0.5 % / 3 % (delivery tolerances are ±3–5 %), angles 0.5° / 1°
 * (the log-file tolerance of the original's TRF checks), jaws and aperture centroid 0.5 mm / 2 mm
 * (the MLC tolerance of those checks), aperture area 1 % / 5 %, offsets 1 mm / 5 mm.
 */
export const SERIES_PARAMETERS: readonly SeriesParameter[] = Object.freeze([
  p('meterset', 'MU', 'planned', 'relative', 0.5, 3, 'dose', 'TxField.Meterset of the delivered field'),
  p(
    'dose_per_fraction',
    'cGy',
    'planned',
    'relative',
    0.5,
    3,
    'dose',
    'Site.Dose_Tx (prescribed dose per fraction) of the site version the fraction names',
  ),
  p(
    'mu_per_cp_max',
    'MU',
    'planned',
    'relative',
    1,
    5,
    'dose',
    'largest MU of one control point: Meterset × the largest step of the cumulative weight [Index] / 100',
  ),
  p('cp_count', 'count', 'planned', 'absolute', 0.5, 1, 'integrity', 'number of control points'),
  p(
    'gantry_mean',
    'deg',
    'planned',
    'angle',
    0.5,
    1,
    'angles',
    'circular mean Gantry_Ang over the control points',
  ),
  p(
    'coll_mean',
    'deg',
    'planned',
    'angle',
    0.5,
    1,
    'angles',
    'circular mean Coll_Ang over the control points',
  ),
  p('jaw_x1', 'cm', 'planned', 'absolute', 0.05, 0.2, 'jaws', 'mean Coll_X1 over the control points'),
  p('jaw_x2', 'cm', 'planned', 'absolute', 0.05, 0.2, 'jaws', 'mean Coll_X2 over the control points'),
  p('jaw_y1', 'cm', 'planned', 'absolute', 0.05, 0.2, 'jaws', 'mean Coll_Y1 over the control points'),
  p('jaw_y2', 'cm', 'planned', 'absolute', 0.05, 0.2, 'jaws', 'mean Coll_Y2 over the control points'),
  p(
    'aperture',
    'cm',
    'planned',
    'relative',
    1,
    5,
    'aperture',
    'MLC opening: Σ max(0, B − A) over the used leaf pairs, averaged over the control points (proportional to the area for equal leaf widths)',
  ),
  p(
    'aperture_centroid_x',
    'cm',
    'planned',
    'absolute',
    0.05,
    0.2,
    'aperture',
    'opening-weighted mean of the leaf-pair centres (A + B) / 2, averaged over the control points',
  ),
  p(
    'aperture_centroid_y',
    'count',
    'planned',
    'absolute',
    0.1,
    0.5,
    'aperture',
    'opening-weighted mean leaf-pair index, relative to the middle pair (leaf-pair units)',
  ),
  p(
    'leaf_count',
    'count',
    'planned',
    'absolute',
    0.5,
    1,
    'integrity',
    'MLC_Leaves of the first control point',
  ),
  p(
    'offset_superior',
    'cm',
    'measured',
    'absolute',
    0.1,
    0.5,
    'position',
    'Superior_Offset of the offset used',
  ),
  p(
    'offset_anterior',
    'cm',
    'measured',
    'absolute',
    0.1,
    0.5,
    'position',
    'Anterior_Offset of the offset used',
  ),
  p(
    'offset_lateral',
    'cm',
    'measured',
    'absolute',
    0.1,
    0.5,
    'position',
    'Lateral_Offset of the offset used',
  ),
]);

export const PARAMETER_COUNT = SERIES_PARAMETERS.length;
export const PARAMETER_INDEX: Readonly<Record<SeriesParameterId, number>> = Object.freeze(
  Object.fromEntries(SERIES_PARAMETER_IDS.map((id, i) => [id, i])) as Record<SeriesParameterId, number>,
);

/** Deviation of `x` from `ref` in the parameter's scale (NaN when either is NaN). */
export function deviation(param: SeriesParameter, x: number, ref: number): number {
  if (Number.isNaN(x) || Number.isNaN(ref)) return Number.NaN;
  switch (param.scale) {
    case 'relative':
      // A zero reference has no relative scale: any change is reported as 100 %.
      return ref === 0 ? (x === 0 ? 0 : 100 * Math.sign(x)) : ((x - ref) / Math.abs(ref)) * 100;
    case 'angle': {
      let d = (x - ref) % 360;
      if (d > 180) d -= 360;
      if (d <= -180) d += 360;
      return d;
    }
    case 'absolute':
      return x - ref;
  }
}
