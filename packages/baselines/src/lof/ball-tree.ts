import type { Matrix } from '@anomalia/core';
import type { Metric } from './metric';

/**
 * A ball tree over the rows of a matrix. Rows are copied in tree order, so every node, and in
 * particular every leaf, is a contiguous block of rows: the unit of the blocked distance
 * computations. Each node has a ball (centroid, radius) that bounds the distance from any
 * point to the node's rows by the triangle inequality, for every Minkowski metric with p ≥ 1.
 */
export interface BallTree {
  readonly rows: number;
  readonly cols: number;
  /** Rows in tree order (row-major). */
  readonly data: Float64Array;
  /** order[k] = index in the input of tree row k. */
  readonly order: Int32Array;
  /** Node n holds tree rows [start[n], end[n]); left[n] = −1 for a leaf. */
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly center: Float64Array;
  readonly radius: Float64Array;
  /** Leaf node ids, left to right. */
  readonly leaves: Int32Array;
  readonly metric: Metric;
}

/**
 * Builds the tree by splitting each node at the median of its widest column (scikit-learn's
 * construction) until nodes hold at most `leafSize` rows.
 */
export function buildBallTree(X: Matrix, leafSize: number, metric: Metric): BallTree {
  const { rows: n, cols: d, data: src } = X;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const keys = new Float64Array(n);
  const maxNodes = Math.max(1, 2 * Math.ceil(n / Math.max(1, Math.floor(leafSize / 2))) + 1);
  const start = new Int32Array(maxNodes);
  const end = new Int32Array(maxNodes);
  const left = new Int32Array(maxNodes).fill(-1);
  const right = new Int32Array(maxNodes).fill(-1);
  let nodes = 0;
  const leaves: number[] = [];
  const build = (s: number, e: number): number => {
    const id = nodes++;
    start[id] = s;
    end[id] = e;
    if (e - s <= leafSize) {
      leaves.push(id);
      return id;
    }
    const dim = widestColumn(src, d, idx, s, e);
    const mid = s + ((e - s) >> 1);
    selectNth(src, d, dim, idx, keys, s, e, mid);
    left[id] = build(s, mid);
    right[id] = build(mid, e);
    return id;
  };
  build(0, n);

  const data = new Float64Array(n * d);
  for (let k = 0; k < n; k++) {
    const from = idx[k]! * d;
    for (let j = 0; j < d; j++) data[k * d + j] = src[from + j]!;
  }
  const center = new Float64Array(nodes * d);
  const radius = new Float64Array(nodes);
  // Children have higher ids than their parent: going down the ids visits children first.
  for (let id = nodes - 1; id >= 0; id--) {
    const s = start[id]!;
    const e = end[id]!;
    const c = id * d;
    const l = left[id]!;
    if (l < 0) {
      // A leaf: its centroid, and the distance to its farthest row.
      for (let k = s; k < e; k++) for (let j = 0; j < d; j++) center[c + j]! += data[k * d + j]!;
      for (let j = 0; j < d; j++) center[c + j]! /= e - s;
      let r = 0;
      for (let k = s; k < e; k++) r = Math.max(r, metric.reduced(center, c, data, k * d, d));
      // Rounded up a hair, like the gaps, so rounding never prunes a row that is in fact close.
      radius[id] = metric.toDistance(r) * (1 + 1e-12);
      continue;
    }
    // Inside: the centroid from the children's, and a ball holding both children's balls.
    const r = right[id]!;
    const wl = (end[l]! - start[l]!) / (e - s);
    for (let j = 0; j < d; j++) center[c + j] = wl * center[l * d + j]! + (1 - wl) * center[r * d + j]!;
    const cover = (child: number) =>
      metric.toDistance(metric.reduced(center, c, center, child * d, d)) + radius[child]!;
    radius[id] = Math.max(cover(l), cover(r)) * (1 + 1e-12);
  }
  return {
    rows: n,
    cols: d,
    data,
    order: idx,
    start: start.slice(0, nodes),
    end: end.slice(0, nodes),
    left: left.slice(0, nodes),
    right: right.slice(0, nodes),
    center,
    radius,
    leaves: Int32Array.from(leaves),
    metric,
  };
}

/** Lower bound on the distance between any row of node a (tree A) and any row of node b (tree B). */
export function nodeGap(A: BallTree, a: number, B: BallTree, b: number): number {
  const d = A.cols;
  const between = A.metric.toDistance(A.metric.reduced(A.center, a * d, B.center, b * d, d));
  // Shrunk by a relative hair so floating-point rounding never prunes a node that holds a neighbour.
  return between * (1 - 1e-12) - A.radius[a]! - B.radius[b]!;
}

function widestColumn(src: Float64Array, d: number, idx: Int32Array, s: number, e: number): number {
  // Row by row (sequential memory), tracking every column's range.
  const lo = new Float64Array(d).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(d).fill(Number.NEGATIVE_INFINITY);
  for (let k = s; k < e; k++) {
    const o = idx[k]! * d;
    for (let j = 0; j < d; j++) {
      const v = src[o + j]!;
      if (v < lo[j]!) lo[j] = v;
      if (v > hi[j]!) hi[j] = v;
    }
  }
  let best = 0;
  let bestSpread = -1;
  for (let j = 0; j < d; j++) {
    if (hi[j]! - lo[j]! > bestSpread) {
      bestSpread = hi[j]! - lo[j]!;
      best = j;
    }
  }
  return best;
}

/**
 * Reorders idx[s..e) so that idx[nth] holds the row whose value in column `dim` is nth in
 * order (ties by row index), smaller ones before it and larger after (quickselect). The column's
 * values are gathered into `keys` (moved along with idx) so the loop reads memory in sequence.
 */
function selectNth(
  src: Float64Array,
  d: number,
  dim: number,
  idx: Int32Array,
  keys: Float64Array,
  s: number,
  e: number,
  nth: number,
) {
  for (let p = s; p < e; p++) keys[p] = src[idx[p]! * d + dim]!;
  const less = (a: number, b: number) => {
    const ka = keys[a]!;
    const kb = keys[b]!;
    return ka < kb || (ka === kb && idx[a]! < idx[b]!);
  };
  const swap = (a: number, b: number) => {
    const t = idx[a]!;
    idx[a] = idx[b]!;
    idx[b] = t;
    const u = keys[a]!;
    keys[a] = keys[b]!;
    keys[b] = u;
  };
  let lo = s;
  let hi = e - 1;
  while (hi > lo) {
    // Median of three as the pivot, moved to hi.
    const mid = lo + ((hi - lo) >> 1);
    if (less(mid, lo)) swap(mid, lo);
    if (less(hi, lo)) swap(hi, lo);
    if (less(mid, hi)) swap(mid, hi);
    let store = lo;
    for (let k = lo; k < hi; k++) {
      if (less(k, hi)) swap(k, store++);
    }
    swap(store, hi);
    if (store === nth) return;
    if (store < nth) lo = store + 1;
    else hi = store - 1;
  }
}
