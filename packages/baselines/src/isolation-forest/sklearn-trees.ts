import type { Matrix } from '@anomalia/core';
import { NumpyRandomState, sampleWithoutReplacement } from '../shared/numpy-random';
import { type FlatForest, ForestBuilder } from './forest';

/** scikit-learn's constants: RAND_R_MAX of its tree RNG, FEATURE_THRESHOLD and EPSILON of its splitters. */
const RAND_R_MAX = 0x7fffffff;
const FEATURE_THRESHOLD = 1e-7;
const EPSILON = 2.220446049250313e-16;
const MAX_INT = 2147483647;

export interface SklearnForestSpec {
  nEstimators: number;
  /** max_samples_ (ψ), already resolved. */
  maxSamples: number;
  /** Columns per tree, already resolved. */
  maxFeatures: number;
  bootstrap: boolean;
  /** random_state's seed. */
  seed: number;
  /**
   * random_state is a RandomState(seed) instance (one stream for the whole fit) rather than the
   * integer seed (each check_random_state restarts the stream).
   */
  sharedStream: boolean;
  maxDepth: number;
}

/**
 * The trees scikit-learn 1.2's IsolationForest grows for random_state = seed or
 * RandomState(seed), reproduced exactly:
 * the same numpy MT19937 streams (per-estimator seeds, bagging draws, each tree's seed), the
 * same float32 features, and a port of ExtraTreeRegressor's depth-first builder and
 * RandomSplitter (its xorshift RNG, Fisher–Yates feature draws with known-constant features,
 * FEATURE_THRESHOLD, split value uniform between the node's minimum and maximum). Only the
 * node numbering differs (children adjacent, as the scoring layout needs); scores are the same.
 */
export function buildSklearnForest(X: Matrix, spec: SklearnForestSpec): FlatForest {
  const { rows: n, cols: d } = X;
  // IsolationForest validates X as float32, and draws y ~ U(0, 1) (used only by the impurity criterion).
  const X32 = Float32Array.from(X.data);
  const stream = new NumpyRandomState(spec.seed);
  const y = stream.uniform(n);
  // BaseBagging._fit calls check_random_state again: an integer seed starts over, an instance goes on.
  const seeds = spec.sharedStream ? stream : new NumpyRandomState(spec.seed);
  const estimatorSeeds = Array.from({ length: spec.nEstimators }, () => seeds.randint(0, MAX_INT));
  const builder = new ForestBuilder();
  for (const estimatorSeed of estimatorSeeds) {
    // _set_random_states: the tree's random_state is the first draw of RandomState(seed_i).
    const treeSeed = new NumpyRandomState(estimatorSeed).randint(0, MAX_INT);
    // _generate_bagging_indices: a fresh RandomState(seed_i), features first, then rows.
    const bag = new NumpyRandomState(estimatorSeed);
    const features = sampleWithoutReplacement(d, spec.maxFeatures, bag);
    const drawn = spec.bootstrap
      ? Int32Array.from({ length: spec.maxSamples }, () => bag.randint(0, n))
      : sampleWithoutReplacement(n, spec.maxSamples, bag);
    // Rows enter the tree as sample weights (counts); rows of weight 0 are left out, in row order.
    const weight = new Float64Array(n);
    for (const r of drawn) weight[r] = spec.bootstrap ? weight[r]! + 1 : 1;
    const samples: number[] = [];
    for (let r = 0; r < n; r++) if (weight[r] !== 0) samples.push(r);
    new TreeGrower(X32, d, features, y, weight, Int32Array.from(samples), treeSeed, spec.maxDepth).grow(
      builder,
    );
    builder.endTree();
  }
  return builder.finish();
}

interface Pending {
  id: number;
  start: number;
  end: number;
  depth: number;
  impurity: number;
  nConstant: number;
}

class TreeGrower {
  /** Positions into `columns` (the tree's feature subset), permuted as the splitter draws them. */
  private readonly features: Int32Array;
  private readonly constantFeatures: Int32Array;
  private randState: number;

  constructor(
    private readonly X: Float32Array,
    private readonly d: number,
    private readonly columns: Int32Array,
    private readonly y: Float64Array,
    private readonly weight: Float64Array,
    private readonly samples: Int32Array,
    treeSeed: number,
    private readonly maxDepth: number,
  ) {
    this.features = Int32Array.from({ length: columns.length }, (_, i) => i);
    this.constantFeatures = new Int32Array(columns.length);
    // Splitter.init: rand_r_state = random_state.randint(0, RAND_R_MAX).
    this.randState = new NumpyRandomState(treeSeed).randint(0, RAND_R_MAX);
  }

  /** scikit-learn's our_rand_r (xorshift32). */
  private randR(): number {
    let s = this.randState === 0 ? 1 : this.randState;
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    this.randState = s;
    return s % (RAND_R_MAX + 1);
  }

  private value(sample: number, feature: number): number {
    return this.X[sample * this.d + this.columns[feature]!]!;
  }

  /** MSE impurity of y over samples[start..end) (the criterion's node impurity). */
  private impurity(start: number, end: number): number {
    let w = 0;
    let sum = 0;
    let sq = 0;
    for (let p = start; p < end; p++) {
      const i = this.samples[p]!;
      const wy = this.weight[i]! * this.y[i]!;
      sum += wy;
      sq += wy * this.y[i]!;
      w += this.weight[i]!;
    }
    return sq / w - (sum / w) ** 2;
  }

  /** DepthFirstTreeBuilder.build: nodes split in depth-first order, left child first. */
  grow(builder: ForestBuilder): void {
    const n = this.samples.length;
    const stack: Pending[] = [
      { id: builder.addNode(n), start: 0, end: n, depth: 0, impurity: this.impurity(0, n), nConstant: 0 },
    ];
    while (stack.length) {
      const node = stack.pop()!;
      const { start, end } = node;
      if (node.depth >= this.maxDepth || end - start < 2 || node.impurity <= EPSILON) continue;
      const split = this.nodeSplit(start, end, node.nConstant);
      if (!split) continue;
      const left = builder.addNode(split.pos - start);
      const right = builder.addNode(end - split.pos);
      builder.feature[node.id] = this.columns[split.feature]!;
      builder.threshold[node.id] = split.threshold;
      builder.left[node.id] = left;
      builder.right[node.id] = right;
      const depth = node.depth + 1;
      stack.push({
        id: right,
        start: split.pos,
        end,
        depth,
        impurity: this.impurity(split.pos, end),
        nConstant: split.nConstant,
      });
      stack.push({
        id: left,
        start,
        end: split.pos,
        depth,
        impurity: this.impurity(start, split.pos),
        nConstant: split.nConstant,
      });
    }
  }

  /** RandomSplitter.node_split with max_features = 1. */
  private nodeSplit(start: number, end: number, nKnownConstants: number) {
    const { features, constantFeatures, samples } = this;
    let fI = features.length;
    let nFoundConstants = 0;
    let nDrawnConstants = 0;
    let nTotalConstants = nKnownConstants;
    let nVisited = 0;
    let best: { pos: number; feature: number; threshold: number } | null = null;
    while (fI > nTotalConstants && (nVisited < 1 || nVisited <= nFoundConstants + nDrawnConstants)) {
      nVisited++;
      let fJ = nDrawnConstants + (this.randR() % (fI - nFoundConstants - nDrawnConstants));
      if (fJ < nKnownConstants) {
        // A feature already known to be constant: set it aside and draw again.
        const t = features[nDrawnConstants]!;
        features[nDrawnConstants] = features[fJ]!;
        features[fJ] = t;
        nDrawnConstants++;
        continue;
      }
      fJ += nFoundConstants;
      const feature = features[fJ]!;
      let lo = this.value(samples[start]!, feature);
      let hi = lo;
      for (let p = start + 1; p < end; p++) {
        const v = this.value(samples[p]!, feature);
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
      if (hi <= lo + FEATURE_THRESHOLD) {
        features[fJ] = features[nTotalConstants]!;
        features[nTotalConstants] = feature;
        nFoundConstants++;
        nTotalConstants++;
        continue;
      }
      fI--;
      features[fJ] = features[fI]!;
      features[fI] = feature;
      let threshold = ((hi - lo) * this.randR()) / RAND_R_MAX + lo;
      if (threshold === hi) threshold = lo;
      // Partition as scikit-learn does (the order of samples decides nothing random, but keep it).
      let p = start;
      let partitionEnd = end;
      while (p < partitionEnd) {
        if (this.value(samples[p]!, feature) <= threshold) p++;
        else {
          partitionEnd--;
          const t = samples[p]!;
          samples[p] = samples[partitionEnd]!;
          samples[partitionEnd] = t;
        }
      }
      best = { pos: partitionEnd, feature, threshold };
    }
    // Restore the known constants' order; record the newly found ones after them.
    features.set(constantFeatures.subarray(0, nKnownConstants));
    constantFeatures.set(
      features.subarray(nKnownConstants, nKnownConstants + nFoundConstants),
      nKnownConstants,
    );
    if (!best || best.pos >= end) return null;
    return { ...best, nConstant: nTotalConstants };
  }
}
