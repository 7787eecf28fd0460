import { Matrix, Rng } from '@anomalia/core';
import { afterEach, describe, expect, it } from 'vitest';
import { setSimdEnabled } from '../shared/simd-dots';
import { BlockedNeighbors } from './blocked-neighbors';
import { KDTree } from './kd-tree';
import { createMetric } from './metric';
import { nthElement } from './nth-element';

/** Every neighbour list by sorting all distances: (distance, index) ascending. */
function naive(X: Matrix, Q: Matrix, k: number, excludeSelf: boolean, metric = createMetric('euclidean')) {
  const out: Array<Array<[number, number]>> = [];
  for (let i = 0; i < Q.rows; i++) {
    const all: Array<[number, number]> = [];
    for (let j = 0; j < X.rows; j++) {
      if (excludeSelf && i === j) continue;
      all.push([metric.toDistance(metric.reduced(Q.data, i * Q.cols, X.data, j * X.cols, X.cols)), j]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    out.push(all.slice(0, k));
  }
  return out;
}

function asPairs(res: { k: number; distances: Float64Array; indices: Int32Array }) {
  const out: Array<Array<[number, number]>> = [];
  for (let i = 0; i < res.distances.length / res.k; i++) {
    out.push(
      Array.from(
        { length: res.k },
        (_, j) => [res.distances[i * res.k + j]!, res.indices[i * res.k + j]!] as [number, number],
      ),
    );
  }
  return out;
}

/** Clustered data with exact duplicates: ties at distance 0 and in between. */
function clustered(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: cols }, () => rng.uniform(-5, 5)));
  const X = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) {
    if (i > 10 && i % 9 === 0) X.data.set(X.row(i - 7), i * cols);
    else for (let j = 0; j < cols; j++) X.data[i * cols + j] = centres[i % 4]![j]! + rng.normal();
  }
  return X;
}

describe('BlockedNeighbors (brute force by blocks)', () => {
  afterEach(() => setSimdEnabled(true));

  for (const simd of [true, false]) {
    for (const [rows, cols, blockSize] of [
      [300, 3, 8],
      [500, 24, 16],
      [257, 33, 64],
    ] as const) {
      it(`finds exactly the k nearest, ties by index (${rows}×${cols}, blocks of ${blockSize}, SIMD ${simd})`, () => {
        setSimdEnabled(simd);
        const X = clustered(rows, cols, rows + cols);
        const Q = clustered(90, cols, 99);
        for (const prune of [true, false]) {
          for (const symmetric of [true, false]) {
            const metric = createMetric('euclidean');
            const search = new BlockedNeighbors(X, { metric, blockSize, prune, symmetric });
            expect(asPairs(search.selfNeighbors(7))).toEqual(naive(X, X, 7, true));
            expect(asPairs(search.query(Q, 5))).toEqual(naive(X, Q, 5, false));
          }
        }
      });
    }
  }

  it('is exact when rows of very different densities share blocks (symmetric self search)', () => {
    // A pair of leaves is visited once for both: rows too far for their own lists must still be
    // kept for the other leaf's sparser rows, whose k-th distances are larger.
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const X = new Matrix(300, 3);
      const scales = [0.01, 0.1, 1, 10];
      for (let i = 0; i < X.rows; i++) {
        const scale = scales[rng.integer(0, 4)]!;
        for (let j = 0; j < 3; j++) X.data[i * 3 + j] = rng.normal() * scale;
      }
      const search = new BlockedNeighbors(X, { metric: createMetric('euclidean'), blockSize: 4 });
      expect(asPairs(search.selfNeighbors(5))).toEqual(naive(X, X, 5, true));
    }
  });

  it('answers a query with the fitted rows themselves from the self search, duplicates in index order', () => {
    const X = clustered(300, 12, 7);
    const search = new BlockedNeighbors(X, { metric: createMetric('euclidean'), blockSize: 16 });
    search.selfNeighbors(6);
    // k ≤ 6 comes from the kept self search (each row joins its 6 nearest others), k = 7 searches.
    for (const k of [1, 2, 4, 6, 7])
      expect(asPairs(search.query(X.clone(), k))).toEqual(naive(X, X, k, false));
    const moved = X.clone();
    moved.data[5 * 12 + 3]! += 1e-9;
    expect(asPairs(search.query(moved, 7))).toEqual(naive(X, moved, 7, false));
  });

  it('supports the manhattan and minkowski metrics', () => {
    const X = clustered(200, 5, 4);
    for (const metric of [createMetric('manhattan'), createMetric('minkowski', 3)]) {
      for (const symmetric of [true, false]) {
        const search = new BlockedNeighbors(X, { metric, blockSize: 8, symmetric });
        expect(asPairs(search.selfNeighbors(6))).toEqual(naive(X, X, 6, true, metric));
      }
    }
  });
});

describe('KDTree (port of scikit-learn)', () => {
  it("orders rows as scikit-learn's tree does (libstdc++ nth_element, ties by index)", () => {
    // KDTree(A, leaf_size=2).get_arrays()[1] with scikit-learn 1.2.1, A as in local-outlier-factor.test.ts.
    const A = Matrix.fromRows([
      ...Array.from({ length: 30 }, (_, i) => [i % 6, Math.floor(i / 6) % 5]),
      [1, 1],
      [1, 1],
      [4, 2],
      [4, 2],
      [4, 2],
      [0, 4],
      [10, 10],
      [-3, 2],
      [2.5, 2.5],
      [2.5, 2.5],
    ]);
    const tree = new KDTree(A, 2, createMetric('euclidean'));
    expect(Array.from((tree as unknown as { idx: Int32Array }).idx)).toEqual([
      37, 0, 6, 12, 18, 1, 7, 13, 35, 24, 8, 2, 30, 31, 14, 19, 25, 20, 38, 26, 4, 3, 9, 10, 15, 11, 5, 16,
      17, 32, 39, 21, 22, 33, 34, 28, 27, 23, 29, 36,
    ]);
  });

  it('finds the k nearest rows (the same distances as a full sort)', () => {
    const X = clustered(400, 4, 1);
    const tree = new KDTree(X, 30, createMetric('euclidean'));
    const got = asPairs(tree.query(X, 8, true)).map((r) => r.map(([d]) => d));
    const want = naive(X, X, 8, true).map((r) => r.map(([d]) => d));
    expect(got).toEqual(want);
  });
});

describe('nthElement', () => {
  it('partitions around the nth element for every n, like std::nth_element', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.integer(0, 60);
      const keys = Array.from({ length: n }, () => rng.integer(0, 8));
      const a = Int32Array.from({ length: n }, (_, i) => i);
      rng.shuffle(a);
      const nth = rng.integer(0, n);
      const less = (x: number, y: number) => (keys[x] === keys[y] ? x < y : keys[x]! < keys[y]!);
      nthElement(a, 0, nth, n, less);
      const sorted = Array.from(a).sort((x, y) => (less(x, y) ? -1 : less(y, x) ? 1 : 0));
      expect(a[nth]).toBe(sorted[nth]);
      for (let i = 0; i < nth; i++) expect(less(a[nth]!, a[i]!)).toBe(false);
      for (let i = nth + 1; i < n; i++) expect(less(a[i]!, a[nth]!)).toBe(false);
    }
  });
});
