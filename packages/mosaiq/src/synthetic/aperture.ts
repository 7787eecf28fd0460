import type { Rng } from '@anomalia/core';
import { LEAF_SET_BYTES, LEAF_UNITS_PER_CM, readLeafSlot } from '../mlc';
import type { MlcModel } from './machines';

/**
 * Plausible MLC apertures. Positions follow the stored convention: bank A is the negative-side
 * edge, bank B the positive side, so an open pair has B − A > 0. Pairs outside the Y jaws are
 * closed and parked behind them; open pairs keep at least the model's minimum gap; everything
 * stays within the model's position limit. Units are 1/100 cm (what is stored).
 */

/** The shape a field is planned around: a target outline at isocentre. */
export interface ApertureTarget {
  /** Centre of the target along X (cm). */
  xc: number;
  /** Y jaws (cm): Coll_Y1 < 0 < Coll_Y2 in the usual case. */
  y1: number;
  y2: number;
  /** Half-width of the outline for each leaf pair (cm; 0 for pairs outside the jaws). */
  halfWidth: Float64Array;
  /** Whether the pair lies between the Y jaws. */
  open: Uint8Array;
  /** Gap of the parked (closed) pairs (cm). */
  parkGap: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** A target of about `width` × `length` cm with an irregular, smooth outline. */
export function makeTarget(rng: Rng, mlc: MlcModel, width: number, length: number): ApertureTarget {
  const limit = mlc.positionLimit;
  const halfLength = Math.min(length / 2, limit - 1);
  const yc = clamp(rng.normal(0, 1), -limit + halfLength + 0.5, limit - halfLength - 0.5);
  const y1 = round1(Math.max(-limit, yc - halfLength));
  const y2 = round1(Math.min(limit, yc + halfLength));
  const xc = clamp(rng.normal(0, 1.5), -6, 6);
  const power = rng.uniform(0.25, 0.8);
  const halfWidth = new Float64Array(mlc.leafPairs);
  const open = new Uint8Array(mlc.leafPairs);
  let wobble = 0;
  for (let i = 0; i < mlc.leafPairs; i++) {
    const y = (mlc.boundaries[i]! + mlc.boundaries[i + 1]!) / 2;
    if (y <= y1 || y >= y2) continue;
    open[i] = 1;
    const t = (y - (y1 + y2) / 2) / ((y2 - y1) / 2);
    wobble = clamp(wobble + rng.normal(0, 0.15), -0.8, 0.8);
    const hw = (width / 2) * (1 - t * t) ** power + wobble;
    halfWidth[i] = clamp(hw, mlc.minGap, limit - Math.abs(xc) - 0.5);
  }
  return { xc, y1, y2, halfWidth, open, parkGap: round1(rng.uniform(0.4, 4)) };
}

/** A plain rectangle (electron applicators, portal images, QA fields): leaves open to ±halfX. */
export function rectangleTarget(mlc: MlcModel, halfX: number, halfY: number): ApertureTarget {
  const halfWidth = new Float64Array(mlc.leafPairs);
  const open = new Uint8Array(mlc.leafPairs);
  for (let i = 0; i < mlc.leafPairs; i++) {
    const y = (mlc.boundaries[i]! + mlc.boundaries[i + 1]!) / 2;
    if (y <= -halfY || y >= halfY) continue;
    open[i] = 1;
    halfWidth[i] = halfX;
  }
  return { xc: 0, y1: -halfY, y2: halfY, halfWidth, open, parkGap: 1 };
}

/** One control point's stored leaf sets (200 bytes each) and jaws (cm). */
export interface ApertureShape {
  a: Uint8Array;
  b: Uint8Array;
  x1: number;
  x2: number;
  y1: number;
  y2: number;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function writeSlot(blob: Uint8Array, i: number, units: number): void {
  blob[2 * i] = units & 0xff;
  blob[2 * i + 1] = (units >> 8) & 0xff;
}

/** Rounds an open pair outward so the stored gap never falls below the minimum. */
function setPair(shape: ApertureShape, i: number, a: number, b: number, mlc: MlcModel): void {
  const lim = mlc.positionLimit;
  let lo = clamp(a, -lim, lim - mlc.minGap);
  let hi = clamp(b, -lim + mlc.minGap, lim);
  if (hi - lo < mlc.minGap) {
    const mid = clamp((lo + hi) / 2, -lim + mlc.minGap / 2, lim - mlc.minGap / 2);
    lo = mid - mlc.minGap / 2;
    hi = mid + mlc.minGap / 2;
  }
  writeSlot(shape.a, i, Math.max(-lim * LEAF_UNITS_PER_CM, Math.floor(lo * LEAF_UNITS_PER_CM)));
  writeSlot(shape.b, i, Math.min(lim * LEAF_UNITS_PER_CM, Math.ceil(hi * LEAF_UNITS_PER_CM)));
}

function park(shape: ApertureShape, i: number, target: ApertureTarget, mlc: MlcModel): void {
  setPair(shape, i, target.xc - target.parkGap / 2, target.xc + target.parkGap / 2, mlc);
}

function finishJaws(shape: ApertureShape, target: ApertureTarget, mlc: MlcModel): ApertureShape {
  shape.y1 = target.y1;
  shape.y2 = target.y2;
  if (!mlc.hasXJaws) {
    shape.x1 = -mlc.positionLimit;
    shape.x2 = mlc.positionLimit;
    return shape;
  }
  // X jaws just outside the open leaves, so they never cut into the aperture.
  let minA = Number.POSITIVE_INFINITY;
  let maxB = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < mlc.leafPairs; i++) {
    if (!target.open[i]) continue;
    minA = Math.min(minA, readLeafSlot(shape.a, i));
    maxB = Math.max(maxB, readLeafSlot(shape.b, i));
  }
  shape.x1 = Math.max(-mlc.positionLimit, Math.floor(minA / 10) / 10 - 0.5);
  shape.x2 = Math.min(mlc.positionLimit, Math.ceil(maxB / 10) / 10 + 0.5);
  return shape;
}

/** Gives a zeroed 200-byte leaf set. */
export type LeafSetAllocator = () => Uint8Array;

/** A zeroed 200-byte leaf set with its own buffer. */
export function newLeafSet(): Uint8Array {
  return new Uint8Array(LEAF_SET_BYTES);
}

/**
 * An allocator carving `count` leaf sets out of one buffer: a field's blobs share one allocation
 * (one small typed array per blob costs more than filling it). Each blob is its own 200-byte
 * view; views never overlap; past `count` it falls back to separate buffers.
 */
export function leafSetPool(count: number): LeafSetAllocator {
  const pool = new Uint8Array(count * LEAF_SET_BYTES);
  let used = 0;
  return () => {
    if (used === count) return newLeafSet();
    const start = used++ * LEAF_SET_BYTES;
    return pool.subarray(start, start + LEAF_SET_BYTES);
  };
}

function emptyShape(alloc: LeafSetAllocator): ApertureShape {
  return { a: alloc(), b: alloc(), x1: 0, x2: 0, y1: 0, y2: 0 };
}

/**
 * A static aperture from the target: `scale` (0–1] shrinks the outline and `shift` (cm) moves it
 * along X (step-and-shoot segments are sub-apertures of the target).
 */
export function staticAperture(
  target: ApertureTarget,
  mlc: MlcModel,
  scale = 1,
  shift = 0,
  alloc: LeafSetAllocator = newLeafSet,
): ApertureShape {
  const shape = emptyShape(alloc);
  for (let i = 0; i < mlc.leafPairs; i++) {
    if (!target.open[i]) {
      park(shape, i, target, mlc);
      continue;
    }
    const hw = target.halfWidth[i]! * scale;
    setPair(shape, i, target.xc + shift - hw, target.xc + shift + hw, mlc);
  }
  return finishJaws(shape, target, mlc);
}

/**
 * The next VMAT control point: every open leaf moves by at most the model's travel per control
 * point, staying near the target outline with at least the minimum gap.
 */
export function nextArcAperture(
  prev: ApertureShape,
  target: ApertureTarget,
  mlc: MlcModel,
  rng: Rng,
  alloc: LeafSetAllocator = newLeafSet,
): ApertureShape {
  const shape = emptyShape(alloc);
  const step = mlc.maxTravelPerControlPoint / 2;
  // One 32-bit draw per leaf is plenty for a leaf's step (and keeps 100k-record clinics fast).
  const scale = (2 * step) / 4294967296;
  for (let i = 0; i < mlc.leafPairs; i++) {
    if (!target.open[i]) {
      shape.a[2 * i] = prev.a[2 * i]!;
      shape.a[2 * i + 1] = prev.a[2 * i + 1]!;
      shape.b[2 * i] = prev.b[2 * i]!;
      shape.b[2 * i + 1] = prev.b[2 * i + 1]!;
      continue;
    }
    const hw = target.halfWidth[i]!;
    const lo = target.xc - hw - 0.5;
    const hi = target.xc + hw + 0.5;
    const stepA = rng.nextUint32() * scale - step;
    const stepB = rng.nextUint32() * scale - step;
    const a = clamp(readLeafSlot(prev.a, i) / LEAF_UNITS_PER_CM + stepA, lo, hi - mlc.minGap);
    const b = clamp(readLeafSlot(prev.b, i) / LEAF_UNITS_PER_CM + stepB, a + mlc.minGap, hi);
    setPair(shape, i, a, b, mlc);
  }
  return finishJaws(shape, target, mlc);
}
