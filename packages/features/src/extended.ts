import { Matrix, ValidationError } from '@anomalia/core';
import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { usedLeafCount } from '@anomalia/mosaiq';
import { type FeatureDefinition, QA74_FEATURES } from './definitions';
import { checkRecord, type ExtractOptions, QA74_COLS, qa74Context, writeQa74 } from './extract74';
import type { FeatureMatrix } from './feature-matrix';
import { unobservedColumns } from './feature-tables';

/**
 * The extended set: the 74 QA features unchanged, then features that need context the original
 * never looked at: other records of the same patient and field (duplicates, fraction-to-fraction
 * changes), the age of the offset, jaws, and control-point consistency.
 */
const COHORT: FeatureDefinition[] = [
  {
    name: 'same_field_repeats_5min',
    category: 'cohort',
    unit: 'count',
    description: 'other complete (or unknown), non-QA deliveries of the same patient and field within 5 min',
    catches: ['duplicate_treatments'],
    missingValue: 0,
    missingWhen: 'Pat_ID1, FLD_ID or Create_DtTm is NULL',
  },
  {
    name: 'other_field_within_10s',
    category: 'cohort',
    unit: 'count',
    description:
      'other complete (or unknown), non-QA deliveries of the same patient on another field within 10 s',
    catches: ['duplicate_treatments'],
    missingValue: 0,
    missingWhen: 'Pat_ID1 or Create_DtTm is NULL',
  },
  {
    name: 'hours_since_previous_delivery',
    category: 'cohort',
    unit: 'h',
    description: 'time since the previous complete, non-QA delivery of the same patient and field',
    catches: ['duplicate_treatments', 'timestamp_inconsistencies', 'selective_fraction_sabotage'],
    missingValue: 0,
    missingWhen: 'no earlier delivery of the field in the batch or its history',
  },
  {
    name: 'duration_ratio_vs_previous',
    category: 'cohort',
    unit: 'ratio',
    description: 'this record’s duration over the previous delivery’s duration (same patient and field)',
    catches: ['timestamp_inconsistencies', 'audit_trail_manipulation'],
    missingValue: 1,
    missingWhen: 'no earlier delivery, or a duration is missing or not positive',
  },
  {
    name: 'offset_shift_vs_previous',
    category: 'cohort',
    unit: 'cm',
    description:
      'distance between this offset vector and the previous delivery’s (fraction-to-fraction set-up change)',
    catches: ['gradual_parameter_drift', 'invalid_offset_data', 'coordinated_multifield_attack'],
    missingValue: 0,
    missingWhen: 'no earlier delivery, or either has no offset',
  },
  {
    name: 'offset_age_hours',
    category: 'cohort',
    unit: 'h',
    description: 'Create_DtTm − Study_DtTm of the offset used (negative: acquired after the beam)',
    catches: ['invalid_offset_data', 'timestamp_inconsistencies'],
    missingValue: 0,
    missingWhen: 'no valid offset, or a timestamp is NULL',
  },
  {
    name: 'leaf_count_distinct',
    category: 'mlc',
    unit: 'count',
    description: 'distinct numbers of decoded leaves over the control points (1 when consistent)',
    catches: ['mlc_leaf_count_mismatch', 'corrupt_mlc_data'],
    missingValue: 1,
    missingWhen: 'the field has no control points',
  },
  {
    name: 'index_decreases',
    category: 'meterset',
    unit: 'count',
    description: 'control points whose cumulative weight [Index] is below the previous point’s',
    catches: ['meterset_inconsistency', 'missing_control_points'],
    missingValue: 0,
    missingWhen: 'the field has no control points',
  },
  {
    name: 'field_x_mean',
    category: 'mlc',
    unit: 'cm',
    description: 'mean Coll_X2 − Coll_X1 over the control points',
    catches: ['collimator_jaw_manipulation'],
    missingValue: 0,
    missingWhen: 'no control point has both X jaws',
  },
  {
    name: 'field_y_mean',
    category: 'mlc',
    unit: 'cm',
    description: 'mean Coll_Y2 − Coll_Y1 over the control points',
    catches: ['collimator_jaw_manipulation'],
    missingValue: 0,
    missingWhen: 'no control point has both Y jaws',
  },
  {
    name: 'jaw_y_center_mean',
    category: 'mlc',
    unit: 'cm',
    description: 'mean (Coll_Y1 + Coll_Y2) / 2: the Y jaws’ asymmetry',
    catches: ['collimator_jaw_manipulation'],
    missingValue: 0,
    missingWhen: 'no control point has both Y jaws',
  },
  {
    name: 'jaw_inverted_count',
    category: 'mlc',
    unit: 'count',
    description: 'control points with Coll_X1 > Coll_X2 or Coll_Y1 > Coll_Y2',
    catches: ['collimator_jaw_manipulation'],
    missingValue: 0,
    missingWhen: 'the field has no control points',
  },
  {
    name: 'qa74_missing_count',
    category: 'cohort',
    unit: 'count',
    description:
      'how many of the 74 QA features could not be computed (a NULL timestamp or reference hides behind filled-in values otherwise)',
    catches: ['null_required_fields', 'orphaned_records', 'missing_control_points'],
    missingValue: 0,
    missingWhen: 'never',
  },
];

export const QA_EXTENDED_FEATURES: readonly FeatureDefinition[] = Object.freeze([
  ...QA74_FEATURES,
  ...COHORT,
]);
export const QA_EXTENDED_FEATURE_NAMES: readonly string[] = Object.freeze(
  QA_EXTENDED_FEATURES.map((f) => f.name),
);
const COLS = QA_EXTENDED_FEATURES.length;
const E = QA74_COLS; // first extended column

export interface ExtendedOptions extends ExtractOptions {
  /**
   * Earlier records used as context only (no rows are produced for them), e.g. the previous
   * weeks when extracting a day's batch, so fraction-to-fraction features see the last fraction.
   */
  history?: readonly TreatmentRecord[];
}

interface FieldExtras {
  leafCounts: number;
  indexDecreases: number;
  fieldX: number;
  fieldY: number;
  yCenter: number;
  inverted: number;
  xMissing: boolean;
  yMissing: boolean;
}

function fieldExtras(points: readonly TxFieldPointRow[]): FieldExtras {
  const counts = new Set<number>();
  let decreases = 0;
  let prevIndex: number | null = null;
  let nx = 0;
  let sx = 0;
  let ny = 0;
  let sy = 0;
  let sc = 0;
  let inverted = 0;
  for (const p of points) {
    counts.add(
      Math.min(
        p.A_Leaf_Set === null ? 0 : usedLeafCount(p.A_Leaf_Set.length, p.MLC_Leaves),
        p.B_Leaf_Set === null ? 0 : usedLeafCount(p.B_Leaf_Set.length, p.MLC_Leaves),
      ),
    );
    if (p.Index !== null) {
      if (prevIndex !== null && p.Index < prevIndex) decreases++;
      prevIndex = p.Index;
    }
    let bad = false;
    if (p.Coll_X1 !== null && p.Coll_X2 !== null) {
      nx++;
      sx += p.Coll_X2 - p.Coll_X1;
      if (p.Coll_X1 > p.Coll_X2) bad = true;
    }
    if (p.Coll_Y1 !== null && p.Coll_Y2 !== null) {
      ny++;
      sy += p.Coll_Y2 - p.Coll_Y1;
      sc += (p.Coll_Y1 + p.Coll_Y2) / 2;
      if (p.Coll_Y1 > p.Coll_Y2) bad = true;
    }
    if (bad) inverted++;
  }
  return {
    leafCounts: points.length === 0 ? 1 : counts.size,
    indexDecreases: decreases,
    fieldX: nx ? sx / nx : 0,
    fieldY: ny ? sy / ny : 0,
    yCenter: ny ? sc / ny : 0,
    inverted,
    xMissing: nx === 0,
    yMissing: ny === 0,
  };
}

function setMissing(x: Float64Array, m: Uint8Array, at: number, j: number): void {
  x[at + j] = QA_EXTENDED_FEATURES[j]!.missingValue;
  m[at + j] = 1;
}

const isDelivery = (r: TreatmentRecord) =>
  r.treatment.WasBeamComplete !== false && r.treatment.WasQAMode !== true;
const durationOf = (r: TreatmentRecord) => {
  const c = r.treatment.Create_DtTm?.getTime();
  const e = r.treatment.Edit_DtTm?.getTime();
  return c === undefined || e === undefined ? Number.NaN : (e - c) / 1000;
};

/**
 * Deliveries (indices into `all`) grouped by key, each list in time order; `groupOf[i]` is the
 * list record i's key belongs to (whether or not record i is itself a delivery).
 */
function groupDeliveries(
  all: readonly TreatmentRecord[],
  times: Float64Array,
  key: (r: TreatmentRecord) => string | null,
): (number[] | null)[] {
  const groups = new Map<string, number[]>();
  const groupOf: (number[] | null)[] = new Array(all.length).fill(null);
  for (let i = 0; i < all.length; i++) {
    const r = all[i]!;
    const k = key(r);
    if (k === null) continue;
    let list = groups.get(k);
    if (!list) {
      list = [];
      groups.set(k, list);
    }
    groupOf[i] = list;
    if (isDelivery(r) && !Number.isNaN(times[i]!)) list.push(i);
  }
  for (const list of groups.values()) list.sort((a, b) => times[a]! - times[b]! || a - b);
  return groupOf;
}

/** First position in `list` whose time is ≥ t. */
function lowerBound(times: Float64Array, list: readonly number[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[list[mid]!]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const fieldKey = (r: TreatmentRecord) =>
  r.treatment.Pat_ID1 === null || r.treatment.FLD_ID === null
    ? null
    : `${r.treatment.Pat_ID1}|${r.treatment.FLD_ID}`;
const patientKey = (r: TreatmentRecord) =>
  r.treatment.Pat_ID1 === null ? null : String(r.treatment.Pat_ID1);

/** The 74 QA features followed by the cohort, offset-age, jaw and consistency features. */
export function extractQaExtended(
  records: readonly TreatmentRecord[],
  options: ExtendedOptions = {},
): FeatureMatrix {
  if (!Array.isArray(records)) throw new ValidationError('records', 'an array of TreatmentRecords', records);
  const history = options.history ?? [];
  if (!Array.isArray(history))
    throw new ValidationError('options.history', 'an array of TreatmentRecords', history);
  for (let i = 0; i < records.length; i++) checkRecord(records[i], i);
  for (let i = 0; i < history.length; i++) {
    try {
      checkRecord(history[i], i);
    } catch {
      throw new ValidationError(`options.history[${i}]`, 'a TreatmentRecord', history[i]);
    }
  }
  const ctx = qa74Context(options);
  // Unobserved extended columns (the 74 are handled by writeQa74).
  const unobserved = unobservedColumns(QA_EXTENDED_FEATURES, options.absentTables).filter((j) => j >= E);
  // A batch record supersedes its history version (same TTX_ID): counting both would make every
  // re-read record its own duplicate.
  const inBatch = new Set(records.map((r) => r.treatment.TTX_ID));
  const context = history.filter((r) => !inBatch.has(r.treatment.TTX_ID));
  const all = context.length ? [...context, ...records] : records;
  const base = context.length;
  const times = Float64Array.from(all, (r) => r.treatment.Create_DtTm?.getTime() ?? Number.NaN);
  const byField = groupDeliveries(all, times, fieldKey);
  const byPatient = groupDeliveries(all, times, patientKey);
  const extras = new Map<readonly TxFieldPointRow[], FieldExtras>();
  const n = records.length;
  const x = new Float64Array(n * COLS);
  const m = new Uint8Array(n * COLS);
  const ids = new Float64Array(n);

  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const at = i * COLS;
    writeQa74(r, ctx, x, m, at);
    ids[i] = r.treatment.TTX_ID;
    const self = base + i;
    const t = times[self]!;

    // Repeats of the same field within 5 min and of other fields within 10 s.
    const sameField = byField[self]!;
    if (sameField === null || Number.isNaN(t)) setMissing(x, m, at, E);
    else {
      let count = 0;
      for (let k = lowerBound(times, sameField, t - 300_000); k < sameField.length; k++) {
        const j = sameField[k]!;
        if (times[j]! > t + 300_000) break;
        if (j !== self) count++;
      }
      x[at + E] = count;
    }
    const samePatient = byPatient[self]!;
    if (samePatient === null || Number.isNaN(t)) setMissing(x, m, at, E + 1);
    else {
      let count = 0;
      for (let k = lowerBound(times, samePatient, t - 10_000); k < samePatient.length; k++) {
        const j = samePatient[k]!;
        if (times[j]! > t + 10_000) break;
        if (j !== self && all[j]!.treatment.FLD_ID !== r.treatment.FLD_ID) count++;
      }
      x[at + E + 1] = count;
    }

    // The previous delivery of the same field.
    let prev: TreatmentRecord | null = null;
    let prevTime = Number.NaN;
    if (sameField !== null && !Number.isNaN(t)) {
      const k = lowerBound(times, sameField, t) - 1;
      if (k >= 0) {
        prev = all[sameField[k]!]!;
        prevTime = times[sameField[k]!]!;
      }
    }
    if (prev === null) {
      setMissing(x, m, at, E + 2);
      setMissing(x, m, at, E + 3);
      setMissing(x, m, at, E + 4);
    } else {
      x[at + E + 2] = (t - prevTime) / 3_600_000;
      const d = durationOf(r);
      const dp = durationOf(prev);
      if (!Number.isNaN(d) && !Number.isNaN(dp) && dp > 0) x[at + E + 3] = d / dp;
      else setMissing(x, m, at, E + 3);
      const o = r.offset;
      const op = prev.offset;
      if (o && op) {
        const ds = (o.Superior_Offset ?? 0) - (op.Superior_Offset ?? 0);
        const da = (o.Anterior_Offset ?? 0) - (op.Anterior_Offset ?? 0);
        const dl = (o.Lateral_Offset ?? 0) - (op.Lateral_Offset ?? 0);
        x[at + E + 4] = Math.sqrt(ds * ds + da * da + dl * dl);
      } else setMissing(x, m, at, E + 4);
    }

    // Age of the offset used.
    const study = r.offset?.Study_DtTm?.getTime() ?? Number.NaN;
    if (Number.isNaN(study) || Number.isNaN(t)) setMissing(x, m, at, E + 5);
    else x[at + E + 5] = (t - study) / 3_600_000;

    // Per-field consistency and jaws.
    let fx = extras.get(r.controlPoints);
    if (!fx) {
      fx = fieldExtras(r.controlPoints);
      extras.set(r.controlPoints, fx);
    }
    const none = r.controlPoints.length === 0;
    if (none) {
      setMissing(x, m, at, E + 6);
      setMissing(x, m, at, E + 7);
      setMissing(x, m, at, E + 11);
    } else {
      x[at + E + 6] = fx.leafCounts;
      x[at + E + 7] = fx.indexDecreases;
      x[at + E + 11] = fx.inverted;
    }
    if (fx.xMissing) setMissing(x, m, at, E + 8);
    else x[at + E + 8] = fx.fieldX;
    if (fx.yMissing) {
      setMissing(x, m, at, E + 9);
      setMissing(x, m, at, E + 10);
    } else {
      x[at + E + 9] = fx.fieldY;
      x[at + E + 10] = fx.yCenter;
    }

    let missing74 = 0;
    for (let c = 0; c < E; c++) missing74 += m[at + c]!;
    x[at + E + 12] = missing74;
    for (let k = 0; k < unobserved.length; k++) {
      const j = unobserved[k]!;
      x[at + j] = QA_EXTENDED_FEATURES[j]!.missingValue;
      m[at + j] = 0;
    }
  }
  return {
    X: new Matrix(n, COLS, x),
    featureNames: [...QA_EXTENDED_FEATURE_NAMES],
    missing: m,
    recordIds: ids,
  };
}
