import type { Matrix } from '@anomalia/core';
import { BlockedNeighbors } from './blocked-neighbors';
import { KDTree } from './kd-tree';
import type { Metric } from './metric';

export interface NeighborResult {
  k: number;
  /** Row-major (queries × k), each row ascending by distance. */
  distances: Float64Array;
  /** Indices of the neighbours among the fitted rows. */
  indices: Int32Array;
}

export type NeighborAlgorithm = 'kd-tree' | 'brute';

/** Exact k-nearest-neighbour search over fixed rows. */
export interface NeighborIndex {
  readonly algorithm: NeighborAlgorithm;
  /** The k nearest fitted rows of every fitted row, the row itself excluded (its duplicates are not). */
  selfNeighbors(k: number): NeighborResult;
  /** The k nearest fitted rows of every row of Q. */
  query(Q: Matrix, k: number): NeighborResult;
}

/**
 * scikit-learn's choice for algorithm="auto": brute force above 15 columns or when the
 * requested neighbours reach half the rows, a KD-tree otherwise.
 */
export function autoAlgorithm(rows: number, cols: number, nNeighbors: number): NeighborAlgorithm {
  return cols > 15 || nNeighbors >= Math.floor(rows / 2) ? 'brute' : 'kd-tree';
}

export function createNeighborIndex(
  X: Matrix,
  options: { algorithm: NeighborAlgorithm; metric: Metric; leafSize: number },
): NeighborIndex {
  if (options.algorithm === 'kd-tree') {
    const tree = new KDTree(X, options.leafSize, options.metric);
    return {
      algorithm: 'kd-tree',
      selfNeighbors: (k) => tree.query(X, k, true),
      query: (Q, k) => tree.query(Q, k),
    };
  }
  const blocked = new BlockedNeighbors(X, { metric: options.metric });
  return {
    algorithm: 'brute',
    selfNeighbors: (k) => blocked.selfNeighbors(k),
    query: (Q, k) => blocked.query(Q, k),
  };
}
