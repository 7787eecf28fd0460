import type { Rng } from '@anomalia/core';
import { tf } from './engine';
import {
  batchNormBackward,
  batchNormForward,
  blockBackward,
  blockForward,
  matMulInPlace,
  pieces,
  simdAvailable,
  simdBlockKernels,
} from './kernels';

/** One dense block: Linear → (LayerNorm or BatchNorm) → (ReLU) → (Dropout). */
export interface LayerSpec {
  inputs: number;
  outputs: number;
  /** LayerNorm (per row) after the Linear. */
  norm: boolean;
  /**
   * Batch normalisation (per column, PyTorch's BatchNorm1d: batch statistics in training,
   * running statistics at inference, folded into the Linear there). Never together with `norm`.
   */
  batchNorm: boolean;
  activation: 'relu' | 'linear';
  dropout: number;
  /**
   * Weight initialisation: `linear` is PyTorch's nn.Linear default, U(±1/√fan_in);
   * `kaiming-uniform` is nn.init.kaiming_uniform_ (a = 0, ReLU gain), U(±√(6/fan_in)), as
   * PyOD's LinearBlock. Biases are U(±1/√fan_in) either way.
   */
  init: 'linear' | 'kaiming-uniform';
}

export interface ParamShape {
  name: string;
  shape: number[];
  size: number;
  offset: number;
}

export interface LayerParams {
  W: tf.Tensor2D;
  b: tf.Tensor1D;
  gamma?: tf.Tensor1D;
  beta?: tf.Tensor1D;
}

/** Batch-norm momentum and epsilon (PyTorch's BatchNorm1d defaults, as PyOD uses them). */
export const BATCH_NORM_MOMENTUM = 0.1;
export const BATCH_NORM_EPS = 1e-5;

/** What the backward pass needs from the forward pass of one block. */
export interface LayerCache {
  /** The block's input, transposed ([inputs, rows]): dW = inputᵀ · dz. */
  inputT: tf.Tensor2D;
  gamma?: tf.Tensor;
  xhat?: tf.Tensor2D;
  /** Per row ([rows, 1]) for LayerNorm, per column ([1, cols]) for batch norm. */
  rstd?: tf.Tensor2D;
  batchNorm?: boolean;
  /** d(output)/d(pre-activation) as a 0 / 1 / 1/(1−p) multiplier (ReLU gate × dropout mask). */
  gate?: tf.Tensor2D;
}

export const LAYER_NORM_EPS = 1e-5;

/**
 * Builds the layer list of a plain MLP: hidden blocks with the given options, then a linear
 * output layer (or, with `lastActivation`, one more hidden-style block).
 */
export function mlpLayers(
  dims: readonly number[],
  options: {
    norm: boolean;
    batchNorm?: boolean;
    dropout: number;
    lastActivation?: boolean;
    lastDropout?: boolean;
    /** Initialisation of the hidden blocks' weights (default `linear`). */
    hiddenInit?: LayerSpec['init'];
    /** Initialisation of the output layer's weights (default `linear`). */
    outputInit?: LayerSpec['init'];
  },
): LayerSpec[] {
  if (options.norm && options.batchNorm) {
    throw new RangeError('a block has LayerNorm or batch norm, not both');
  }
  const layers: LayerSpec[] = [];
  for (let i = 0; i < dims.length - 1; i++) {
    const last = i === dims.length - 2;
    const hidden = !last || options.lastActivation === true;
    layers.push({
      inputs: dims[i]!,
      outputs: dims[i + 1]!,
      norm: hidden && options.norm,
      batchNorm: hidden && options.batchNorm === true,
      activation: hidden ? 'relu' : 'linear',
      dropout: hidden && (!last || options.lastDropout !== false) ? options.dropout : 0,
      init: (hidden ? options.hiddenInit : options.outputInit) ?? 'linear',
    });
  }
  return layers;
}

/**
 * A stack of dense blocks whose parameters live in a slice of one flat float32 vector shared
 * by every network of a model (one optimizer update per step for all of them). Forward and
 * backward are written by hand with the fewest tf ops: at small batches TensorFlow.js's
 * per-op dispatch cost, not arithmetic, bounds the speed. Only plain (NN) matrix products are
 * used (the wasm backend's transposed products are an order of magnitude slower; the transposes
 * are made explicitly, in the block and pieces kernels); on wasm with SIMD they run on the
 * in-place GEMM of simd.ts.
 */
export class Network {
  readonly params: ParamShape[] = [];
  readonly size: number;

  constructor(
    readonly name: string,
    readonly layers: readonly LayerSpec[],
    readonly offset = 0,
  ) {
    let o = offset;
    const add = (pname: string, shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      this.params.push({ name: `${name}.${pname}`, shape, size, offset: o });
      o += size;
    };
    layers.forEach((l, i) => {
      if (l.norm && l.batchNorm) throw new RangeError(`${name}.${i}: LayerNorm and batch norm together`);
      add(`${i}.W`, [l.inputs, l.outputs]);
      add(`${i}.b`, [l.outputs]);
      if (l.norm || l.batchNorm) {
        add(`${i}.gamma`, [l.outputs]);
        add(`${i}.beta`, [l.outputs]);
      }
    });
    this.size = o - offset;
    this.batchNormLayers = layers.flatMap((l, i) => (l.batchNorm ? [i] : []));
  }

  /** Indices of the batch-norm blocks, whose running statistics ([2, outputs]: mean; variance) the model keeps. */
  readonly batchNormLayers: readonly number[];

  /** Shapes of the running statistics, one [2, outputs] per batch-norm block, in order. */
  get statShapes(): number[][] {
    return this.batchNormLayers.map((i) => [2, this.layers[i]!.outputs]);
  }

  /** PyTorch's initial running statistics: mean 0, variance 1. */
  initialStats(out: Float32Array, offset: number): void {
    let o = offset;
    for (const i of this.batchNormLayers) {
      const c = this.layers[i]!.outputs;
      out.fill(0, o, o + c);
      out.fill(1, o + c, o + 2 * c);
      o += 2 * c;
    }
  }

  /**
   * Parameters for inference (`forward`): each batch-norm block folded into its Linear with the
   * running statistics, W' = W·a and b' = (b − mean)·a + β with a = γ / √(var + eps) per column
   * (what BatchNorm1d computes in eval mode, as one affine map). `stats` holds this network's
   * running statistics, one [2, outputs] tensor per batch-norm block.
   */
  inferenceParams(P: readonly LayerParams[], stats: readonly tf.Tensor2D[]): LayerParams[] {
    if (stats.length !== this.batchNormLayers.length) {
      throw new RangeError(
        `${this.name}: ${this.batchNormLayers.length} running statistics expected, ${stats.length} given`,
      );
    }
    let k = 0;
    return this.layers.map((l, i) => {
      const p = P[i]!;
      if (!l.batchNorm) return p;
      const [mean, variance] = pieces(stats[k++]!, 0, [[l.outputs], [l.outputs]]) as [
        tf.Tensor1D,
        tf.Tensor1D,
      ];
      const a = tf.mul(p.gamma!, tf.rsqrt(tf.add(variance, BATCH_NORM_EPS)));
      return {
        W: tf.mul(p.W, a) as tf.Tensor2D,
        b: tf.add(tf.mul(tf.sub(p.b, mean), a), p.beta!) as tf.Tensor1D,
      };
    });
  }

  get inputs(): number {
    return this.layers[0]!.inputs;
  }
  get outputs(): number {
    return this.layers[this.layers.length - 1]!.outputs;
  }
  /** Total width of the dropout masks one row needs (one mask per block with dropout). */
  get dropoutWidth(): number {
    return this.layers.reduce((s, l) => s + (l.dropout > 0 ? l.outputs : 0), 0);
  }

  /**
   * Weights as the layer's `init` says, biases U(±1/√fan_in) (PyTorch's Linear default), norm
   * γ = 1, β = 0.
   */
  initialise(flat: Float32Array, rng: Rng): void {
    for (const p of this.params) {
      const layer = this.layers[this.layerOf(p.name)]!;
      const fanIn = layer.inputs;
      const kaiming = p.shape.length === 2 && layer.init === 'kaiming-uniform';
      const bound = kaiming ? Math.sqrt(6 / fanIn) : 1 / Math.sqrt(fanIn);
      const isGamma = p.name.endsWith('.gamma');
      const isBeta = p.name.endsWith('.beta');
      for (let k = 0; k < p.size; k++) {
        flat[p.offset + k] = isGamma ? 1 : isBeta ? 0 : rng.uniform(-bound, bound);
      }
    }
  }

  private layerOf(name: string): number {
    return Number(name.split('.').at(-2));
  }

  /** Groups this network's parameter views (in `params` order) by layer. */
  layerParams(views: readonly tf.Tensor[]): LayerParams[] {
    const out: LayerParams[] = [];
    let k = 0;
    for (const l of this.layers) {
      const p: LayerParams = { W: views[k++] as tf.Tensor2D, b: views[k++] as tf.Tensor1D };
      if (l.norm || l.batchNorm) {
        p.gamma = views[k++] as tf.Tensor1D;
        p.beta = views[k++] as tf.Tensor1D;
      }
      out.push(p);
    }
    return out;
  }

  /**
   * Forward pass. Differentiable by default (tf autodiff works through it: saliency, gradient
   * checks); with `differentiable = false` it uses the hand-written kernels (scoring). With
   * `masks` (one [rows, outputs] 0 / 1/(1−p) tensor per block with dropout, in order), dropout is
   * applied as in training (MC dropout); without, it is the identity. Batch-norm blocks must
   * come folded (`inferenceParams`): they are then a plain Linear.
   */
  forward(
    x: tf.Tensor2D,
    P: readonly LayerParams[],
    masks?: readonly tf.Tensor2D[],
    differentiable = true,
  ): tf.Tensor2D {
    let h = x;
    let m = 0;
    this.layers.forEach((l, i) => {
      const p = P[i]!;
      if (l.batchNorm && p.gamma)
        throw new Error(`${this.name}.${i}: fold batch norm (inferenceParams) before forward`);
      const mask = l.dropout > 0 && masks ? masks[m++]! : null;
      if (!differentiable && useKernel(h.shape[0] * l.outputs, l.outputs, l.norm)) {
        // Inference: one matrix product and one hand-written kernel per block.
        const z = linear(h, p.W, p.b);
        if (!l.norm && l.activation === 'linear' && !mask) {
          h = z;
          return;
        }
        h = blockForward(z, l.norm ? p.gamma! : null, l.norm ? p.beta! : null, mask, {
          relu: l.activation === 'relu',
          eps: LAYER_NORM_EPS,
          transposeOut: false,
          keep: false,
        }).a;
        return;
      }
      const fuseRelu = l.activation === 'relu' && !l.norm;
      h = tf.fused.matMul({
        a: h,
        b: p.W,
        bias: p.b,
        activation: fuseRelu ? 'relu' : 'linear',
      }) as tf.Tensor2D;
      if (l.norm) {
        h = layerNorm(h, p.gamma!, p.beta!).y;
        if (l.activation === 'relu') h = tf.relu(h);
      }
      if (mask) h = tf.mul(h, mask);
    });
    return h;
  }

  /** Indices (in this network's `params`) of the weight matrices, whose transposes the backward pass needs. */
  get weightIndices(): number[] {
    this.weightIdx ??= this.params.flatMap((p, i) => (p.name.endsWith('.W') ? [i] : []));
    return this.weightIdx;
  }
  private weightIdx?: number[];

  /**
   * Training forward pass keeping what `backward` needs: per block one matrix product (with
   * bias) and one hand-written kernel for norm, ReLU and dropout. `xT` is the input transposed.
   * Batch-norm blocks normalise with the batch statistics and return their updated running
   * statistics (`stats` in, the new ones out, one [2, outputs] tensor per batch-norm block).
   */
  forwardTrain(
    x: tf.Tensor2D,
    xT: tf.Tensor2D,
    P: readonly LayerParams[],
    masks: readonly tf.Tensor2D[],
    options: { transposeOut?: boolean; stats?: readonly tf.Tensor2D[] } = {},
  ): { out: tf.Tensor2D; outT?: tf.Tensor2D; caches: LayerCache[]; stats: tf.Tensor2D[] } {
    const transposeOut = options.transposeOut === true;
    const statsIn = options.stats ?? [];
    if (statsIn.length !== this.batchNormLayers.length) {
      throw new RangeError(
        `${this.name}: ${this.batchNormLayers.length} running statistics expected, ${statsIn.length} given`,
      );
    }
    const stats: tf.Tensor2D[] = [];
    const caches: LayerCache[] = [];
    let h = x;
    let hT = xT;
    let m = 0;
    const last = this.layers.length - 1;
    this.layers.forEach((l, i) => {
      const p = P[i]!;
      const z = linear(h, p.W, p.b);
      const mask = l.dropout > 0 ? masks[m++]! : null;
      const cache: LayerCache = { inputT: hT };
      if (l.batchNorm) {
        const r = batchNormForward(z, p.gamma!, p.beta!, statsIn[stats.length]!, mask, {
          relu: l.activation === 'relu',
          eps: BATCH_NORM_EPS,
          momentum: BATCH_NORM_MOMENTUM,
          transposeOut: i < last || transposeOut,
        });
        stats.push(r.running);
        Object.assign(cache, { gate: r.gate, gamma: p.gamma, xhat: r.xhat, rstd: r.rstd, batchNorm: true });
        caches.push(cache);
        h = r.a;
        if (r.aT) hT = r.aT;
        return;
      }
      if (!l.norm && l.activation === 'linear' && !mask) {
        caches.push(cache);
        h = z;
        return;
      }
      const r = (useKernel(z.size, z.shape[1], l.norm) ? blockForward : blockForwardOps)(
        z,
        l.norm ? p.gamma! : null,
        l.norm ? p.beta! : null,
        mask,
        { relu: l.activation === 'relu', eps: LAYER_NORM_EPS, transposeOut: i < last || transposeOut },
      );
      cache.gate = r.gate;
      if (l.norm) {
        cache.gamma = p.gamma;
        cache.xhat = r.xhat;
        cache.rstd = r.rstd;
      }
      caches.push(cache);
      h = r.a;
      if (r.aT) hT = r.aT;
    });
    const lastPlain = caches.length > 0 && hT === caches[last]!.inputT;
    return { out: h, outT: transposeOut ? (lastPlain ? tf.transpose(h) : hT) : undefined, caches, stats };
  }

  /**
   * Backward pass from d(loss)/d(output), given the transposed weights `Wt` (one per block).
   * Returns the gradients in `params` order (shapes as the parameters; the optimizer reads them
   * flat) and, when asked, d(loss)/d(input).
   */
  backward(
    caches: readonly LayerCache[],
    dOut: tf.Tensor2D,
    Wt: readonly tf.Tensor2D[],
    needInputGrad: boolean,
  ): { grads: tf.Tensor[]; dX?: tf.Tensor2D } {
    const grads: tf.Tensor[][] = [];
    let dA = dOut;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      const c = caches[i]!;
      // A plain linear block (the output layer): dz = dA, and db its column sums as a GEMM with a
      // row of ones (any width; the block kernels want widths in multiples of 4).
      const b = c.batchNorm
        ? batchNormBackward(dA, c.gate, c.xhat!, c.rstd!, c.gamma!)
        : !l.norm && !c.gate && simdAvailable()
          ? { dz: dA, db: product(ones(dA.shape[0]), dA) }
          : (useKernel(dA.size, dA.shape[1], l.norm) ? blockBackward : blockBackwardOps)(
              dA,
              c.gate,
              l.norm ? { xhat: c.xhat!, rstd: c.rstd!, gamma: c.gamma! } : null,
            );
      const dW = product(c.inputT, b.dz);
      grads.push(l.norm || l.batchNorm ? [dW, b.db, b.dGamma!, b.dBeta!] : [dW, b.db]);
      if (i > 0 || needInputGrad) dA = product(b.dz, Wt[i]!);
    }
    return { grads: grads.reverse().flat(), dX: needInputGrad ? dA : undefined };
  }
}

/**
 * Up to this many values per block, the hand-written JS kernel beats a dozen tf ops (dispatch
 * bound); above it, on wasm, the SIMD ops win (arithmetic bound). Measured on the benchmark's
 * shapes: kernels for batch 32 × ≤ 128 units, tf ops at batch 256.
 */
let kernelMaxValues = 4096;

/**
 * h·W + b as one kernel call: the wasm-SIMD GEMM (bias fused) when available, else the backend's
 * fused product called as the raw kernel, without tf.fused.matMul's autodiff wrapper (a
 * custom-gradient scope per call): the training step writes its own backward pass.
 */
function linear(h: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (simdAvailable()) return matMulInPlace(h, W, b);
  const [rows, k] = h.shape;
  const n = W.shape[1];
  const out = tf
    .engine()
    .runKernel(
      '_FusedMatMul',
      { a: tf.reshape(h, [1, rows, k]), b: tf.reshape(W, [1, k, n]), bias: b },
      { transposeA: false, transposeB: false, activation: 'linear', leakyreluAlpha: 0.2 },
    ) as tf.Tensor;
  return tf.reshape(out, [rows, n]);
}

/** a·b: the in-place wasm-SIMD GEMM when available, else the backend's matrix product. */
function product(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return simdAvailable() ? matMulInPlace(a, b) : tf.matMul(a, b);
}

/** Sets the block size (values) up to which the hand-written kernels are used on wasm (for benchmarks). */
export function setKernelMaxValues(values: number): void {
  kernelMaxValues = values;
}

/**
 * Whether a block of `values` values and `cols` columns runs on the hand-written kernel (else on
 * tf ops): always on cpu; on wasm always with the SIMD kernels (cols a multiple of 4), else the
 * JS loop for small blocks and for blocks without LayerNorm (a copy and a column sum, cheaper
 * than the ops).
 */
function useKernel(values: number, cols: number, norm: boolean): boolean {
  const backend = tf.getBackend();
  if (backend === 'cpu') return true;
  if (backend === 'wasm') return simdBlockKernels(cols) || values <= kernelMaxValues || !norm;
  return false;
}

/** The same block as the `blockForward` kernel, in tf ops (large blocks on wasm, native backends). */
function blockForwardOps(
  z: tf.Tensor2D,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  mask: tf.Tensor2D | null,
  attrs: { relu: boolean; eps: number; transposeOut: boolean },
): { a: tf.Tensor2D; aT?: tf.Tensor2D; gate?: tf.Tensor2D; xhat?: tf.Tensor2D; rstd?: tf.Tensor2D } {
  let y = z;
  let xhat: tf.Tensor2D | undefined;
  let rstd: tf.Tensor2D | undefined;
  if (gamma && beta) {
    const ln = layerNorm(z, gamma as tf.Tensor1D, beta as tf.Tensor1D);
    y = ln.y;
    xhat = ln.xhat;
    rstd = ln.rstd;
  }
  let gate: tf.Tensor2D | undefined;
  if (attrs.relu) {
    const step = tf.step(y) as tf.Tensor2D;
    gate = mask ? (tf.mul(step, mask) as tf.Tensor2D) : step;
  } else if (mask) {
    gate = mask;
  }
  const a = gate ? (tf.mul(y, gate) as tf.Tensor2D) : y;
  return { a, aT: attrs.transposeOut ? tf.transpose(a) : undefined, gate, xhat, rstd };
}

const onesRows = new Map<string, tf.Tensor2D>();
/** A cached [1, rows] row of ones: column sums as a matrix product (wasm's axis-0 sum is slow). */
function ones(rows: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${rows}`;
  let t = onesRows.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.ones([1, rows]) as tf.Tensor2D);
    onesRows.set(key, t);
  }
  return t;
}

/** The same as the `blockBackward` kernel, in tf ops. */
function blockBackwardOps(
  dA: tf.Tensor2D,
  gate: tf.Tensor2D | undefined,
  norm: { xhat: tf.Tensor2D; rstd: tf.Tensor2D; gamma: tf.Tensor } | null,
): { dz: tf.Tensor2D; db: tf.Tensor; dGamma?: tf.Tensor; dBeta?: tf.Tensor } {
  const o = ones(dA.shape[0]);
  let dz = gate ? (tf.mul(dA, gate) as tf.Tensor2D) : dA;
  let dGamma: tf.Tensor | undefined;
  let dBeta: tf.Tensor | undefined;
  if (norm) {
    dGamma = tf.matMul(o, tf.mul(dz, norm.xhat));
    dBeta = tf.matMul(o, dz);
    const dxhat = tf.mul(dz, norm.gamma);
    const m1 = tf.mean(dxhat, 1, true);
    const m2 = tf.mean(tf.mul(dxhat, norm.xhat), 1, true);
    dz = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(norm.xhat, m2)), norm.rstd) as tf.Tensor2D;
  }
  return { dz, db: tf.matMul(o, dz), dGamma, dBeta };
}

/** LayerNorm over the last axis: y = γ·x̂ + β with x̂ = (x − μ)·rstd. */
function layerNorm(
  z: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
): { y: tf.Tensor2D; xhat: tf.Tensor2D; rstd: tf.Tensor2D } {
  const mu = tf.mean(z, 1, true);
  const zc = tf.sub(z, mu);
  const variance = tf.mean(tf.square(zc), 1, true);
  const rstd = tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)) as tf.Tensor2D;
  const xhat = tf.mul(zc, rstd) as tf.Tensor2D;
  const y = tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor2D;
  return { y, xhat, rstd };
}

/**
 * Dropout masks (0 or 1/(1−p)): a xorshift32 stream seeded from the model's Rng (one draw per
 * mask, so masks are reproducible under the model's seed), 8 bits per unit: the drop probability
 * is rounded to a multiple of 1/256 (0.2 → 0.199). Inlined and byte-sliced because at large
 * batches mask generation with a generic generator costs as much as a layer's arithmetic.
 */
export function fillDropoutMask(out: Float32Array, p: number, rng: Rng): Float32Array {
  const lut = dropoutTable(p);
  const n = out.length;
  let s = rng.nextUint32() | 1;
  let k = 0;
  // A table lookup per byte instead of a compare: the 0 / keep choice is random, so a branch on
  // it is mispredicted about p of the time.
  for (; k + 3 < n; k += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[k] = lut[s & 0xff]!;
    out[k + 1] = lut[(s >>> 8) & 0xff]!;
    out[k + 2] = lut[(s >>> 16) & 0xff]!;
    out[k + 3] = lut[s >>> 24]!;
  }
  for (; k < n; k++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[k] = lut[s & 0xff]!;
  }
  return out;
}

const dropoutTables = new Map<number, Float32Array>();
/** Mask value per random byte for drop probability p: 0 below round(256·p), else 1/(1 − p'). */
function dropoutTable(p: number): Float32Array {
  let lut = dropoutTables.get(p);
  if (!lut) {
    const limit = Math.round(p * 256);
    const keep = 1 / (1 - limit / 256);
    lut = new Float32Array(256).map((_, b) => (b < limit ? 0 : keep));
    dropoutTables.set(p, lut);
  }
  return lut;
}
