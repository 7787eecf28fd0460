import type { Matrix } from '@anomalia/core';
import { type BallTree, buildBallTree } from './ball-tree';
import { EuclideanBlocks } from './euclidean-blocks';
import type { Metric } from './metric';
import { NeighborHeaps } from './neighbor-heap';

import type { NeighborResult } from './neighbor-index';
import { sameRowsAsTree, withEachRowItself } from './self-query';

/** Rows per fitted block: large enough for the SIMD kernel to run at full speed, small enough to prune. */
export const DEFAULT_BLOCK_SIZE = 64;

export interface NeighborSearchOptions {
  metric: Metric;
  /** Rows per fitted block (ball-tree leaf); query blocks are four times larger. Default 64. */
  blockSize?: number;
  /**
   * Skip blocks and rows that the ball bounds show cannot hold a neighbour (default true).
   * Without pruning the search is plain blocked brute force over every pair of blocks.
   */
  prune?: boolean;
  /**
   * Self searches compute each distance once for both rows of the pair (default true); false
   * searches from each row separately, as queries do (kept to test one against the other).
   */
  symmetric?: boolean;
}

/**
 * Exact k-nearest-neighbour search by blocks. The fitted rows and the queries are split into
 * ball-tree leaves; for each query leaf, fitted leaves are visited nearest first and all
 * distances between the two leaves are computed as one block, except for blocks, and rows
 * within blocks, that the triangle inequality shows cannot improve any current k-th distance.
 * In low dimensions or clustered data most work is skipped; where balls overlap (high
 * dimensions) this degrades to blocked brute force. Memory is O(n·k + blockSize²), never n × n.
 *
 * Euclidean blocks use ‖x‖² + ‖y‖² − 2x·y (SIMD) only to screen candidates, with a margin for
 * rounding; every kept distance is recomputed exactly as Σ(x−y)² in feature order, as
 * scikit-learn's tree metrics do, so duplicates are at distance exactly 0 and ties are exact.
 * Ties are broken by the lower row index, whatever the visiting order. The self search of the
 * fitted rows is symmetric (each distance computed once for both rows, see BlockSearch), which
 * about halves its distance computations.
 */
export class BlockedNeighbors {
  private readonly tree: BallTree;
  private readonly prune: boolean;
  private readonly blockSize: number;
  /** The last self search, kept to answer a query with the fitted rows themselves (see self-query). */
  private own: NeighborResult | null = null;

  constructor(
    X: Matrix,
    private readonly options: NeighborSearchOptions,
  ) {
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.tree = buildBallTree(X, this.blockSize, options.metric);
    this.prune = options.prune ?? true;
  }

  /**
   * The k nearest fitted rows of every fitted row, the row itself excluded (its duplicates are
   * not). The result is kept (n·k distances and indices) and must not be modified.
   */
  selfNeighbors(k: number): NeighborResult {
    const paired = coarserLeaves(this.tree, this.blockSize * SYMMETRIC_LEAF_FACTOR);
    const symmetric = (this.options.symmetric ?? true) && paired.leaves.length <= MAX_SYMMETRIC_LEAVES;
    const search = symmetric
      ? new BlockSearch(paired, paired, k, this.prune, true)
      : new BlockSearch(
          coarserLeaves(this.tree, this.blockSize * QUERY_LEAF_FACTOR),
          this.tree,
          k,
          this.prune,
          true,
        );
    search.run();
    this.own = search.collect();
    return this.own;
  }

  /**
   * The k nearest fitted rows of every row of Q. When Q holds exactly the fitted rows and a self
   * search of at least k neighbours was run, the answer is derived from it (bitwise the same).
   */
  query(Q: Matrix, k: number): NeighborResult {
    if (Q.rows === 0) return { k, distances: new Float64Array(0), indices: new Int32Array(0) };
    if (this.own && k <= this.own.k && sameRowsAsTree(Q, this.tree)) return withEachRowItself(this.own, k);
    const qTree = buildBallTree(Q, this.blockSize * QUERY_LEAF_FACTOR, this.options.metric);
    const search = new BlockSearch(qTree, this.tree, k, this.prune, false);
    search.run();
    return search.collect();
  }
}

/**
 * Query blocks are larger than fitted blocks: each fitted block read from memory then serves
 * more query rows, while the per-row bounds keep the pruning as fine as the fitted leaves.
 */
const QUERY_LEAF_FACTOR = 4;

/**
 * Leaves of the symmetric self search, in fitted blocks: two, so blocks of 128 × 128 rows
 * (smaller leaves prune a little more but pay more per block, larger ones prune too little).
 */
const SYMMETRIC_LEAF_FACTOR = 2;

/** The symmetric self search keeps one bit per pair of its leaves: at most 8 MB of them. */
const MAX_SYMMETRIC_LEAVES = 8192;

/**
 * The same tree with larger leaves: the highest nodes of at most `size` rows. It shares the
 * rows (and their order) with the original, so a self search needs no second copy.
 */
function coarserLeaves(T: BallTree, size: number): BallTree {
  const leaves: number[] = [];
  const visit = (node: number) => {
    if (T.end[node]! - T.start[node]! <= size || T.left[node]! < 0) leaves.push(node);
    else {
      visit(T.left[node]!);
      visit(T.right[node]!);
    }
  };
  visit(0);
  return { ...T, leaves: Int32Array.from(leaves) };
}

/**
 * One search: query tree Q against fitted tree R. In a self search both trees hold the fitted
 * rows, and each row skips itself (by index, so its duplicates still count). When Q is R itself
 * (same leaves), the search is symmetric: the block of leaves a and b is computed once, when a
 * or b first reaches the other, and each distance is offered to both rows. Rows, and pairs, are
 * then kept when they may be near enough for either row (each row's own k-th distance), so the
 * one visit holds everything either side can need: a k-th distance only shrinks, and a pair
 * beyond both rows' k-th distances at the visit can never enter either list. Every leaf is
 * first searched against itself, so that no row's k-th distance is still infinite (keeping every
 * pair) when the first other leaf reaches it.
 */
class BlockSearch {
  private readonly heaps: NeighborHeaps;
  private readonly metric: Metric;
  private readonly d: number;
  /** Distance of each row to the centre of its own leaf. */
  private readonly qOwn: Float64Array;
  private readonly rOwn: Float64Array;
  private readonly euclidean: EuclideanBlocks | null;
  private readonly qKept: Int32Array;
  private readonly rKept: Int32Array;
  private readonly qLimit: Float64Array;
  private readonly rLimit: Float64Array;
  private readonly centre: Float64Array;
  /** Candidate pairs of a block and their exact squared distances. */
  private readonly pairA: Int32Array;
  private readonly pairB: Int32Array;
  private readonly exact: Float64Array;
  private readonly symmetric: boolean;
  /** Symmetric search: leaf ordinal of each node, and one bit per pair of leaves already visited. */
  private readonly leafOrdinal: Int32Array | null = null;
  private readonly visited: Uint8Array | null = null;

  constructor(
    private readonly Q: BallTree,
    private readonly R: BallTree,
    k: number,
    private readonly prune: boolean,
    private readonly self: boolean,
  ) {
    this.heaps = new NeighborHeaps(Q.rows, k, R.metric.toDistance);
    this.metric = R.metric;
    this.d = R.cols;
    this.rOwn = ownCentreDistances(R);
    this.qOwn = ownCentreDistances(Q);
    const qCap = largestLeaf(Q);
    const rCap = largestLeaf(R);
    this.euclidean = this.metric.name === 'euclidean' ? new EuclideanBlocks(Q, R, qCap, rCap) : null;
    this.qKept = this.euclidean ? this.euclidean.qRows : new Int32Array(qCap);
    this.rKept = this.euclidean ? this.euclidean.rRows : new Int32Array(rCap);
    this.qLimit = new Float64Array(qCap);
    this.rLimit = new Float64Array(rCap);
    this.centre = new Float64Array(Math.max(qCap, rCap));
    this.pairA = new Int32Array(qCap * rCap);
    this.pairB = new Int32Array(qCap * rCap);
    this.exact = new Float64Array(qCap * rCap);
    this.symmetric = self && Q === R;
    if (this.symmetric) {
      const leaves = R.leaves.length;
      this.leafOrdinal = new Int32Array(R.radius.length).fill(-1);
      R.leaves.forEach((leaf, i) => {
        this.leafOrdinal![leaf] = i;
      });
      this.visited = new Uint8Array(Math.ceil((leaves * leaves) / 8));
    }
  }

  /** Symmetric search: whether the blocks of leaves q and r were computed, marking them so. */
  private seen(q: number, r: number): boolean {
    const L = this.R.leaves.length;
    const a = this.leafOrdinal![q]!;
    const b = this.leafOrdinal![r]!;
    const bit = a * L + b;
    const visited = this.visited!;
    if (visited[bit >> 3]! & (1 << (bit & 7))) return true;
    visited[bit >> 3]! |= 1 << (bit & 7);
    const mirror = b * L + a;
    visited[mirror >> 3]! |= 1 << (mirror & 7);
    return false;
  }

  /** Visits, for every query leaf, the fitted tree nearest node first, pruning what cannot help. */
  run(): void {
    const { Q, R } = this;
    const queue = new NodeQueue();
    // Symmetric: every leaf against itself first, so that no row's list is empty (its k-th
    // distance infinite) when other leaves offer it their rows.
    if (this.symmetric) for (const q of Q.leaves) if (!this.seen(q, q)) this.block(q, q, 0);
    for (const q of Q.leaves) {
      const rq = Q.radius[q]!;
      let bound = this.worstDistance(q);
      queue.push(0, this.centreDistance(q, 0));
      // Best first: the node whose centre is nearest the query block's centre. Its rows tend to
      // be the nearest, so the k-th distances shrink fast and fewer candidates are pushed.
      while (queue.size) {
        const D = queue.topKey();
        const node = queue.pop();
        if (this.prune && D - rq - R.radius[node]! > bound) continue;
        const l = R.left[node]!;
        if (this.symmetric ? this.leafOrdinal![node]! >= 0 : l < 0) {
          if (this.symmetric && this.seen(q, node)) continue;
          this.block(q, node, D);
          bound = this.worstDistance(q);
          continue;
        }
        const r = R.right[node]!;
        const Dl = this.centreDistance(q, l);
        if (!this.prune || Dl - rq - R.radius[l]! <= bound) queue.push(l, Dl);
        const Dr = this.centreDistance(q, r);
        if (!this.prune || Dr - rq - R.radius[r]! <= bound) queue.push(r, Dr);
      }
    }
  }

  /** Distance between the centres of query node q and fitted node r, rounded down a hair. */
  private centreDistance(q: number, r: number): number {
    const d = this.d;
    const m = this.metric;
    return m.toDistance(m.reduced(this.Q.center, q * d, this.R.center, r * d, d)) * (1 - 1e-12);
  }

  /** The largest k-th distance among the rows of leaf q of Q (Infinity while one has fewer than k candidates). */
  private worstDistance(q: number): number {
    const worst = this.heaps.worstDistance;
    let w = 0;
    for (let t = this.Q.start[q]!; t < this.Q.end[q]!; t++) w = Math.max(w, worst[t]!);
    return w;
  }

  /**
   * Rows of leaf `a` (of Q when side is "q", else of R) that may be nearer to some row of leaf
   * `b` of the other tree (centres D apart) than their limit (`limit` for every row, or the
   * row's own k-th distance when `limit` < 0; at least `floor`). For x in a and y in b, with
   * own(x) the distance from x to its leaf centre: d(x, y) ≥ D − own(x) − radius(b) drops rows
   * for free; rows that bound cannot settle (d(x, centre(b)) ≤ D + own(x) decides nothing
   * otherwise) are tested against d(x, y) ≥ d(x, centre(b)) − radius(b). Returns the count
   * written to `out`.
   */
  private keptRows(
    side: 'q' | 'r',
    a: number,
    b: number,
    D: number,
    limit: number,
    floor: number,
    out: Int32Array,
    limits: Float64Array,
  ) {
    const { metric } = this;
    const A = side === 'q' ? this.Q : this.R;
    const B = side === 'q' ? this.R : this.Q;
    const own = side === 'q' ? this.qOwn : this.rOwn;
    const rb = B.radius[b]!;
    const toDistance = metric.toDistance;
    const worst = this.heaps.worstDistance;
    let n = 0;
    let unsure = 0;
    // Rows the free bound cannot settle go to the back of `out`, to be tested exactly.
    let back = out.length;
    for (let t = A.start[a]!; t < A.end[a]!; t++) {
      const lim = Math.max(limit >= 0 ? limit : worst[t]!, floor);
      const o = own[t]!;
      if (D - o - rb > lim) continue;
      if (D + o - rb <= lim) {
        out[n] = t;
        limits[n++] = lim;
      } else {
        out[--back] = t;
        limits[back] = lim;
        unsure++;
      }
    }
    if (unsure === 0) return n;
    const centre = this.centre;
    if (this.euclidean) this.euclidean.centreDistances(side, out, back, unsure, b, centre);
    else {
      const d = this.d;
      for (let i = 0; i < unsure; i++) {
        centre[i] = toDistance(metric.reduced(A.data, out[back + i]! * d, B.center, b * d, d));
      }
    }
    for (let i = 0; i < unsure; i++) {
      const lim = limits[back + i]!;
      if (centre[i]! * (1 - 1e-12) - rb <= lim) {
        out[n] = out[back + i]!;
        limits[n++] = lim;
      }
    }
    return n;
  }

  /**
   * All useful distances between query leaf q and fitted leaf r (centres D apart), offered to
   * the heaps: query rows that may be nearer to r than their own k-th distance, against fitted
   * rows that may be nearer to q than the largest k-th distance of those query rows.
   */
  private block(q: number, r: number, D: number): void {
    const { Q, R, heaps, metric, d, qKept, rKept, qLimit, rLimit } = this;
    let m: number;
    let n: number;
    // Symmetric blocks of two leaves serve both sides (a leaf against itself already does).
    const both = this.symmetric && q !== r;
    if (this.prune) {
      // Query rows near enough for their own list or, in both directions, for some fitted row's.
      m = this.keptRows('q', q, r, D, -1, both ? this.worstDistance(r) : 0, qKept, qLimit);
      if (m === 0) return;
      let widest = 0;
      const worst = heaps.worstDistance;
      for (let i = 0; i < m; i++) widest = Math.max(widest, worst[qKept[i]!]!);
      n = both
        ? this.keptRows('r', r, q, D, -1, widest, rKept, rLimit)
        : this.keptRows('r', r, q, D, widest, 0, rKept, rLimit);
      if (n === 0) return;
    } else {
      m = n = 0;
      for (let t = Q.start[q]!; t < Q.end[q]!; t++) qKept[m++] = t;
      for (let t = R.start[r]!; t < R.end[r]!; t++) rKept[n++] = t;
    }
    const rOrder = R.order;
    // In a self search a row meets itself (same index) and must skip that pair.
    const qOrder = this.self ? Q.order : null;
    const Qd = Q.data;
    const Rd = R.data;
    if (this.euclidean) {
      // Screening compares reduced (squared) distances; fitted rows bring no limit of their own.
      for (let i = 0; i < m; i++) qLimit[i] = heaps.worst(qKept[i]!);
      for (let i = 0; i < n; i++) rLimit[i] = both ? heaps.worst(rKept[i]!) : -1;
      const count = this.euclidean.screen(m, n, qLimit, rLimit);
      const hits = this.euclidean.hits();
      const { pairA, pairB, exact } = this;
      let pairs = 0;
      for (let h = 0; h < count; h++) {
        const code = hits[h]!;
        const ia = code >>> 16;
        const ib = code & 0xffff;
        // Skip the padding of the SIMD tiles, and a row's distance to itself.
        if (ia >= m || ib >= n) continue;
        const a = qKept[ia]!;
        const b = rKept[ib]!;
        if (qOrder && qOrder[a] === rOrder[b]) continue;
        pairA[pairs] = a;
        pairB[pairs++] = b;
      }
      exactSquaredDistances(Qd, pairA, Rd, pairB, pairs, d, exact);
      for (let p = 0; p < pairs; p++) heaps.push(pairA[p]!, exact[p]!, rOrder[pairB[p]!]!);
      // Q is R: tree positions are shared, and the distance is the same bit for bit either way.
      if (both) for (let p = 0; p < pairs; p++) heaps.push(pairB[p]!, exact[p]!, rOrder[pairA[p]!]!);
      return;
    }
    for (let ia = 0; ia < m; ia++) {
      const a = qKept[ia]!;
      for (let ib = 0; ib < n; ib++) {
        const b = rKept[ib]!;
        if (qOrder && qOrder[a] === rOrder[b]) continue;
        const dist = metric.reduced(Qd, a * d, Rd, b * d, d);
        heaps.push(a, dist, rOrder[b]!);
        if (both) heaps.push(b, dist, rOrder[a]!);
      }
    }
  }

  /** Sorted neighbours in the queries' original order, as true distances. */
  collect(): NeighborResult {
    const { heaps, Q } = this;
    this.euclidean?.release();
    heaps.sortRows();
    const { k } = heaps;
    const n = Q.rows;
    const distances = new Float64Array(n * k);
    const indices = new Int32Array(n * k);
    const toDistance = this.metric.toDistance;
    for (let t = 0; t < n; t++) {
      const o = Q.order[t]! * k;
      for (let j = 0; j < k; j++) {
        distances[o + j] = toDistance(heaps.dist[t * k + j]!);
        indices[o + j] = heaps.idx[t * k + j]!;
      }
    }
    return { k, distances, indices };
  }
}

/**
 * Exact squared distances Σ(x−y)² of row pairs, each summed in feature order (bitwise what
 * scikit-learn's tree metrics compute); four pairs at a time, so the four dependency chains of
 * additions overlap instead of waiting on each other.
 */
function exactSquaredDistances(
  A: Float64Array,
  rowsA: Int32Array,
  B: Float64Array,
  rowsB: Int32Array,
  n: number,
  d: number,
  out: Float64Array,
): void {
  let p = 0;
  for (; p + 4 <= n; p += 4) {
    const a0 = rowsA[p]! * d;
    const a1 = rowsA[p + 1]! * d;
    const a2 = rowsA[p + 2]! * d;
    const a3 = rowsA[p + 3]! * d;
    const b0 = rowsB[p]! * d;
    const b1 = rowsB[p + 1]! * d;
    const b2 = rowsB[p + 2]! * d;
    const b3 = rowsB[p + 3]! * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < d; k++) {
      const t0 = A[a0 + k]! - B[b0 + k]!;
      const t1 = A[a1 + k]! - B[b1 + k]!;
      const t2 = A[a2 + k]! - B[b2 + k]!;
      const t3 = A[a3 + k]! - B[b3 + k]!;
      s0 += t0 * t0;
      s1 += t1 * t1;
      s2 += t2 * t2;
      s3 += t3 * t3;
    }
    out[p] = s0;
    out[p + 1] = s1;
    out[p + 2] = s2;
    out[p + 3] = s3;
  }
  for (; p < n; p++) {
    const a = rowsA[p]! * d;
    const b = rowsB[p]! * d;
    let s = 0;
    for (let k = 0; k < d; k++) {
      const t = A[a + k]! - B[b + k]!;
      s += t * t;
    }
    out[p] = s;
  }
}

function largestLeaf(T: BallTree): number {
  let most = 1;
  for (const leaf of T.leaves) most = Math.max(most, T.end[leaf]! - T.start[leaf]!);
  return most;
}

/** Distance from each row of a tree to the centre of the leaf holding it. */
function ownCentreDistances(T: BallTree): Float64Array {
  const out = new Float64Array(T.rows);
  const d = T.cols;
  for (const leaf of T.leaves) {
    for (let t = T.start[leaf]!; t < T.end[leaf]!; t++) {
      out[t] = T.metric.toDistance(T.metric.reduced(T.data, t * d, T.center, leaf * d, d)) * (1 + 1e-12);
    }
  }
  return out;
}

/** A binary min-heap of tree nodes keyed by distance. */
class NodeQueue {
  private nodes: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.nodes.length;
  }

  topKey(): number {
    return this.keys[0]!;
  }

  push(node: number, key: number): void {
    const { nodes, keys } = this;
    let i = nodes.length;
    nodes.push(node);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      nodes[i] = nodes[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    nodes[i] = node;
    keys[i] = key;
  }

  pop(): number {
    const { nodes, keys } = this;
    const top = nodes[0]!;
    const lastNode = nodes.pop()!;
    const lastKey = keys.pop()!;
    const n = nodes.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= lastKey) break;
      nodes[i] = nodes[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    nodes[i] = lastNode;
    keys[i] = lastKey;
    return top;
  }
}
