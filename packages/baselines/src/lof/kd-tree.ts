import type { Matrix } from '@anomalia/core';
import type { Metric } from './metric';
import type { NeighborResult } from './neighbor-index';
import { nthElement } from './nth-element';

/**
 * A port of scikit-learn's KDTree (sklearn/neighbors/_binary_tree.pxi) and its depth-first
 * k-nearest-neighbour query, step for step: the same complete tree of 2^levels − 1 nodes, the
 * same splits (widest column, libstdc++'s nth_element with ties broken by row index), the same
 * order of visiting nodes and rows, the same heap that keeps the first of equally distant rows,
 * and the same final sort. Distances are computed in the same order of operations. So when
 * rows are equidistant (duplicates, data on a grid) it picks the same neighbours as
 * scikit-learn, which LOF's scores are sensitive to.
 */
export class KDTree {
  private readonly d: number;
  private readonly data: Float64Array;
  private readonly idx: Int32Array;
  private readonly nNodes: number;
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly isLeaf: Uint8Array;
  private readonly lower: Float64Array;
  private readonly upper: Float64Array;

  constructor(
    X: Matrix,
    leafSize: number,
    private readonly metric: Metric,
  ) {
    const n = X.rows;
    const d = X.cols;
    this.d = d;
    this.data = X.data;
    this.idx = Int32Array.from({ length: n }, (_, i) => i);
    const levels = Math.trunc(Math.log2(Math.max(1, (n - 1) / leafSize)) + 1);
    this.nNodes = 2 ** levels - 1;
    this.start = new Int32Array(this.nNodes);
    this.end = new Int32Array(this.nNodes);
    this.isLeaf = new Uint8Array(this.nNodes);
    this.lower = new Float64Array(this.nNodes * d);
    this.upper = new Float64Array(this.nNodes * d);
    this.build(0, 0, n);
  }

  private build(node: number, idxStart: number, idxEnd: number): void {
    const { d, data, idx } = this;
    this.start[node] = idxStart;
    this.end[node] = idxEnd;
    // Bounds of the node's rows (init_node).
    const o = node * d;
    for (let j = 0; j < d; j++) {
      this.lower[o + j] = Number.POSITIVE_INFINITY;
      this.upper[o + j] = Number.NEGATIVE_INFINITY;
    }
    for (let i = idxStart; i < idxEnd; i++) {
      const r = idx[i]! * d;
      for (let j = 0; j < d; j++) {
        const v = data[r + j]!;
        if (v < this.lower[o + j]!) this.lower[o + j] = v;
        if (v > this.upper[o + j]!) this.upper[o + j] = v;
      }
    }
    const nPoints = idxEnd - idxStart;
    if (2 * node + 1 >= this.nNodes || nPoints < 2) {
      this.isLeaf[node] = 1;
      return;
    }
    // find_node_split_dim: the first column of largest spread.
    let splitDim = 0;
    let maxSpread = 0;
    for (let j = 0; j < d; j++) {
      let lo = data[idx[idxStart]! * d + j]!;
      let hi = lo;
      for (let i = idxStart + 1; i < idxEnd; i++) {
        const v = data[idx[i]! * d + j]!;
        hi = Math.max(hi, v);
        lo = Math.min(lo, v);
      }
      if (hi - lo > maxSpread) {
        maxSpread = hi - lo;
        splitDim = j;
      }
    }
    const mid = Math.trunc(nPoints / 2);
    nthElement(idx, idxStart, idxStart + mid, idxEnd, (a, b) => {
      const va = data[a * d + splitDim]!;
      const vb = data[b * d + splitDim]!;
      return va === vb ? a < b : va < vb;
    });
    this.build(2 * node + 1, idxStart, idxStart + mid);
    this.build(2 * node + 2, idxStart + mid, idxEnd);
  }

  /** Reduced-distance lower bound from a point to a node's box (scikit-learn's min_rdist). */
  private minRdist(node: number, q: Float64Array, qo: number): number {
    const { d, lower, upper } = this;
    const p = this.metric.p;
    const o = node * d;
    let r = 0;
    for (let j = 0; j < d; j++) {
      const lo = lower[o + j]! - q[qo + j]!;
      const hi = q[qo + j]! - upper[o + j]!;
      const dd = lo + Math.abs(lo) + (hi + Math.abs(hi));
      const h = 0.5 * dd;
      r += p === 2 ? h * h : p === 1 ? h : h ** p;
    }
    return r;
  }

  /**
   * The k nearest rows of every row of Q, sorted as scikit-learn sorts them. With
   * `excludeSelf`, Q must be the fitted rows: each row's k + 1 neighbours are found and the row
   * itself removed (or, when k + 1 duplicates hide it, the first), as scikit-learn's
   * kneighbors(X=None).
   */
  query(Q: Matrix, k: number, excludeSelf = false): NeighborResult {
    const kk = excludeSelf ? k + 1 : k;
    const nq = Q.rows;
    const dist = new Float64Array(kk);
    const ind = new Int32Array(kk);
    const distances = new Float64Array(nq * k);
    const indices = new Int32Array(nq * k);
    const toDistance = this.metric.toDistance;
    for (let i = 0; i < nq; i++) {
      dist.fill(Number.POSITIVE_INFINITY);
      ind.fill(0);
      const qo = i * this.d;
      this.search(0, Q.data, qo, dist, ind, this.minRdist(0, Q.data, qo));
      simultaneousSort(dist, ind, 0, kk);
      let skip = -1;
      if (excludeSelf) {
        skip = ind.indexOf(i);
        if (skip < 0) skip = 0;
      }
      for (let j = 0, out = i * k; j < kk; j++) {
        if (j === skip) continue;
        distances[out] = toDistance(dist[j]!);
        indices[out++] = ind[j]!;
      }
    }
    return { k, distances, indices };
  }

  /** _query_single_depthfirst. */
  private search(
    node: number,
    q: Float64Array,
    qo: number,
    dist: Float64Array,
    ind: Int32Array,
    lowerBound: number,
  ) {
    if (lowerBound > dist[0]!) return;
    const { d, data, idx } = this;
    if (this.isLeaf[node]) {
      for (let i = this.start[node]!; i < this.end[node]!; i++) {
        const row = idx[i]!;
        heapPush(dist, ind, this.metric.reduced(q, qo, data, row * d, d), row);
      }
      return;
    }
    const c1 = 2 * node + 1;
    const c2 = c1 + 1;
    const b1 = this.minRdist(c1, q, qo);
    const b2 = this.minRdist(c2, q, qo);
    if (b1 <= b2) {
      this.search(c1, q, qo, dist, ind, b1);
      this.search(c2, q, qo, dist, ind, b2);
    } else {
      this.search(c2, q, qo, dist, ind, b2);
      this.search(c1, q, qo, dist, ind, b1);
    }
  }
}

/** scikit-learn's heap_push: a max-heap of size k that refuses a value equal to its largest. */
function heapPush(values: Float64Array, indices: Int32Array, val: number, valIdx: number): void {
  const size = values.length;
  if (val >= values[0]!) return;
  values[0] = val;
  indices[0] = valIdx;
  let current = 0;
  for (;;) {
    const left = 2 * current + 1;
    const right = left + 1;
    let swapIdx: number;
    if (left >= size) break;
    if (right >= size) {
      if (values[left]! > val) swapIdx = left;
      else break;
    } else if (values[left]! >= values[right]!) {
      if (val < values[left]!) swapIdx = left;
      else break;
    } else if (val < values[right]!) swapIdx = right;
    else break;
    values[current] = values[swapIdx]!;
    indices[current] = indices[swapIdx]!;
    current = swapIdx;
  }
  values[current] = val;
  indices[current] = valIdx;
}

function dualSwap(values: Float64Array, indices: Int32Array, i: number, j: number): void {
  const v = values[i]!;
  values[i] = values[j]!;
  values[j] = v;
  const t = indices[i]!;
  indices[i] = indices[j]!;
  indices[j] = t;
}

/** scikit-learn's simultaneous_sort (quicksort with a median-of-three pivot) on [o, o + size). */
function simultaneousSort(values: Float64Array, indices: Int32Array, o: number, size: number): void {
  if (size <= 1) return;
  if (size === 2) {
    if (values[o]! > values[o + 1]!) dualSwap(values, indices, o, o + 1);
    return;
  }
  if (size === 3) {
    if (values[o]! > values[o + 1]!) dualSwap(values, indices, o, o + 1);
    if (values[o + 1]! > values[o + 2]!) {
      dualSwap(values, indices, o + 1, o + 2);
      if (values[o]! > values[o + 1]!) dualSwap(values, indices, o, o + 1);
    }
    return;
  }
  let pivotIdx = o + Math.trunc(size / 2);
  const last = o + size - 1;
  if (values[o]! > values[last]!) dualSwap(values, indices, o, last);
  if (values[last]! > values[pivotIdx]!) {
    dualSwap(values, indices, last, pivotIdx);
    if (values[o]! > values[last]!) dualSwap(values, indices, o, last);
  }
  const pivot = values[last]!;
  let store = o;
  for (let i = o; i < last; i++) {
    if (values[i]! < pivot) {
      dualSwap(values, indices, i, store);
      store++;
    }
  }
  dualSwap(values, indices, store, last);
  pivotIdx = store - o;
  if (pivotIdx > 1) simultaneousSort(values, indices, o, pivotIdx);
  if (pivotIdx + 2 < size) simultaneousSort(values, indices, store + 1, size - pivotIdx - 1);
}
