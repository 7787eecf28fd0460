import { readLeafSlot, type TreatmentRecord, type TxFieldPointRow, usedLeafCount } from '@anomalia/mosaiq';

/**
 * The clinical size of a change to a course, measured against the clean course:
 *
 * - `dosePercent`: Σ (corrupted − clean meterset) / Σ clean meterset over the course's fractions,
 *   in % (a delivery with no clean counterpart, e.g. a duplicate, adds its whole meterset);
 * - `geometryMm`: the mean over the course's fractions of each fraction's displacement, the
 *   largest of: the jaws' mean |Δ| and the MLC's mean (over control points) largest leaf |Δ|, the
 *   set-up offset's |Δ vector|, and gantry or collimator rotation as an arc 10 cm from the
 *   isocentre (1° ≈ 1.75 mm); `maxFractionMm` is the largest single fraction's.
 *
 * The thresholds of issue 17 (≥ 5 % cumulative dose or ≥ 3 mm geometric) apply to these.
 */
export interface CourseEffect {
  readonly dosePercent: number;
  readonly geometryMm: number;
  readonly maxFractionMm: number;
  readonly fractions: number;
}

const ARC_RADIUS_MM = 100;

function wrapped(a: number | null, b: number | null): number {
  if (a === null || b === null) return 0;
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

function pointDisplacementMm(a: TxFieldPointRow, b: TxFieldPointRow): number {
  let jaws = 0;
  for (const k of ['Coll_X1', 'Coll_X2', 'Coll_Y1', 'Coll_Y2'] as const) {
    const x = a[k];
    const y = b[k];
    if (x !== null && y !== null) jaws = Math.max(jaws, Math.abs(x - y) * 10);
  }
  let leaves = 0;
  for (const bank of ['A_Leaf_Set', 'B_Leaf_Set'] as const) {
    const x = a[bank];
    const y = b[bank];
    if (x === null || y === null) continue;
    const n = Math.min(usedLeafCount(x.length, a.MLC_Leaves), usedLeafCount(y.length, b.MLC_Leaves));
    for (let i = 0; i < n; i++)
      leaves = Math.max(leaves, Math.abs(readLeafSlot(x, i) - readLeafSlot(y, i)) / 10);
  }
  const rotation = Math.max(wrapped(a.Gantry_Ang, b.Gantry_Ang), wrapped(a.Coll_Ang, b.Coll_Ang));
  return Math.max(jaws, leaves, (rotation * Math.PI * ARC_RADIUS_MM) / 180);
}

function fractionDisplacementMm(clean: TreatmentRecord, corrupted: TreatmentRecord): number {
  let points = 0;
  const n = Math.min(clean.controlPoints.length, corrupted.controlPoints.length);
  if (clean.controlPoints !== corrupted.controlPoints && n > 0) {
    let sum = 0;
    for (let i = 0; i < n; i++)
      sum += pointDisplacementMm(clean.controlPoints[i]!, corrupted.controlPoints[i]!);
    points = sum / n;
  }
  let offset = 0;
  const o = clean.offset;
  const p = corrupted.offset;
  if (o && p) {
    const d = (k: 'Superior_Offset' | 'Anterior_Offset' | 'Lateral_Offset') => (p[k] ?? 0) - (o[k] ?? 0);
    offset = Math.hypot(d('Superior_Offset'), d('Anterior_Offset'), d('Lateral_Offset')) * 10;
  }
  return Math.max(points, offset);
}

export function courseEffect(
  fractions: readonly { readonly clean: TreatmentRecord | null; readonly corrupted: TreatmentRecord }[],
): CourseEffect {
  let planned = 0;
  let delivered = 0;
  let geometry = 0;
  let maxFraction = 0;
  for (const { clean, corrupted } of fractions) {
    const mu = corrupted.field?.Meterset ?? 0;
    if (clean) {
      const mu0 = clean.field?.Meterset ?? 0;
      planned += mu0;
      delivered += mu;
      const g = fractionDisplacementMm(clean, corrupted);
      geometry += g;
      maxFraction = Math.max(maxFraction, g);
    } else delivered += mu;
  }
  return {
    dosePercent: planned > 0 ? ((delivered - planned) / planned) * 100 : 0,
    geometryMm: fractions.length ? geometry / fractions.length : 0,
    maxFractionMm: maxFraction,
    fractions: fractions.length,
  };
}
