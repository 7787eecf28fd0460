import type { Rng } from '@anomalia/core';
import { tf } from './engine';
import { pieces } from './kernels';
import { fillDropoutMask, type LayerParams, type Network } from './network';
import { FlatAdam, type OptimizerConfig } from './optimizer';

/** The networks of one model and where their parameters sit in the shared flat vector. */
export class ParamLayout {
  readonly networks: readonly Network[];
  readonly size: number;

  constructor(networks: readonly Network[]) {
    let offset = 0;
    for (const n of networks) {
      if (n.offset !== offset)
        throw new RangeError(`network ${n.name} starts at ${n.offset}, expected ${offset}`);
      offset += n.size;
    }
    this.networks = networks;
    this.size = offset;
  }

  get shapes(): number[][] {
    this.shapeList ??= this.networks.flatMap((n) => n.params.map((p) => p.shape));
    return this.shapeList;
  }
  private shapeList?: number[][];

  /** Cuts the flat vector into every network's parameters, plus the transposed weights when asked. */
  views(flat: tf.Tensor, withTransposes: boolean): Array<{ P: LayerParams[]; Wt: tf.Tensor2D[] }> {
    const shapes = this.shapes;
    const wIdx: number[] = [];
    let base = 0;
    for (const n of this.networks) {
      if (withTransposes) for (const i of n.weightIndices) wIdx.push(base + i);
      base += n.params.length;
    }
    const out = pieces(flat, 0, shapes, wIdx);
    const views = out.slice(0, shapes.length);
    const transposes = out.slice(shapes.length) as tf.Tensor2D[];
    let v = 0;
    let t = 0;
    return this.networks.map((n) => {
      const P = n.layerParams(views.slice(v, v + n.params.length));
      v += n.params.length;
      const Wt = withTransposes ? transposes.slice(t, t + n.layers.length) : [];
      t += withTransposes ? n.layers.length : 0;
      return { P, Wt };
    });
  }

  /** Values of all running statistics (batch norm): per network, per block, [2, outputs]. */
  get statSize(): number {
    return this.networks.reduce((s, n) => s + n.statShapes.reduce((a, sh) => a + sh[0]! * sh[1]!, 0), 0);
  }

  /** The running statistics before any training (mean 0, variance 1). */
  initialStats(): Float32Array {
    const out = new Float32Array(this.statSize);
    let o = 0;
    for (const n of this.networks) {
      n.initialStats(out, o);
      o += n.statShapes.reduce((a, sh) => a + sh[0]! * sh[1]!, 0);
    }
    return out;
  }

  /** The running statistics as tensors: per network, one [2, outputs] per batch-norm block. */
  statTensors(stats: Float32Array): tf.Tensor2D[][] {
    let o = 0;
    return this.networks.map((n) =>
      n.statShapes.map((sh) => {
        const size = sh[0]! * sh[1]!;
        const t = tf.tensor2d(stats.subarray(o, o + size), sh as [number, number]);
        o += size;
        return t;
      }),
    );
  }

  /**
   * Named float32 arrays of every parameter and running statistic (for an artifact): the
   * statistics of block i of a network as `<network>.<i>.runningMean` and `.runningVar`.
   */
  toTensors(
    flat: Float32Array,
    stats: Float32Array = new Float32Array(0),
  ): Record<string, { data: Float32Array<ArrayBuffer>; shape: number[] }> {
    const out: Record<string, { data: Float32Array<ArrayBuffer>; shape: number[] }> = {};
    let o = 0;
    for (const n of this.networks) {
      for (const p of n.params)
        out[p.name] = { data: flat.slice(p.offset, p.offset + p.size), shape: p.shape };
      for (const i of n.batchNormLayers) {
        const c = n.layers[i]!.outputs;
        out[`${n.name}.${i}.runningMean`] = { data: stats.slice(o, o + c), shape: [c] };
        out[`${n.name}.${i}.runningVar`] = { data: stats.slice(o + c, o + 2 * c), shape: [c] };
        o += 2 * c;
      }
    }
    return out;
  }
}

/** What one training step sees. */
export interface BatchContext {
  /** Per network: its parameters, transposed weights and batch-norm running statistics. */
  nets: Array<{ P: LayerParams[]; Wt: tf.Tensor2D[]; stats: tf.Tensor2D[] }>;
  x: tf.Tensor2D;
  xT: tf.Tensor2D;
  /** Targets gathered with the same rows as x (null for unsupervised models). */
  y: tf.Tensor2D | null;
  rows: number;
  /** One dropout mask per entry of `Objective.masks`, [rows, width]. */
  masks: tf.Tensor2D[];
  /** Standard normal noise [rows, noiseWidth] when the objective asks for it. */
  noise: tf.Tensor2D | null;
  /** Running sum of the loss (one value); the objective returns it updated. */
  acc: tf.Tensor;
}

/** A model's loss, written as a hand-made forward + backward pass. */
export interface Objective {
  masks: ReadonlyArray<{ width: number; p: number }>;
  noiseWidth: number;
  /**
   * Gradients (in parameter order, any shapes), acc + the SUM over rows of the per-row loss, and
   * the updated running statistics of every batch-norm block (networks in order; none without).
   */
  gradients(ctx: BatchContext): { grads: tf.Tensor[]; acc: tf.Tensor; stats?: tf.Tensor2D[] };
}

export interface EarlyStopping {
  metric: string;
  mode: 'min' | 'max';
  patience: number;
  minDelta: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  rng: Rng;
  /** Running statistics to start from (default: the layout's initial ones). */
  initialStats?: Float32Array;
  /**
   * Skip the last batch of an epoch when it is short (PyTorch DataLoader's drop_last, which PyOD
   * uses): batch statistics over a handful of rows are noise. A data set smaller than one batch
   * is still trained on, as one batch.
   */
  dropLast?: boolean;
  /** Metrics on a held-out split after each epoch, from the current parameters and running statistics. */
  validate?: (params: tf.Tensor1D, stats: tf.Tensor2D[][]) => Record<string, number>;
  earlyStopping?: EarlyStopping;
  onEpoch?: (epoch: number, metrics: Record<string, number>) => void;
}

export interface TrainResult {
  params: Float32Array;
  /** The running statistics that go with `params`. */
  stats: Float32Array;
  history: Array<Record<string, number>>;
  /** Epoch (1-based) whose parameters were kept (the best on the monitored metric, else the last). */
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
}

/**
 * out[i] = rows[perm[i]] for rows of `cols` values: wide rows as a block copy each (about twice as
 * fast as an element loop, which converts every float32 to a double and back), narrow ones
 * (targets) element by element (a subarray per row would cost more than the copy).
 */
function gatherRows(rows: Float32Array, cols: number, perm: ArrayLike<number>, out: Float32Array): void {
  const n = perm.length;
  if (cols >= 16) {
    for (let i = 0; i < n; i++) {
      const src = perm[i]! * cols;
      out.set(rows.subarray(src, src + cols), i * cols);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const src = perm[i]! * cols;
    const dst = i * cols;
    for (let j = 0; j < cols; j++) out[dst + j] = rows[src + j]!;
  }
}

/**
 * The training loop: the data set is shuffled and uploaded once per epoch, then cut into
 * batches on the device; each step is one tf.tidy running the objective's forward
 * and backward passes and one flat optimizer update. Nothing is read back inside an epoch
 * (the loss is accumulated on device), so no step waits for the device.
 */
export function trainFlat(
  initial: Float32Array,
  layout: ParamLayout,
  X: Float32Array,
  cols: number,
  Y: Float32Array | null,
  yCols: number,
  objective: Objective,
  options: TrainOptions,
): TrainResult {
  const n = X.length / cols;
  const { rng } = options;
  const batch = Math.min(options.batchSize, n);
  // Rows of the epoch that are trained on: a short last batch is skipped with dropLast.
  const used = options.dropLast ? n - (n % batch) : n;
  const xShuffled = new Float32Array(X.length);
  const yShuffled = Y ? new Float32Array(Y.length) : null;
  let flat = tf.tensor1d(initial);
  let stats = layout.statTensors(options.initialStats ?? layout.initialStats());
  const opt = new FlatAdam(options.optimizer, layout.size);
  const maskBuffers = objective.masks.map((m) => new Float32Array(batch * m.width));
  const noiseBuffer = new Float32Array(batch * objective.noiseWidth);
  const history: TrainResult['history'] = [];
  const es = options.earlyStopping;
  let best: { value: number; epoch: number; params: tf.Tensor1D; stats: tf.Tensor2D[][] } | null = null;
  let sinceBest = 0;
  let stoppedEarly = false;
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= options.epochs; epoch++) {
      // Shuffled on the host (row copies) and uploaded once per epoch: the wasm gather kernel
      // is several times slower than this for a whole data set.
      const perm = rng.permutation(n);
      gatherRows(X, cols, perm, xShuffled);
      if (yShuffled) gatherRows(Y!, yCols, perm, yShuffled);
      const xe = tf.tensor2d(xShuffled, [n, cols]);
      const ye = yShuffled ? tf.tensor2d(yShuffled, [n, yCols]) : null;
      let lossAcc: tf.Tensor = tf.zeros([1]);
      for (let start = 0; start < used; start += batch) {
        const rows = Math.min(batch, used - start);
        const current = flat;
        const currentStats = stats;
        const previousLoss = lossAcc;
        tf.tidy(() => {
          const [x, xT] = pieces(xe, start * cols, [[rows, cols]], [0]) as [tf.Tensor2D, tf.Tensor2D];
          const y = ye ? (pieces(ye, start * yCols, [[rows, yCols]])[0] as tf.Tensor2D) : null;
          const masks = objective.masks.map((m, k) => {
            const buf = maskBuffers[k]!.subarray(0, rows * m.width);
            return tf.tensor2d(fillDropoutMask(buf, m.p, rng), [rows, m.width]);
          });
          let noise: tf.Tensor2D | null = null;
          if (objective.noiseWidth > 0) {
            const buf = noiseBuffer.subarray(0, rows * objective.noiseWidth);
            for (let k = 0; k < buf.length; k++) buf[k] = rng.normal();
            noise = tf.tensor2d(buf, [rows, objective.noiseWidth]);
          }
          const nets = layout.views(current, true).map((v, k) => ({ ...v, stats: currentStats[k]! }));
          const out = objective.gradients({
            nets,
            x,
            xT,
            y,
            rows,
            masks,
            noise,
            acc: previousLoss,
          });
          flat = opt.step(current, out.grads);
          lossAcc = tf.keep(out.acc);
          if (layout.statSize > 0)
            stats = regroup(layout, out.stats ?? []).map((g) => g.map((t) => tf.keep(t)));
        });
        current.dispose();
        previousLoss.dispose();
        if (stats !== currentStats) tf.dispose(currentStats.flat());
      }
      xe.dispose();
      ye?.dispose();
      const metrics: Record<string, number> = { epoch, loss: (lossAcc.dataSync()[0] ?? Number.NaN) / used };
      lossAcc.dispose();
      if (options.validate) Object.assign(metrics, options.validate(flat, stats));
      history.push(metrics);
      options.onEpoch?.(epoch, metrics);
      if (!Number.isFinite(metrics.loss!)) break;
      if (es) {
        const value = metrics[es.metric];
        if (value === undefined || !Number.isFinite(value)) continue;
        const improved =
          !best || (es.mode === 'min' ? value < best.value - es.minDelta : value > best.value + es.minDelta);
        if (improved) {
          if (best) disposeCheckpoint(best);
          best = { value, epoch, params: tf.clone(flat), stats: stats.map((g) => g.map((t) => tf.clone(t))) };
          sinceBest = 0;
        } else if (++sinceBest >= es.patience) {
          stoppedEarly = true;
          break;
        }
      }
    }
    const epochsRun = Math.min(epoch, options.epochs);
    const kept = best ?? { params: flat, stats };
    return {
      params: Float32Array.from(kept.params.dataSync()),
      stats: readStats(layout, kept.stats),
      history,
      bestEpoch: best ? best.epoch : epochsRun,
      epochsRun,
      stoppedEarly,
    };
  } finally {
    if (best) disposeCheckpoint(best);
    flat.dispose();
    tf.dispose(stats.flat());
    opt.dispose();
  }
}

function disposeCheckpoint(c: { params: tf.Tensor; stats: tf.Tensor[][] }): void {
  c.params.dispose();
  tf.dispose(c.stats.flat());
}

/** A flat list of running statistics (networks in order) grouped per network. */
function regroup(layout: ParamLayout, flat: readonly tf.Tensor2D[]): tf.Tensor2D[][] {
  const expected = layout.networks.reduce((s, n) => s + n.batchNormLayers.length, 0);
  if (flat.length !== expected) {
    throw new RangeError(`the objective returned ${flat.length} running statistics, expected ${expected}`);
  }
  let k = 0;
  return layout.networks.map((n) => n.batchNormLayers.map(() => flat[k++]!));
}

/** Running statistics read back into one flat vector (layout order). */
function readStats(layout: ParamLayout, stats: readonly tf.Tensor2D[][]): Float32Array {
  const out = new Float32Array(layout.statSize);
  let o = 0;
  for (const t of stats.flat()) {
    const v = t.dataSync();
    out.set(v, o);
    o += v.length;
  }
  return out;
}
