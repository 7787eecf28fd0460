import type { TxFieldPointRow } from '@anomalia/mosaiq';
import { LEAF_SET_BYTES, usedLeafCount } from '@anomalia/mosaiq';
import { canonicalPoints } from './points-content';

/**
 * Control-point, angle and MLC statistics of one field (features 23–61 but cp_minimum_met, which
 * depends on the field type). They depend only on the control points, so a batch computes them
 * once per distinct `controlPoints` array and copies them into every record of that field.
 */

export const GEOMETRY_FIRST = 23;
export const GEOMETRY_LAST = 61;
const SIZE = GEOMETRY_LAST - GEOMETRY_FIRST + 1;

// Offsets inside the block (feature index − 23).
const CP_COUNT = 0;
const CP_SEQUENTIAL = 2;
const CP_MAX_GAP = 3;
const CP_GAP_COUNT = 4;
const CP_STARTS_AT_ZERO = 5;
const GANTRY = 6; // out_of_range; coll at +1
const GANTRY_MEAN = 8; // mean, std, range; coll mean/std/range at 11..13
const GANTRY_MAX_DELTA = 14; // max, mean; coll at 16, 17
const GANTRY_JUMPS = 18; // coll at 19
const A_BYTES = 20;
const B_BYTES = 21;
const LENGTH_MATCH = 22;
const LENGTH_EVEN = 23;
const A_MEAN = 24; // mean, std, min, max; B at 28..31
const A_OUT = 32;
const B_OUT = 33;
const MIN_GAP = 34; // min, mean, negative count, max
const LEAF_COUNT = 38;

/** Positions beyond this (1/100 cm) are out of range: 20 cm. */
const LIMIT_UNITS = 2000;

export interface GeometryBlock {
  values: Float64Array;
  missing: Uint8Array;
  /** Σ|Index_i − Index_{i−1}| over consecutive points with an Index (the path of the cumulative weight). */
  indexPath: number;
  /** Points with a non-NULL Index. */
  indexedPoints: number;
}

// Scratch buffers reused across fields (the caller is single-threaded).
let pointScratch = new Float64Array(256);

function wrappedDelta(a: number, b: number): number {
  let d = Math.abs(a - b) % 360;
  if (d > 180) d = 360 - d;
  return d;
}

function angleStats(
  points: readonly TxFieldPointRow[],
  column: 'Gantry_Ang' | 'Coll_Ang',
  v: Float64Array,
  m: Uint8Array,
  outIdx: number,
  statsIdx: number,
  deltaIdx: number,
  jumpsIdx: number,
): void {
  // Welford's update: exact zero spread for constant angles, no cancellation near 180°.
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let out = 0;
  let prev = Number.NaN;
  let deltas = 0;
  let deltaSum = 0;
  let deltaMax = 0;
  let jumps = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i]![column];
    if (a === null) continue;
    n++;
    const d0 = a - mean;
    mean += d0 / n;
    m2 += d0 * (a - mean);
    if (a < min) min = a;
    if (a > max) max = a;
    if (a < 0 || a > 360) out = 1;
    if (n > 1) {
      const d = wrappedDelta(a, prev);
      deltas++;
      deltaSum += d;
      if (d > deltaMax) deltaMax = d;
      if (d > 90) jumps++;
    }
    prev = a;
  }
  if (n === 0) {
    m[outIdx] = m[statsIdx] = m[statsIdx + 1] = m[statsIdx + 2] = 1;
    m[deltaIdx] = m[deltaIdx + 1] = m[jumpsIdx] = 1;
    return;
  }
  v[outIdx] = out;
  v[statsIdx] = mean;
  v[statsIdx + 1] = Math.sqrt(Math.max(0, m2 / n));
  v[statsIdx + 2] = max - min;
  v[deltaIdx] = deltaMax;
  v[deltaIdx + 1] = deltas > 0 ? deltaSum / deltas : 0;
  v[jumpsIdx] = jumps;
}

function controlPointStats(points: readonly TxFieldPointRow[], v: Float64Array, m: Uint8Array): void {
  const n = points.length;
  v[CP_COUNT] = n;
  if (n === 0) {
    v[CP_SEQUENTIAL] = 1;
    v[CP_STARTS_AT_ZERO] = 1;
    m[CP_SEQUENTIAL] = m[CP_MAX_GAP] = m[CP_GAP_COUNT] = m[CP_STARTS_AT_ZERO] = 1;
    return;
  }
  if (pointScratch.length < n) pointScratch = new Float64Array(n * 2);
  let k = 0;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const p = points[i]!.Point;
    if (p === null) continue;
    if (k > 0 && p < pointScratch[k - 1]!) sorted = false;
    pointScratch[k++] = p;
  }
  const nums = pointScratch.subarray(0, k);
  if (!sorted) nums.sort();
  let sequential = k === n ? 1 : 0;
  let maxGap = 0;
  let gaps = 0;
  for (let i = 0; i < k; i++) {
    if (nums[i] !== i) sequential = 0;
    if (i > 0) {
      const d = nums[i]! - nums[i - 1]!;
      if (d > maxGap) maxGap = d;
      if (d > 1) gaps++;
    }
  }
  v[CP_SEQUENTIAL] = sequential;
  v[CP_MAX_GAP] = maxGap;
  v[CP_GAP_COUNT] = gaps;
  // With every Point NULL there is no smallest Point: it does not start at zero.
  v[CP_STARTS_AT_ZERO] = k > 0 && nums[0] === 0 ? 1 : 0;
}

function mlcStats(points: readonly TxFieldPointRow[], v: Float64Array, m: Uint8Array): void {
  const n = points.length;
  if (n === 0) {
    for (let j = A_BYTES; j <= LEAF_COUNT; j++) m[j] = 1;
    v[LENGTH_MATCH] = 1;
    v[LENGTH_EVEN] = 1;
    return;
  }
  let aBytes = -1;
  let bBytes = -1;
  let match = 1;
  let even = 1;
  let leafCount = Number.POSITIVE_INFINITY;
  // Positions are summed in stored units (integers), so sums are exact.
  let na = 0;
  let sa = 0;
  let qa = 0;
  let mina = Number.POSITIVE_INFINITY;
  let maxa = Number.NEGATIVE_INFINITY;
  let nb = 0;
  let sb = 0;
  let qb = 0;
  let minb = Number.POSITIVE_INFINITY;
  let maxb = Number.NEGATIVE_INFINITY;
  let ng = 0;
  let sg = 0;
  let ming = Number.POSITIVE_INFINITY;
  let maxg = Number.NEGATIVE_INFINITY;
  let negative = 0;
  let outA = 0;
  let outB = 0;
  for (let c = 0; c < n; c++) {
    const cp = points[c]!;
    const a = cp.A_Leaf_Set;
    const b = cp.B_Leaf_Set;
    const la = a === null ? 0 : a.length;
    const lb = b === null ? 0 : b.length;
    if (aBytes < 0 || Math.abs(la - LEAF_SET_BYTES) > Math.abs(aBytes - LEAF_SET_BYTES)) aBytes = la;
    if (bBytes < 0 || Math.abs(lb - LEAF_SET_BYTES) > Math.abs(bBytes - LEAF_SET_BYTES)) bBytes = lb;
    if (la !== lb) match = 0;
    if ((la & 1) === 1 || (lb & 1) === 1) even = 0;
    const ca = a === null ? 0 : usedLeafCount(la, cp.MLC_Leaves);
    const cb = b === null ? 0 : usedLeafCount(lb, cp.MLC_Leaves);
    const both = Math.min(ca, cb);
    if (both < leafCount) leafCount = both;
    for (let i = 0; i < ca; i++) {
      const j = i << 1;
      const x = ((a![j]! | (a![j + 1]! << 8)) << 16) >> 16;
      sa += x;
      qa += x * x;
      if (x < mina) mina = x;
      if (x > maxa) maxa = x;
      if (x > LIMIT_UNITS || x < -LIMIT_UNITS) outA = 1;
      if (i < cb) {
        const y = ((b![j]! | (b![j + 1]! << 8)) << 16) >> 16;
        const g = y - x;
        sg += g;
        if (g < ming) ming = g;
        if (g > maxg) maxg = g;
        if (g < 0) negative++;
      }
    }
    for (let i = 0; i < cb; i++) {
      const j = i << 1;
      const y = ((b![j]! | (b![j + 1]! << 8)) << 16) >> 16;
      sb += y;
      qb += y * y;
      if (y < minb) minb = y;
      if (y > maxb) maxb = y;
      if (y > LIMIT_UNITS || y < -LIMIT_UNITS) outB = 1;
    }
    na += ca;
    nb += cb;
    ng += both;
  }
  v[A_BYTES] = aBytes;
  v[B_BYTES] = bBytes;
  v[LENGTH_MATCH] = match;
  v[LENGTH_EVEN] = even;
  v[LEAF_COUNT] = leafCount;
  const bank = (
    count: number,
    s: number,
    q: number,
    lo: number,
    hi: number,
    at: number,
    outAt: number,
    out: number,
  ) => {
    if (count === 0) {
      m[at] = m[at + 1] = m[at + 2] = m[at + 3] = m[outAt] = 1;
      return;
    }
    const mean = s / count;
    v[at] = mean / 100;
    v[at + 1] = Math.sqrt(Math.max(0, q / count - mean * mean)) / 100;
    v[at + 2] = lo / 100;
    v[at + 3] = hi / 100;
    v[outAt] = out;
  };
  bank(na, sa, qa, mina, maxa, A_MEAN, A_OUT, outA);
  bank(nb, sb, qb, minb, maxb, A_MEAN + 4, B_OUT, outB);
  if (ng === 0) {
    m[MIN_GAP] = m[MIN_GAP + 1] = m[MIN_GAP + 2] = m[MIN_GAP + 3] = 1;
  } else {
    v[MIN_GAP] = ming / 100;
    v[MIN_GAP + 1] = sg / ng / 100;
    v[MIN_GAP + 2] = negative;
    v[MIN_GAP + 3] = maxg / 100;
  }
}

/** Computes the geometry block of one field's control points. */
export function computeGeometry(points: readonly TxFieldPointRow[]): GeometryBlock {
  const values = new Float64Array(SIZE);
  const missing = new Uint8Array(SIZE);
  controlPointStats(points, values, missing);
  angleStats(points, 'Gantry_Ang', values, missing, GANTRY, GANTRY_MEAN, GANTRY_MAX_DELTA, GANTRY_JUMPS);
  angleStats(
    points,
    'Coll_Ang',
    values,
    missing,
    GANTRY + 1,
    GANTRY_MEAN + 3,
    GANTRY_MAX_DELTA + 2,
    GANTRY_JUMPS + 1,
  );
  mlcStats(points, values, missing);
  let indexPath = 0;
  let indexed = 0;
  let prev = 0;
  for (let i = 0; i < points.length; i++) {
    const x = points[i]!.Index;
    if (x === null) continue;
    if (indexed > 0) indexPath += Math.abs(x - prev);
    prev = x;
    indexed++;
  }
  return { values, missing, indexPath, indexedPoints: indexed };
}

/**
 * Blocks by content (`canonicalPoints`): a field's geometry is computed once across batches. A
 * control-point array given once must not be changed in place (readers build new rows for an
 * edited field).
 */
const blocksByContent = new WeakMap<readonly TxFieldPointRow[], GeometryBlock>();

/** Geometry blocks by control-point array, for one batch (arrays must not change during it). */
export class GeometryCache {
  private readonly blocks = new Map<readonly TxFieldPointRow[], GeometryBlock>();

  get(points: readonly TxFieldPointRow[]): GeometryBlock {
    let block = this.blocks.get(points);
    if (!block) {
      const list = canonicalPoints(points);
      block = blocksByContent.get(list);
      if (!block) {
        block = computeGeometry(list);
        blocksByContent.set(list, block);
      }
      this.blocks.set(points, block);
    }
    return block;
  }

  get size(): number {
    return this.blocks.size;
  }
}
