import {
  decodeLeafSet,
  encodeLeafSet,
  isValidLeafCount,
  LEAF_SET_BYTES,
  type TxFieldPointRow,
} from '@anomalia/mosaiq';
import type { PointPatch } from './versions';

/**
 * The geometry of a control point as an attacker edits it: leaf positions (cm, bank A the
 * negative-side edge, bank B the positive side), leaf-pair boundaries along Y and the jaws.
 * Positions are written back with the mosaiq MLC codec, so blobs stay binary(200).
 */

/** Leaves travel at most this far from the central axis (cm). */
export const LEAF_LIMIT = 20;
/** The smallest gap an edit leaves between the leaves of an open pair (cm). */
export const MIN_GAP = 0.3;

function uniform(pairs: number, width: number): Float64Array {
  const b = new Float64Array(pairs + 1);
  for (let i = 0; i <= pairs; i++) b[i] = -(pairs * width) / 2 + i * width;
  return b;
}

/**
 * Leaf-pair boundaries along Y (cm) for a leaf count: 80 pairs of 0.5 cm (Elekta Agility),
 * 60 pairs of 1 / 0.5 / 1 cm (Millennium 120), otherwise pairs of equal width over 40 cm.
 */
export function leafBoundaries(pairs: number): Float64Array {
  if (pairs === 60) {
    const b = new Float64Array(61);
    let y = -20;
    for (let i = 0; i < 60; i++) {
      b[i] = y;
      y += i < 10 || i >= 50 ? 1 : 0.5;
    }
    b[60] = y;
    return b;
  }
  return uniform(pairs, 40 / pairs);
}

export interface PointGeometry {
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly boundaries: Float64Array;
  readonly x1: number;
  readonly x2: number;
  readonly y1: number;
  readonly y2: number;
}

/** The decoded geometry of a control point, or why it cannot be edited leaf by leaf. */
export function pointGeometry(cp: TxFieldPointRow): PointGeometry | string {
  if (!isValidLeafCount(cp.MLC_Leaves)) return `Point ${cp.Point} has MLC_Leaves ${cp.MLC_Leaves}`;
  const a = decodeLeafSet(cp.A_Leaf_Set, cp.MLC_Leaves);
  const b = decodeLeafSet(cp.B_Leaf_Set, cp.MLC_Leaves);
  if (a.issues.length > 0 || b.issues.length > 0) {
    return `Point ${cp.Point} has malformed leaf sets (${[...a.issues, ...b.issues].join(', ')})`;
  }
  if (cp.Coll_Y1 === null || cp.Coll_Y2 === null || cp.Coll_X1 === null || cp.Coll_X2 === null) {
    return `Point ${cp.Point} has a NULL jaw`;
  }
  return {
    a: a.positions,
    b: b.positions,
    boundaries: leafBoundaries(cp.MLC_Leaves),
    x1: cp.Coll_X1,
    x2: cp.Coll_X2,
    y1: cp.Coll_Y1,
    y2: cp.Coll_Y2,
  };
}

/** Why a field's control points cannot be edited leaf by leaf (the first problem), or null. */
export function apertureProblem(points: readonly TxFieldPointRow[]): string | null {
  if (points.length === 0) return 'the field has no control points';
  // Points of a field are one cached array per cohort, so the answer is cached on it.
  const known = problems.get(points);
  if (known !== undefined) return known;
  const found = findApertureProblem(points);
  problems.set(points, found);
  return found;
}

const problems = new WeakMap<readonly TxFieldPointRow[], string | null>();

function findApertureProblem(points: readonly TxFieldPointRow[]): string | null {
  if (points.length === 0) return 'the field has no control points';
  for (const cp of points) {
    const g = pointGeometry(cp);
    if (typeof g === 'string') return g;
    if (openPairs(g).length === 0) return `Point ${cp.Point} has no open leaf pair`;
  }
  return null;
}

/** Indices of the pairs that shape the field: between the Y jaws and open (B > A). */
export function openPairs(g: PointGeometry): number[] {
  const out: number[] = [];
  for (let i = 0; i < g.a.length; i++) {
    const y = (g.boundaries[i]! + g.boundaries[i + 1]!) / 2;
    if (y > g.y1 && y < g.y2 && g.b[i]! > g.a[i]!) out.push(i);
  }
  return out;
}

/** True when the head has X jaws in use (not parked at ±20 cm at every point, as on Agility). */
export function hasXJaws(points: readonly TxFieldPointRow[]): boolean {
  return points.some(
    (cp) =>
      cp.Coll_X1 !== null && cp.Coll_X2 !== null && (cp.Coll_X1 > -LEAF_LIMIT || cp.Coll_X2 < LEAF_LIMIT),
  );
}

const clampLeaf = (v: number) => Math.min(LEAF_LIMIT, Math.max(-LEAF_LIMIT, v));
/** Jaws are stored to the millimetre. */
export const roundJaw = (cm: number) => Math.round(cm * 10) / 10;

/**
 * Moves the open pairs' leaves (`moveA(i, a)`, `moveB(i, b)` give the new positions in cm),
 * keeping every leaf within its travel and every open pair at least MIN_GAP open (or as open as
 * it was, when it was narrower). Returns the patch of the blobs that change.
 */
export function moveLeaves(
  g: PointGeometry,
  pairs: readonly number[],
  moveA: (i: number, a: number) => number,
  moveB: (i: number, b: number) => number,
): PointPatch {
  const a = Float64Array.from(g.a);
  const b = Float64Array.from(g.b);
  for (const i of pairs) {
    let na = clampLeaf(moveA(i, g.a[i]!));
    let nb = clampLeaf(moveB(i, g.b[i]!));
    const minGap = Math.min(MIN_GAP, g.b[i]! - g.a[i]!);
    if (nb - na < minGap) {
      const mid = Math.min(LEAF_LIMIT - minGap / 2, Math.max(-LEAF_LIMIT + minGap / 2, (na + nb) / 2));
      na = mid - minGap / 2;
      nb = mid + minGap / 2;
    }
    a[i] = na;
    b[i] = nb;
  }
  return {
    A_Leaf_Set: encodeLeafSet(a, { byteLength: LEAF_SET_BYTES, field: 'A_Leaf_Set' }),
    B_Leaf_Set: encodeLeafSet(b, { byteLength: LEAF_SET_BYTES, field: 'B_Leaf_Set' }),
  };
}

/** New jaws with Field_X / Field_Y kept equal to X2 − X1 / Y2 − Y1 (as the application derives them). */
export function jawPatch(
  jaws: { x1?: number; x2?: number; y1?: number; y2?: number },
  cp: TxFieldPointRow,
): PointPatch {
  const x1 = roundJaw(jaws.x1 ?? cp.Coll_X1!);
  const x2 = roundJaw(jaws.x2 ?? cp.Coll_X2!);
  const y1 = roundJaw(jaws.y1 ?? cp.Coll_Y1!);
  const y2 = roundJaw(jaws.y2 ?? cp.Coll_Y2!);
  const patch: PointPatch = {};
  if (jaws.x1 !== undefined || jaws.x2 !== undefined) {
    patch.Coll_X1 = x1;
    patch.Coll_X2 = x2;
    patch.Field_X = roundJaw(x2 - x1);
  }
  if (jaws.y1 !== undefined || jaws.y2 !== undefined) {
    patch.Coll_Y1 = y1;
    patch.Coll_Y2 = y2;
    patch.Field_Y = roundJaw(y2 - y1);
  }
  return patch;
}

/** Open area of a control point's aperture (cm²): Σ over open pairs of gap × leaf width. */
export function apertureArea(g: PointGeometry): number {
  let area = 0;
  for (const i of openPairs(g)) {
    const lo = Math.max(g.boundaries[i]!, g.y1);
    const hi = Math.min(g.boundaries[i + 1]!, g.y2);
    const left = Math.max(g.a[i]!, g.x1);
    const right = Math.min(g.b[i]!, g.x2);
    if (hi > lo && right > left) area += (hi - lo) * (right - left);
  }
  return area;
}

/** Mean X position of the open pairs' centres (cm), weighted by their opening. */
export function apertureCentroidX(g: PointGeometry): number {
  let w = 0;
  let s = 0;
  for (const i of openPairs(g)) {
    const gap = g.b[i]! - g.a[i]!;
    w += gap;
    s += gap * ((g.a[i]! + g.b[i]!) / 2);
  }
  return w > 0 ? s / w : 0;
}
