import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { readLeafSlot, usedLeafCount } from '@anomalia/mosaiq';
import { canonicalPoints } from '../points-content';
import { PARAMETER_INDEX as P, PARAMETER_COUNT } from './parameters';

/**
 * One delivered fraction as the longitudinal tracker remembers it: the parameters of
 * `SERIES_PARAMETERS` (NaN when they cannot be computed) and what the audit, offset and timing
 * evidence needs. A snapshot is taken when the fraction is observed, so a monitor keeps the values
 * a fraction had when it was delivered even if a shared row (the field, its control points) is
 * edited later.
 */
export interface FractionSnapshot {
  readonly ttxId: number;
  /** TrackTreatment.Create_DtTm (ms). */
  readonly time: number;
  readonly patientId: number;
  /** TrackTreatment.FLD_ID: the field version delivered. */
  readonly fieldId: number;
  /** The course's field: TxField.FLD_SET_ID (stable across versions), else FLD_ID. */
  readonly fieldSetId: number;
  readonly machineId: number | null;
  /** One value per series parameter, in `SERIES_PARAMETERS` order. */
  readonly values: Float64Array;
  /** Hash of the planned content (TxField.Meterset, Type_Enum and every control-point column used). */
  readonly fingerprint: number;
  readonly offsetId: number | null;
  /** Offset.Offset_Type of the offset used (2 localization, 3 portal, 4 third party), null without one. */
  readonly offsetType: number | null;
  /** Offset.Study_DtTm of the offset used (ms, NaN without one). */
  readonly offsetStudy: number;
  /** Create_DtTm − Study_DtTm of the offset used (h, NaN without one). */
  readonly offsetAgeHours: number;
  /** Edit_DtTm − Create_DtTm (s, NaN when either is NULL). */
  readonly durationSeconds: number;
  /** Latest Edit_DtTm of the TxField row and its control points (ms, NaN when none is set). */
  readonly fieldEditedAt: number;
  readonly createId: number | null;
  readonly editId: number | null;
  /** Used leaf pairs with both banks stored as exactly 0, at the control point with most of them. */
  readonly zeroLeafPairs: number;
  /** Leaf pairs (over all points) with B < A. */
  readonly negativeGaps: number;
  /** MLC_Leaves of the first control point (NaN without control points). */
  readonly declaredLeaves: number;
  /** The field is an imaging field (TxField.Type_Enum 3 setup, 4 kV setup, 6 port). */
  readonly imaging: boolean;
  /** TxField.Version of the version delivered (0: the current one; null without a field). */
  readonly fieldVersion: number | null;
  /** TxField.Edit_ID of the version delivered. */
  readonly fieldEditorId: number | null;
  /** TrackTreatment.Staff_ID: who logged the treatment (the therapist at the console). */
  readonly staffId: number | null;
  /** The version delivered is an archived one (TxField.Version ≠ 0) without Edit_DtTm or Edit_ID. */
  readonly versionAuditMissing: boolean;
  /** The patient's age at this fraction (years, NaN without Birth_DtTm). */
  readonly ageYears: number;
  /** Site.Site_Name, or null. */
  readonly siteName: string | null;
}

/** TxField.Type_Enum of imaging fields: 3 setup, 4 kV setup, 6 port. */
export const IMAGING_FIELD_TYPES: ReadonlySet<number> = new Set([3, 4, 6]);

/** A delivered fraction: a completed (or unknown), non-QA beam with a patient, a field and a time. */
export function isCourseDelivery(r: TreatmentRecord): boolean {
  const t = r.treatment;
  return (
    t.WasBeamComplete !== false &&
    t.WasQAMode !== true &&
    t.Pat_ID1 !== null &&
    t.FLD_ID !== null &&
    t.Create_DtTm !== null
  );
}

/**
 * A QA-mode verification of a patient's field (patient-specific QA of the approved plan, before
 * the course): a completed (or unknown) QA-mode beam with a patient, a field and a time.
 */
export function isVerification(r: TreatmentRecord): boolean {
  const t = r.treatment;
  return (
    t.WasQAMode === true &&
    t.WasBeamComplete !== false &&
    t.Pat_ID1 !== null &&
    t.FLD_ID !== null &&
    t.Create_DtTm !== null
  );
}

/** The course a record belongs to: patient × field set (`null` without a patient or field). */
export function courseKeyOf(r: TreatmentRecord): string | null {
  const t = r.treatment;
  if (t.Pat_ID1 === null || t.FLD_ID === null) return null;
  return `${t.Pat_ID1}|${fieldSetOf(r)}`;
}

function fieldSetOf(r: TreatmentRecord): number {
  return r.field?.FLD_SET_ID ?? r.treatment.FLD_ID!;
}

/** Everything of a snapshot that depends only on the control points (shared by a field's records). */
interface PointStats {
  cpCount: number;
  maxIndexStep: number;
  gantryMean: number;
  collMean: number;
  jaws: [number, number, number, number];
  aperture: number;
  centroidX: number;
  centroidY: number;
  declaredLeaves: number;
  zeroLeafPairs: number;
  negativeGaps: number;
  editedAt: number;
  hash: number;
}

const pointCache = new WeakMap<readonly TxFieldPointRow[], PointStats>();

// FNV-1a over the bits of numbers: a cheap fingerprint of planned content.
const FNV_OFFSET = 0x811c9dc5;
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
function mix(h: number, v: number | null | undefined): number {
  scratch[0] = v ?? Number.NaN;
  for (let i = 0; i < 8; i++) h = Math.imul(h ^ scratchBytes[i]!, 0x01000193);
  return h >>> 0;
}
function mixBytes(h: number, bytes: Uint8Array | null): number {
  if (bytes === null) return mix(h, -1);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return mix(h >>> 0, bytes.length);
}

function circularMean(sumSin: number, sumCos: number, n: number): number {
  if (n === 0) return Number.NaN;
  const deg = (Math.atan2(sumSin, sumCos) * 180) / Math.PI;
  return deg < 0 ? deg + 360 : deg;
}

const RAD = Math.PI / 180;

/**
 * The statistics of a list of control points: computed once per content (`canonicalPoints`),
 * then remembered for the list itself.
 */
function pointStats(points: readonly TxFieldPointRow[]): PointStats {
  const cached = pointCache.get(points);
  if (cached) return cached;
  const list = canonicalPoints(points);
  let stats = pointCache.get(list);
  if (!stats) {
    stats = computePointStats(list);
    pointCache.set(list, stats);
  }
  pointCache.set(points, stats);
  return stats;
}

function computePointStats(points: readonly TxFieldPointRow[]): PointStats {
  let gs = 0;
  let gc = 0;
  let gn = 0;
  let cs = 0;
  let cc = 0;
  let cn = 0;
  const jawSum = [0, 0, 0, 0];
  const jawN = [0, 0, 0, 0];
  let apertureSum = 0;
  let apertureN = 0;
  let cxSum = 0;
  let cxN = 0;
  let cySum = 0;
  let cyN = 0;
  let zeroMax = 0;
  let negative = 0;
  let maxStep = 0;
  let prevIndex: number | null = null;
  let editedAt = Number.NaN;
  let hash = FNV_OFFSET;
  for (const cp of points) {
    hash = mix(hash, cp.Point);
    hash = mix(hash, cp.Index);
    hash = mix(hash, cp.MLC_Leaves);
    hash = mix(hash, cp.Gantry_Ang);
    hash = mix(hash, cp.Coll_Ang);
    hash = mix(hash, cp.Coll_X1);
    hash = mix(hash, cp.Coll_X2);
    hash = mix(hash, cp.Coll_Y1);
    hash = mix(hash, cp.Coll_Y2);
    hash = mixBytes(hash, cp.A_Leaf_Set);
    hash = mixBytes(hash, cp.B_Leaf_Set);
    const e = cp.Edit_DtTm?.getTime();
    if (e !== undefined && !(e <= editedAt)) editedAt = e;
    if (cp.Gantry_Ang !== null) {
      gs += Math.sin(cp.Gantry_Ang * RAD);
      gc += Math.cos(cp.Gantry_Ang * RAD);
      gn++;
    }
    if (cp.Coll_Ang !== null) {
      cs += Math.sin(cp.Coll_Ang * RAD);
      cc += Math.cos(cp.Coll_Ang * RAD);
      cn++;
    }
    const jaws = [cp.Coll_X1, cp.Coll_X2, cp.Coll_Y1, cp.Coll_Y2];
    for (let j = 0; j < 4; j++) {
      const v = jaws[j];
      if (v !== null && v !== undefined) {
        jawSum[j]! += v;
        jawN[j]!++;
      }
    }
    if (cp.Index !== null) {
      if (prevIndex !== null) maxStep = Math.max(maxStep, Math.abs(cp.Index - prevIndex));
      prevIndex = cp.Index;
    }
    const a = cp.A_Leaf_Set;
    const b = cp.B_Leaf_Set;
    if (a === null || b === null) continue;
    const n = Math.min(usedLeafCount(a.length, cp.MLC_Leaves), usedLeafCount(b.length, cp.MLC_Leaves));
    if (n === 0) continue;
    let open = 0;
    let wx = 0;
    let wy = 0;
    let zeros = 0;
    const middle = (n - 1) / 2;
    for (let i = 0; i < n; i++) {
      const ua = readLeafSlot(a, i);
      const ub = readLeafSlot(b, i);
      if (ua === 0 && ub === 0) zeros++;
      const gap = (ub - ua) / 100;
      if (gap < 0) negative++;
      if (gap > 0) {
        open += gap;
        wx += gap * ((ua + ub) / 200);
        wy += gap * (i - middle);
      }
    }
    zeroMax = Math.max(zeroMax, zeros);
    apertureSum += open;
    apertureN++;
    if (open > 0) {
      cxSum += wx / open;
      cxN++;
      cySum += wy / open;
      cyN++;
    }
  }
  const stats: PointStats = {
    cpCount: points.length,
    maxIndexStep: points.length === 1 ? 100 : maxStep,
    gantryMean: circularMean(gs, gc, gn),
    collMean: circularMean(cs, cc, cn),
    jaws: [0, 1, 2, 3].map((j) => (jawN[j] ? jawSum[j]! / jawN[j]! : Number.NaN)) as PointStats['jaws'],
    aperture: apertureN ? apertureSum / apertureN : Number.NaN,
    centroidX: cxN ? cxSum / cxN : Number.NaN,
    centroidY: cyN ? cySum / cyN : Number.NaN,
    declaredLeaves: points.length ? (points[0]!.MLC_Leaves ?? Number.NaN) : Number.NaN,
    zeroLeafPairs: zeroMax,
    negativeGaps: negative,
    editedAt,
    hash,
  };
  return stats;
}

/** MLC facts of a record's control points that need no course (computed once per field). */
export function leafFacts(r: TreatmentRecord): {
  zeroLeafPairs: number;
  negativeGaps: number;
  declaredLeaves: number;
} {
  const ps = pointStats(r.controlPoints);
  return {
    zeroLeafPairs: ps.zeroLeafPairs,
    negativeGaps: ps.negativeGaps,
    declaredLeaves: ps.declaredLeaves,
  };
}

const YEAR_MS = 365.2425 * 86_400_000;
const ageAt = (birth: Date | null, time: number) =>
  birth === null ? Number.NaN : (time - birth.getTime()) / YEAR_MS;

/** The snapshot of a delivered fraction (see `isCourseDelivery`); null for any other record. */
export function snapshotOf(r: TreatmentRecord): FractionSnapshot | null {
  if (!isCourseDelivery(r)) return null;
  return takeSnapshot(r);
}

/** The snapshot of any record with a patient, a field and a time (deliveries or not). */
export function takeSnapshot(r: TreatmentRecord): FractionSnapshot | null {
  const t = r.treatment;
  if (t.Pat_ID1 === null || t.FLD_ID === null || t.Create_DtTm === null) return null;
  const time = t.Create_DtTm.getTime();
  const ps = pointStats(r.controlPoints);
  const values = new Float64Array(PARAMETER_COUNT).fill(Number.NaN);
  const meterset = r.field?.Meterset ?? Number.NaN;
  values[P.meterset] = meterset;
  values[P.dose_per_fraction] = r.site?.Dose_Tx ?? Number.NaN;
  values[P.mu_per_cp_max] = ps.cpCount ? (meterset * ps.maxIndexStep) / 100 : Number.NaN;
  values[P.cp_count] = ps.cpCount;
  values[P.gantry_mean] = ps.gantryMean;
  values[P.coll_mean] = ps.collMean;
  values[P.jaw_x1] = ps.jaws[0];
  values[P.jaw_x2] = ps.jaws[1];
  values[P.jaw_y1] = ps.jaws[2];
  values[P.jaw_y2] = ps.jaws[3];
  values[P.aperture] = ps.aperture;
  values[P.aperture_centroid_x] = ps.centroidX;
  values[P.aperture_centroid_y] = ps.centroidY;
  values[P.leaf_count] = ps.declaredLeaves;
  const o = r.offset;
  values[P.offset_superior] = o?.Superior_Offset ?? Number.NaN;
  values[P.offset_anterior] = o?.Anterior_Offset ?? Number.NaN;
  values[P.offset_lateral] = o?.Lateral_Offset ?? Number.NaN;
  const study = o?.Study_DtTm?.getTime() ?? Number.NaN;
  const edit = t.Edit_DtTm?.getTime() ?? Number.NaN;
  const fieldEdit = r.field?.Edit_DtTm?.getTime() ?? Number.NaN;
  let fieldEditedAt = ps.editedAt;
  if (!Number.isNaN(fieldEdit) && !(fieldEdit <= fieldEditedAt)) fieldEditedAt = fieldEdit;
  let fingerprint = mix(ps.hash, meterset);
  fingerprint = mix(fingerprint, r.site?.Dose_Tx ?? null);
  fingerprint = mix(fingerprint, r.field?.Type_Enum ?? null);
  return {
    ttxId: t.TTX_ID,
    time,
    patientId: t.Pat_ID1,
    fieldId: t.FLD_ID,
    fieldSetId: fieldSetOf(r),
    machineId: t.Machine_ID_Staff_ID ?? r.field?.Machine_ID_Staff_ID ?? null,
    values,
    fingerprint,
    offsetId: o?.OFF_ID ?? null,
    offsetType: o?.Offset_Type ?? null,
    offsetStudy: study,
    offsetAgeHours: Number.isNaN(study) ? Number.NaN : (time - study) / 3_600_000,
    durationSeconds: Number.isNaN(edit) ? Number.NaN : (edit - time) / 1000,
    fieldEditedAt,
    createId: t.Create_ID,
    editId: t.Edit_ID,
    zeroLeafPairs: ps.zeroLeafPairs,
    negativeGaps: ps.negativeGaps,
    declaredLeaves: ps.declaredLeaves,
    imaging: IMAGING_FIELD_TYPES.has(r.field?.Type_Enum ?? -1),
    fieldVersion: r.field?.Version ?? null,
    fieldEditorId: r.field?.Edit_ID ?? null,
    staffId: t.Staff_ID,
    versionAuditMissing:
      r.field !== null &&
      r.field.Version !== null &&
      r.field.Version !== 0 &&
      (r.field.Edit_DtTm === null || r.field.Edit_ID === null),
    ageYears: ageAt(r.patient?.Birth_DtTm ?? null, time),
    siteName: r.site?.Site_Name ?? null,
  };
}

/**
 * Snapshots by record object, for a caller whose records never change once made: a monitor's
 * loaded records (an edited row is read again as a new record object). The trackers and the batch
 * extractor given the same book then snapshot a record once however many batches it is history
 * for. The book holds its records: `sweep()` between batches forgets those not asked for since the
 * previous sweep. (Plain maps, not a WeakMap: a WeakMap of every loaded record made each young
 * collection cost more than the snapshots it saved.)
 */
export class SnapshotBook {
  private recent = new Map<TreatmentRecord, FractionSnapshot | null>();
  private older = new Map<TreatmentRecord, FractionSnapshot | null>();

  /** `takeSnapshot(record)`, taken the first time the record is asked for. */
  of(record: TreatmentRecord): FractionSnapshot | null {
    let s = this.recent.get(record);
    if (s !== undefined) return s;
    s = this.older.get(record);
    if (s === undefined) s = takeSnapshot(record);
    this.recent.set(record, s);
    return s;
  }

  /** Forgets the snapshots not asked for since the previous sweep. */
  sweep(): void {
    this.older = this.recent;
    this.recent = new Map();
  }

  /** Snapshots held. */
  get size(): number {
    return this.recent.size + this.older.size;
  }
}
