import {
  ArtifactError,
  assertTensorShapes,
  type LoadedArtifact,
  type Matrix,
  type Rng,
  requireTensor,
} from '@anomalia/core';
import { tensor } from '../shared/tensor';
import { averagePathLength } from './path-length';

/**
 * Every tree of a forest in flat typed arrays (one entry per node, trees back to back), which
 * makes scoring a tight loop and the artifact a handful of arrays. `left[node] === -1` marks a
 * leaf. Tree t owns nodes [roots[t], roots[t + 1]) and starts at its root; the two children of
 * a node are adjacent (right = left + 1) and come after it (trees are grown breadth first).
 */
export interface FlatForest {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Training rows that reached the node (distinct rows, as scikit-learn's `n_node_samples`). */
  nodeSamples: Int32Array;
  roots: Int32Array;
}

/** Grows arrays as nodes are added while building trees. */
export class ForestBuilder {
  private size = 0;
  private capacity = 1024;
  feature = new Int32Array(this.capacity);
  threshold = new Float64Array(this.capacity);
  left = new Int32Array(this.capacity);
  right = new Int32Array(this.capacity);
  nodeSamples = new Int32Array(this.capacity);
  readonly roots: number[] = [0];

  get nodeCount(): number {
    return this.size;
  }

  addNode(samples: number): number {
    if (this.size === this.capacity) this.grow();
    const id = this.size++;
    this.feature[id] = -1;
    this.left[id] = -1;
    this.right[id] = -1;
    this.nodeSamples[id] = samples;
    return id;
  }

  endTree(): void {
    this.roots.push(this.size);
  }

  private grow(): void {
    this.capacity *= 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, Ctor: new (n: number) => T): T => {
      const b = new Ctor(this.capacity);
      b.set(a);
      return b;
    };
    this.feature = grow(this.feature, Int32Array);
    this.threshold = grow(this.threshold, Float64Array);
    this.left = grow(this.left, Int32Array);
    this.right = grow(this.right, Int32Array);
    this.nodeSamples = grow(this.nodeSamples, Int32Array);
  }

  finish(): FlatForest {
    const n = this.size;
    return {
      feature: this.feature.slice(0, n),
      threshold: this.threshold.slice(0, n),
      left: this.left.slice(0, n),
      right: this.right.slice(0, n),
      nodeSamples: this.nodeSamples.slice(0, n),
      roots: Int32Array.from(this.roots),
    };
  }
}

export interface TreeSpec {
  /** Distinct training row indices of the tree's subsample (reordered in place while building). */
  rows: Int32Array;
  /** Columns the tree may split on. */
  features: Int32Array;
  maxDepth: number;
  rng: Rng;
}

interface Pending {
  id: number;
  start: number;
  end: number;
  depth: number;
  /** Features found constant in an ancestor: they are constant here too, so never drawn again. */
  knownConstant: readonly number[];
}

/**
 * Adds one isolation tree, built as scikit-learn's ExtraTreeRegressor(max_features=1,
 * splitter="random") inside IsolationForest: at each node a feature is drawn uniformly among
 * those not constant in the node, and the split value uniformly between the feature's minimum
 * and maximum in the node (x ≤ value goes left). A node becomes a leaf at `maxDepth`, with one
 * row, or when every feature is constant in it.
 */
function growTree(builder: ForestBuilder, X: Matrix, spec: TreeSpec): void {
  const { rows, features, maxDepth, rng } = spec;
  const { data, cols } = X;
  const queue: Pending[] = [
    { id: builder.addNode(rows.length), start: 0, end: rows.length, depth: 0, knownConstant: [] },
  ];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    const { start, end, depth } = node;
    if (depth >= maxDepth || end - start < 2) continue;

    const constant = new Set(node.knownConstant);
    const candidates = Array.from(features).filter((f) => !constant.has(f));
    const newlyConstant: number[] = [];
    let splitFeature = -1;
    let lo = 0;
    let hi = 0;
    while (candidates.length) {
      const k = rng.integer(0, candidates.length);
      const f = candidates[k]!;
      candidates[k] = candidates[candidates.length - 1]!;
      candidates.pop();
      lo = Number.POSITIVE_INFINITY;
      hi = Number.NEGATIVE_INFINITY;
      for (let r = start; r < end; r++) {
        const v = data[rows[r]! * cols + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) {
        splitFeature = f;
        break;
      }
      newlyConstant.push(f);
    }
    if (splitFeature < 0) continue;

    let threshold = rng.uniform(lo, hi);
    // Rounding can land on the maximum; scikit-learn then splits at the minimum so both sides are non-empty.
    if (threshold === hi) threshold = lo;
    let p = start;
    for (let r = start; r < end; r++) {
      const row = rows[r]!;
      if (data[row * cols + splitFeature]! <= threshold) {
        rows[r] = rows[p]!;
        rows[p++] = row;
      }
    }
    const left = builder.addNode(p - start);
    const right = builder.addNode(end - p);
    builder.feature[node.id] = splitFeature;
    builder.threshold[node.id] = threshold;
    builder.left[node.id] = left;
    builder.right[node.id] = right;
    const knownConstant = newlyConstant.length
      ? [...node.knownConstant, ...newlyConstant]
      : node.knownConstant;
    queue.push({ id: left, start, end: p, depth: depth + 1, knownConstant });
    queue.push({ id: right, start: p, end, depth: depth + 1, knownConstant });
  }
}

/** Builds a forest from one spec per tree. */
export function buildForest(X: Matrix, specs: Iterable<TreeSpec>): FlatForest {
  const builder = new ForestBuilder();
  for (const spec of specs) {
    growTree(builder, X, spec);
    builder.endTree();
  }
  return builder.finish();
}

/**
 * The forest rearranged for scoring without branches: a leaf loops to itself with an infinite
 * threshold, so every row can take exactly `depth` steps per tree, `node = child[node] +
 * (x[feature[node]] > threshold[node])`, and blocks of rows walk a tree in lockstep: the
 * independent walks overlap in the CPU instead of each waiting on its own loads.
 */
export interface ScoringForest {
  child: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  /** Depth of the node plus c(rows in the node): the path length of a row ending there. */
  pathLength: Float64Array;
  roots: Int32Array;
  /** Depth of each tree (number of steps a row takes). */
  depths: Int32Array;
}

export function scoringForest(forest: FlatForest): ScoringForest {
  const { left, right, feature, threshold, nodeSamples, roots } = forest;
  const n = left.length;
  const nTrees = roots.length - 1;
  const depth = new Int32Array(n);
  const out: ScoringForest = {
    child: new Int32Array(n),
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    pathLength: new Float64Array(n),
    roots: roots.subarray(0, nTrees),
    depths: new Int32Array(nTrees),
  };
  for (let t = 0; t < nTrees; t++) {
    for (let node = roots[t]!; node < roots[t + 1]!; node++) {
      // Parents come before their children, so a node's depth is known when it is reached.
      if (left[node]! >= 0) {
        depth[left[node]!] = depth[node]! + 1;
        depth[right[node]!] = depth[node]! + 1;
        out.child[node] = left[node]!;
        out.feature[node] = feature[node]!;
        out.threshold[node] = threshold[node]!;
      } else {
        out.child[node] = node;
        out.threshold[node] = Number.POSITIVE_INFINITY;
        // scikit-learn's arithmetic: (nodes on the path + c(n)) − 1, for identical sums.
        out.pathLength[node] = depth[node]! + 1 + averagePathLength(nodeSamples[node]!) - 1;
        out.depths[t] = Math.max(out.depths[t]!, depth[node]!);
      }
    }
  }
  return out;
}

/** Rows walked through the trees per block: enough independent walks to hide memory latency. */
const ROW_BLOCK = 256;

/** Sum over trees, in tree order, of each row's path length (depth of the leaf reached + leaf correction). */
export function pathLengthSums(forest: ScoringForest, X: Matrix): Float64Array {
  const { child, feature, threshold, pathLength, roots, depths } = forest;
  const { data, cols, rows } = X;
  const nTrees = roots.length;
  const out = new Float64Array(rows);
  const nodes = new Int32Array(ROW_BLOCK);
  for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
    const count = Math.min(rows, i0 + ROW_BLOCK) - i0;
    for (let t = 0; t < nTrees; t++) {
      nodes.fill(roots[t]!, 0, count);
      for (let step = depths[t]!; step > 0; step--) {
        for (let j = 0, base = i0 * cols; j < count; j++, base += cols) {
          const node = nodes[j]!;
          // `| 0` turns the comparison into 0 or 1 without a branch.
          nodes[j] =
            child[node]! + ((data[base + feature[node]!]! > threshold[node]!) as unknown as number | 0);
        }
      }
      for (let j = 0; j < count; j++) out[i0 + j]! += pathLength[nodes[j]!]!;
    }
  }
  return out;
}

/** The forest's arrays for an artifact. */
export function forestTensors(forest: FlatForest) {
  return {
    feature: tensor(forest.feature),
    threshold: tensor(forest.threshold),
    left: tensor(forest.left),
    right: tensor(forest.right),
    nodeSamples: tensor(forest.nodeSamples),
    roots: tensor(forest.roots),
  };
}

/**
 * Reads a forest back from an artifact and checks its structure, so a corrupted artifact is an
 * error here rather than an endless loop or an out-of-bounds read while scoring.
 */
export function forestFromArtifact(artifact: LoadedArtifact, nTrees: number, nFeatures: number): FlatForest {
  const roots = requireTensor(artifact, 'roots', 'int32', nTrees + 1);
  const nodes = roots[nTrees]!;
  assertTensorShapes(artifact, {
    roots: [nTrees + 1],
    feature: [nodes],
    threshold: [nodes],
    left: [nodes],
    right: [nodes],
    nodeSamples: [nodes],
  });
  const forest: FlatForest = {
    feature: requireTensor(artifact, 'feature', 'int32', nodes),
    threshold: requireTensor(artifact, 'threshold', 'float64', nodes),
    left: requireTensor(artifact, 'left', 'int32', nodes),
    right: requireTensor(artifact, 'right', 'int32', nodes),
    nodeSamples: requireTensor(artifact, 'nodeSamples', 'int32', nodes),
    roots,
  };
  const bad = (field: string, message: string) =>
    new ArtifactError('weights.bin', `tensors.${field}`, message);
  if (roots[0] !== 0) throw bad('roots', 'the first tree must start at node 0');
  for (let t = 0; t < nTrees; t++) {
    const start = roots[t]!;
    const end = roots[t + 1]!;
    if (!(end > start)) throw bad('roots', `tree ${t} has no nodes`);
    for (let node = start; node < end; node++) {
      const l = forest.left[node]!;
      const r = forest.right[node]!;
      const f = forest.feature[node]!;
      if (l === -1) {
        if (r !== -1 || f !== -1) throw bad('left', `node ${node} is half leaf, half split`);
        continue;
      }
      if (!(l > node && r === l + 1 && r < end))
        throw bad('left', `node ${node}: children must be adjacent, after it and inside its tree`);
      if (!(f >= 0 && f < nFeatures)) throw bad('feature', `node ${node} splits on column ${f}`);
      if (!Number.isFinite(forest.threshold[node]!)) throw bad('threshold', `node ${node} is not finite`);
    }
  }
  return forest;
}
