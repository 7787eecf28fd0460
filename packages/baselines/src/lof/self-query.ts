import type { Matrix } from '@anomalia/core';
import type { BallTree } from './ball-tree';
import type { NeighborResult } from './neighbor-index';

/**
 * Scoring the training rows themselves (novelty mode on the training set, a common check) asks
 * for the k nearest fitted rows of each fitted row, itself included. The self search of the fit
 * already holds each row's nearest others; with exact distances and ties broken by index, the
 * answer is those nearest others with the row itself inserted at distance exactly 0 after its
 * duplicates of lower index (the first k of them): bit for bit what a fresh search returns.
 */

/** Whether Q holds exactly the rows of T, in input order (T stores them in tree order). */
export function sameRowsAsTree(Q: Matrix, T: BallTree): boolean {
  if (Q.rows !== T.rows || Q.cols !== T.cols) return false;
  const d = T.cols;
  const { order, data } = T;
  const q = Q.data;
  for (let t = 0; t < T.rows; t++) {
    const a = order[t]! * d;
    const b = t * d;
    // `===` equates 0 and −0, which give the same squared differences to every row.
    for (let j = 0; j < d; j++) if (q[a + j] !== data[b + j]) return false;
  }
  return true;
}

/**
 * The k nearest rows of every fitted row, itself included, from `own` (its nearest others,
 * sorted by distance then index, k ≤ own.k). The row joins at distance 0, after the rows at
 * distance 0 with a lower index (its duplicates), as the tie rule of the search orders them.
 */
export function withEachRowItself(own: NeighborResult, k: number): NeighborResult {
  const kOwn = own.k;
  // k ≤ own.k: were all own.k neighbours lower duplicates, the k-th could be one own does not hold.
  if (k < 1 || k > kOwn) throw new RangeError(`k must be in [1, ${kOwn}]`);
  const n = own.indices.length / kOwn;
  const distances = new Float64Array(n * k);
  const indices = new Int32Array(n * k);
  for (let i = 0; i < n; i++) {
    const src = i * kOwn;
    const dst = i * k;
    // The row's position: after its nearest others at distance 0 with a lower index.
    let p = 0;
    while (p < k && own.distances[src + p] === 0 && own.indices[src + p]! < i) p++;
    for (let j = 0; j < p; j++) {
      distances[dst + j] = own.distances[src + j]!;
      indices[dst + j] = own.indices[src + j]!;
    }
    if (p === k) continue;
    distances[dst + p] = 0;
    indices[dst + p] = i;
    for (let j = p; j < k - 1; j++) {
      distances[dst + j + 1] = own.distances[src + j]!;
      indices[dst + j + 1] = own.indices[src + j]!;
    }
  }
  return { k, distances, indices };
}
