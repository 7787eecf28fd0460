import { tf } from './engine';
import { type SimdKernels, simdKernels, type WasmMemory } from './simd';

/**
 * Hand-written kernels for the training step. At small batches a TensorFlow.js step is bound by
 * the per-op dispatch cost (a few µs per op, whatever its size), not by arithmetic: a LayerNorm
 * + ReLU + dropout block is a dozen ops forward and as many backward, an Adam update ~20 ops.
 * Each of these is one kernel here, written as a plain loop over Float32Arrays, with a wasm-SIMD
 * version (simd.ts) that the wasm backend runs when it can, matrix products included; without
 * it, the dense-block loops run only for small blocks on wasm (tf ops above, see `network.ts`)
 * and the matrix products go to the backend. On wasm and cpu the kernels are registered
 * with TensorFlow.js and work in place on the backend's memory (no copies); on any other
 * backend (tfjs-node) the same loops run on copies. They are not differentiable: the training
 * step writes its own backward pass.
 */

type Shape = number[];

interface KernelDef<A> {
  name: string;
  /** Output shapes from the input shapes. */
  outputs(inputs: readonly Shape[], attrs: A): Shape[];
  compute(
    inputs: readonly Float32Array[],
    outputs: readonly Float32Array[],
    shapes: readonly Shape[],
    attrs: A,
  ): void;
  /**
   * Optional wasm-SIMD version on the wasm backend: heap byte offsets of the inputs and outputs,
   * plus views for tails. Returns false to fall back to `compute`.
   */
  simd?(
    k: SimdKernels,
    inputs: readonly number[],
    outputs: readonly number[],
    views: { inputs: readonly Float32Array[]; outputs: readonly Float32Array[] },
    attrs: A,
    shapes: readonly Shape[],
  ): boolean;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { asm?: { memory?: WasmMemory } };
}

let simdEnabled = true;
/** Turns the wasm-SIMD kernels off (tests compare them with the JS loops). */
export function useSimdKernels(on: boolean): void {
  simdEnabled = on;
}
/**
 * Whether the wasm-SIMD dense-block kernels run for blocks of `cols` columns: on the wasm backend,
 * with SIMD kernels on and validated by the engine, and `cols` a multiple of 4.
 */
export function simdBlockKernels(cols: number): boolean {
  return cols % 4 === 0 && simdAvailable();
}

/** Whether the wasm-SIMD kernels (GEMM included) run: wasm backend, SIMD kernels on and valid. */
export function simdAvailable(): boolean {
  if (!simdEnabled || tf.getBackend() !== 'wasm') return false;
  const memory = (tf.backend() as unknown as WasmBackendLike).wasm.asm?.memory;
  return memory !== undefined && simdKernels(memory) !== null;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

let copyMode = false;
/**
 * Forces the path used on backends without registered kernels (tfjs-node): inputs read with
 * dataSync, outputs uploaded as new tensors. For tests; the default picks the fastest path.
 */
export function useCopyKernels(on: boolean): void {
  copyMode = on;
}

/** Defines a kernel, registers it on wasm and cpu, and returns its caller. */
function defineKernel<A extends object>(
  def: KernelDef<A>,
): (inputs: readonly tf.Tensor[], attrs: A) => tf.Tensor[] {
  const kernelName = `Anomalia${def.name}`;
  const names = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
  const inputsOf = (map: tf.NamedTensorInfoMap, n: number) => names(n).map((k) => map[k] as tf.TensorInfo);
  // A second copy of this module (ESM and CJS builds in one process) finds them registered.
  if (tf.getKernel(kernelName, 'wasm') && tf.getKernel(kernelName, 'cpu')) return call(kernelName, def);
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackendLike;
      const a = attrs as unknown as A & { n: number };
      const ins = inputsOf(inputs, a.n);
      const shapes = ins.map((t) => t.shape);
      const outs = def.outputs(shapes, a).map((s) => b.makeOutput(s, 'float32'));
      const memory = b.wasm.asm?.memory;
      const simd = def.simd && simdEnabled && memory ? simdKernels(memory) : null;
      if (simd) {
        const offset = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
        const views = {
          inputs: ins.map((t) => b.typedArrayFromHeap(t)),
          outputs: outs.map((t) => b.typedArrayFromHeap(t)),
        };
        if (def.simd!(simd, ins.map(offset), outs.map(offset), views, a, shapes)) return outs;
      }
      // Views are taken after every allocation: an allocation can grow (and move) the heap.
      def.compute(
        ins.map((t) => b.typedArrayFromHeap(t)),
        outs.map((t) => b.typedArrayFromHeap(t)),
        shapes,
        a,
      );
      return outs;
    },
  });
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackendLike;
      const a = attrs as unknown as A & { n: number };
      const ins = inputsOf(inputs, a.n);
      const shapes = ins.map((t) => t.shape);
      const outShapes = def.outputs(shapes, a);
      const outData = outShapes.map((s) => new Float32Array(size(s)));
      def.compute(
        ins.map((t) => b.data.get(t.dataId).values),
        outData,
        shapes,
        a,
      );
      return outShapes.map((s, i) => b.makeTensorInfo(s, 'float32', outData[i]!));
    },
  });
  return call(kernelName, def);
}

/** The caller of a registered kernel, with the copying path for other backends. */
function call<A extends object>(
  kernelName: string,
  def: KernelDef<A>,
): (inputs: readonly tf.Tensor[], attrs: A) => tf.Tensor[] {
  return (inputs, attrs) => {
    const backend = tf.getBackend();
    if (!copyMode && (backend === 'wasm' || backend === 'cpu')) {
      const map: tf.NamedTensorMap = {};
      inputs.forEach((t, i) => {
        map[`i${i}`] = t;
      });
      const out = tf
        .engine()
        .runKernel(kernelName, map, { ...attrs, n: inputs.length } as unknown as tf.NamedAttrMap);
      return (Array.isArray(out) ? out : [out]) as tf.Tensor[];
    }
    const shapes = inputs.map((t) => t.shape);
    const outShapes = def.outputs(shapes, attrs);
    const outData = outShapes.map((s) => new Float32Array(size(s)));
    def.compute(
      inputs.map((t) => t.dataSync() as Float32Array),
      outData,
      shapes,
      attrs,
    );
    return outShapes.map((s, i) => tf.tensor(outData[i]!, s, 'float32'));
  };
}

// ---------------------------------------------------------------------------------------------
// Cutting: consecutive pieces of a tensor's data (parameter views, batches), optionally with a
// transposed copy of some pieces (what the backward pass multiplies by).

interface PiecesAttrs {
  offset: number;
  shapes: number[][];
  /** Indices of 2-D pieces whose transpose is appended, in this order, after the pieces. */
  transposed: number[];
}

const piecesKernel = defineKernel<PiecesAttrs>({
  name: 'Pieces',
  outputs: (_inputs, a) => [...a.shapes, ...a.transposed.map((i) => [a.shapes[i]![1]!, a.shapes[i]![0]!])],
  compute: ([x], outs, _shapes, a) => {
    let o = a.offset;
    const starts: number[] = [];
    a.shapes.forEach((s, i) => {
      const n = size(s);
      starts.push(o);
      outs[i]!.set(x!.subarray(o, o + n));
      o += n;
    });
    a.transposed.forEach((p, k) => {
      const [r, c] = a.shapes[p] as [number, number];
      transposeInto(x!, r, c, outs[a.shapes.length + k]!, starts[p]!);
    });
  },
  simd: (sk, [x], outs, views, a) => {
    let o = a.offset;
    const starts: number[] = [];
    a.shapes.forEach((s, i) => {
      const n = size(s);
      starts.push(o);
      views.outputs[i]!.set(views.inputs[0]!.subarray(o, o + n));
      o += n;
    });
    a.transposed.forEach((p, k) => {
      const [r, c] = a.shapes[p] as [number, number];
      sk.transpose(x! + 4 * starts[p]!, outs[a.shapes.length + k]!, r, c);
    });
    return true;
  },
});

/**
 * Consecutive pieces of x's row-major data from element `offset`, with the given shapes, then
 * the transposes of the pieces listed in `transposed`.
 */
export function pieces(
  x: tf.Tensor,
  offset: number,
  shapes: readonly number[][],
  transposed: readonly number[] = [],
): tf.Tensor[] {
  const total = shapes.reduce((s, sh) => s + size(sh), 0);
  if (offset < 0 || offset + total > x.size) {
    throw new RangeError(`pieces [${offset}, ${offset + total}) outside a tensor of ${x.size} values`);
  }
  return piecesKernel([x], { offset, shapes: shapes.map((s) => [...s]), transposed: [...transposed] });
}

// ---------------------------------------------------------------------------------------------
// Matrix product a·b (+ bias) read in place: the wasm-SIMD GEMM on wasm (no weight packing per
// call), a plain loop elsewhere.

const matMulKernel = defineKernel<Record<string, never>>({
  name: 'MatMul',
  outputs: ([a, b]) => [[a![0]!, b![1]!]],
  compute: ([a, b, bias], [out], shapes) => {
    const [m, k] = shapes[0] as [number, number];
    const n = shapes[1]![1]!;
    const A = a!;
    const B = b!;
    const o = out!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) o[i * n + j] = bias ? bias[j]! : 0;
      for (let p = 0; p < k; p++) {
        const v = A[i * k + p]!;
        for (let j = 0; j < n; j++) o[i * n + j] = o[i * n + j]! + v * B[p * n + j]!;
      }
    }
  },
  simd: (sk, [a, b, bias], [out], _views, _a, shapes) => {
    const [m, k] = shapes[0] as [number, number];
    sk.gemm(a!, b!, bias ?? 0, out!, m, k, shapes[1]![1]!);
    return true;
  },
});

/** a·b (+ bias), [m, k]·[k, n] → [m, n], with the wasm-SIMD GEMM (see `simdBlockKernels`). */
export function matMulInPlace(a: tf.Tensor2D, b: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (a.shape[1] !== b.shape[0]) throw new RangeError(`matMul: [${a.shape}]·[${b.shape}]`);
  return matMulKernel(bias ? [a, b, bias] : [a, b], {})[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------
// Dense block after the matrix product: (LayerNorm) → (ReLU) → (dropout mask).

export interface BlockAttrs {
  norm: boolean;
  relu: boolean;
  hasMask: boolean;
  eps: number;
  /** Also output the transpose of the activation (the next layer's dW needs it). */
  transposeOut: boolean;
  /** Keep what the backward pass needs (gate, x̂, rstd); false for inference. */
  keep: boolean;
}

/** Outputs: a, [aT], [gate], [xhat, rstd] (the last three when `keep`). Inputs: z, [gamma, beta], [mask]. */
const blockForwardKernel = defineKernel<BlockAttrs>({
  name: 'BlockForward',
  outputs: ([z], a) => {
    const [r, c] = z as [number, number];
    const out: Shape[] = [[r, c]];
    if (a.transposeOut) out.push([c, r]);
    if (a.keep && (a.relu || a.hasMask)) out.push([r, c]);
    if (a.keep && a.norm) out.push([r, c], [r, 1]);
    return out;
  },
  compute: (ins, outs, shapes, a) => {
    const [rows, cols] = shapes[0] as [number, number];
    // Attributes into locals: property reads on the attrs object are slow inside hot loops.
    const norm = a.norm;
    const relu = a.relu;
    const eps = a.eps;
    const z = ins[0]!;
    let k = 1;
    const gamma = norm ? ins[k++]! : z;
    const beta = norm ? ins[k++]! : z;
    const mask = a.hasMask ? ins[k++]! : null;
    let o = 0;
    const out = outs[o++]!;
    const outT = a.transposeOut ? outs[o++]! : null;
    if (!a.keep) {
      blockInference(z, gamma, beta, mask, out, rows, cols, norm, relu, eps);
      if (outT) transposeInto(out, rows, cols, outT);
      return;
    }
    const gate = relu || mask ? outs[o++]! : null;
    const xhat = norm ? outs[o++]! : out;
    const rstd = norm ? outs[o++]! : out;
    const hasGate = gate !== null;
    const hasMask = mask !== null;
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let mu = 0;
      let r = 1;
      if (norm) {
        // One pass for the moments (float64 accumulators), one for normalise + affine + gate.
        let s1 = 0;
        let s2 = 0;
        for (let j = 0; j < cols; j++) {
          const v = z[base + j]!;
          s1 += v;
          s2 += v * v;
        }
        mu = s1 / cols;
        const variance = Math.max(0, s2 / cols - mu * mu);
        r = 1 / Math.sqrt(variance + eps);
        rstd[i] = r;
      }
      for (let j = 0; j < cols; j++) {
        let y = z[base + j]!;
        if (norm) {
          const xh = (y - mu) * r;
          xhat[base + j] = xh;
          y = xh * gamma[j]! + beta[j]!;
        }
        if (hasGate) {
          let g = relu && y <= 0 ? 0 : 1;
          if (hasMask) g *= mask[base + j]!;
          gate[base + j] = g;
          y *= g;
        }
        out[base + j] = y;
      }
    }
    if (outT) transposeInto(out, rows, cols, outT);
  },
  simd: (sk, ins, outs, _views, a, shapes) => {
    const [rows, cols] = shapes[0] as [number, number];
    if (cols % 4 !== 0) return false;
    let k = 1;
    const gamma = a.norm ? ins[k++]! : 0;
    const beta = a.norm ? ins[k++]! : 0;
    const mask = a.hasMask ? ins[k++]! : 0;
    let o = 0;
    const out = outs[o++]!;
    const outT = a.transposeOut ? outs[o++]! : 0;
    const gate = a.keep && (a.relu || a.hasMask) ? outs[o++]! : 0;
    const xhat = a.keep && a.norm ? outs[o++]! : 0;
    const rstd = a.keep && a.norm ? outs[o++]! : 0;
    const variant = { norm: a.norm, relu: a.relu, mask: a.hasMask, keep: a.keep };
    sk.blockForward(variant)(ins[0]!, gamma, beta, mask, out, gate, xhat, rstd, rows, cols, a.eps);
    if (outT) sk.transpose(out, outT, rows, cols);
    return true;
  },
});

/** The block forward without the backward's by-products (scoring, MC dropout). */
function blockInference(
  z: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  mask: Float32Array | null,
  out: Float32Array,
  rows: number,
  cols: number,
  norm: boolean,
  relu: boolean,
  eps: number,
): void {
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    let mu = 0;
    let r = 1;
    if (norm) {
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < cols; j++) {
        const v = z[base + j]!;
        s1 += v;
        s2 += v * v;
      }
      mu = s1 / cols;
      r = 1 / Math.sqrt(Math.max(0, s2 / cols - mu * mu) + eps);
      for (let j = 0; j < cols; j++) {
        const y = (z[base + j]! - mu) * r * gamma[j]! + beta[j]!;
        out[base + j] = relu && y < 0 ? 0 : y;
      }
    } else {
      for (let j = 0; j < cols; j++) {
        const y = z[base + j]!;
        out[base + j] = relu && y < 0 ? 0 : y;
      }
    }
    if (mask) for (let j = 0; j < cols; j++) out[base + j] = out[base + j]! * mask[base + j]!;
  }
}

/** dst[j, i] = src[i, j] for a rows × cols src, in cache-friendly tiles. */
function transposeInto(
  src: Float32Array,
  rows: number,
  cols: number,
  dst: Float32Array,
  srcOffset = 0,
): void {
  const T = 16;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(i0 + T, rows);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(j0 + T, cols);
      for (let i = i0; i < i1; i++) {
        const row = srcOffset + i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[row + j]!;
      }
    }
  }
}

export function blockForward(
  z: tf.Tensor2D,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  mask: tf.Tensor2D | null,
  attrs: Omit<BlockAttrs, 'hasMask' | 'norm' | 'keep'> & { keep?: boolean },
): { a: tf.Tensor2D; aT?: tf.Tensor2D; gate?: tf.Tensor2D; xhat?: tf.Tensor2D; rstd?: tf.Tensor2D } {
  const norm = gamma !== null;
  const full: BlockAttrs = { ...attrs, keep: attrs.keep ?? true, norm, hasMask: mask !== null };
  const inputs: tf.Tensor[] = [z];
  if (norm) inputs.push(gamma!, beta!);
  if (mask) inputs.push(mask);
  const outs = blockForwardKernel(inputs, full) as tf.Tensor2D[];
  let o = 0;
  const a = outs[o++]!;
  const aT = full.transposeOut ? outs[o++] : undefined;
  if (!full.keep) return { a, aT };
  const gate = full.relu || full.hasMask ? outs[o++] : undefined;
  const xhat = norm ? outs[o++] : undefined;
  const rstd = norm ? outs[o++] : undefined;
  return { a, aT, gate, xhat, rstd };
}

interface BlockBackwardAttrs {
  norm: boolean;
  hasGate: boolean;
}

/** Inputs: dA, [gate], [xhat, rstd, gamma]. Outputs: dz, db, [dGamma, dBeta]. */
const blockBackwardKernel = defineKernel<BlockBackwardAttrs>({
  name: 'BlockBackward',
  outputs: ([dA], a) => {
    const [r, c] = dA as [number, number];
    const out: Shape[] = [
      [r, c],
      [1, c],
    ];
    if (a.norm) out.push([1, c], [1, c]);
    return out;
  },
  compute: (ins, outs, shapes, a) => {
    const [rows, cols] = shapes[0] as [number, number];
    const dA = ins[0]!;
    let k = 1;
    const gate = a.hasGate ? ins[k++]! : null;
    const xhat = a.norm ? ins[k++]! : null;
    const rstd = a.norm ? ins[k++]! : null;
    const gamma = a.norm ? ins[k++]! : null;
    const dz = outs[0]!;
    const db = outs[1]!;
    const dGamma = a.norm ? outs[2]! : db;
    const dBeta = a.norm ? outs[3]! : db;
    db.fill(0);
    if (!a.norm) {
      for (let i = 0; i < rows; i++) {
        const base = i * cols;
        if (gate) for (let j = 0; j < cols; j++) dz[base + j] = dA[base + j]! * gate[base + j]!;
        else dz.set(dA.subarray(base, base + cols), base);
        for (let j = 0; j < cols; j++) db[j] = db[j]! + dz[base + j]!;
      }
      return;
    }
    const xh = xhat!;
    const g = gamma!;
    const rs = rstd!;
    dGamma.fill(0);
    dBeta.fill(0);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      // dy = dA·gate; dβ += dy; dγ += dy·x̂; dx̂ = dy·γ; dz = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
      let m1 = 0;
      let m2 = 0;
      for (let j = 0; j < cols; j++) {
        const dy = gate ? dA[base + j]! * gate[base + j]! : dA[base + j]!;
        const x = xh[base + j]!;
        dBeta[j] = dBeta[j]! + dy;
        dGamma[j] = dGamma[j]! + dy * x;
        const dxh = dy * g[j]!;
        dz[base + j] = dxh;
        m1 += dxh;
        m2 += dxh * x;
      }
      m1 /= cols;
      m2 /= cols;
      const r = rs[i]!;
      for (let j = 0; j < cols; j++) {
        const d = r * (dz[base + j]! - m1 - xh[base + j]! * m2);
        dz[base + j] = d;
        db[j] = db[j]! + d;
      }
    }
  },
  simd: (sk, ins, outs, _views, a, shapes) => {
    const [rows, cols] = shapes[0] as [number, number];
    if (cols % 4 !== 0) return false;
    let k = 1;
    const gate = a.hasGate ? ins[k++]! : 0;
    const xhat = a.norm ? ins[k++]! : 0;
    const rstd = a.norm ? ins[k++]! : 0;
    const gamma = a.norm ? ins[k++]! : 0;
    const [dz, db, dGamma, dBeta] = outs as [number, number, number?, number?];
    sk.blockBackward(a.norm, a.hasGate)(
      ins[0]!,
      gate,
      xhat,
      rstd,
      gamma,
      dz,
      db,
      dGamma ?? 0,
      dBeta ?? 0,
      rows,
      cols,
    );
    return true;
  },
});

export function blockBackward(
  dA: tf.Tensor2D,
  gate: tf.Tensor2D | undefined,
  norm: { xhat: tf.Tensor2D; rstd: tf.Tensor2D; gamma: tf.Tensor } | null,
): { dz: tf.Tensor2D; db: tf.Tensor; dGamma?: tf.Tensor; dBeta?: tf.Tensor } {
  const inputs: tf.Tensor[] = [dA];
  if (gate) inputs.push(gate);
  if (norm) inputs.push(norm.xhat, norm.rstd, norm.gamma);
  const [dz, db, dGamma, dBeta] = blockBackwardKernel(inputs, {
    norm: norm !== null,
    hasGate: gate !== undefined,
  });
  return { dz: dz as tf.Tensor2D, db: db!, dGamma, dBeta };
}

// ---------------------------------------------------------------------------------------------
// Losses: gradient w.r.t. the prediction and a running sum of the loss, in one pass.

interface LossAttrs {
  kind: 'mse' | 'contrastive';
  /** d(loss)/d(pred) = gradScale · ∂(per-element loss). */
  gradScale: number;
  /** acc += accScale · Σ per-element loss. */
  accScale: number;
  margin: number;
}

/** Inputs: pred, target, acc (1 value). Outputs: dPred, acc'. */
const lossKernel = defineKernel<LossAttrs>({
  name: 'Loss',
  outputs: ([pred]) => [[...pred!], [1]],
  compute: ([pred, target, acc], [dPred, accOut], _s, a) => {
    // Attributes and arrays into locals: property reads inside the loops are slow.
    const p = pred!;
    const t = target!;
    const d = dPred!;
    const scale = a.gradScale;
    const margin = a.margin;
    let sum = 0;
    const n = p.length;
    if (a.kind === 'mse') {
      for (let i = 0; i < n; i++) {
        const e = p[i]! - t[i]!;
        d[i] = 2 * e * scale;
        sum += e * e;
      }
    } else {
      // (1 − y)·E + y·max(0, margin − E)
      for (let i = 0; i < n; i++) {
        const E = p[i]!;
        const y = t[i]!;
        const hinge = margin - E;
        sum += (1 - y) * E + (hinge > 0 ? y * hinge : 0);
        d[i] = (1 - y - (hinge > 0 ? y : 0)) * scale;
      }
    }
    accOut![0] = acc![0]! + a.accScale * sum;
  },
  simd: (sk, [pred, target], [dPred], views, a) => {
    if (a.kind !== 'mse') return false;
    const [p, t, acc] = views.inputs as [Float32Array, Float32Array, Float32Array];
    const d = views.outputs[0]!;
    const n = p.length;
    const n4 = n & ~3;
    let sum = sk.mse(pred!, target!, dPred!, n4, a.gradScale);
    for (let i = n4; i < n; i++) {
      const e = p[i]! - t[i]!;
      d[i] = 2 * e * a.gradScale;
      sum += e * e;
    }
    views.outputs[1]![0] = acc[0]! + a.accScale * sum;
    return true;
  },
});

export function lossGradient(
  pred: tf.Tensor2D,
  target: tf.Tensor2D,
  acc: tf.Tensor,
  attrs: LossAttrs,
): { dPred: tf.Tensor2D; acc: tf.Tensor } {
  const [dPred, accOut] = lossKernel([pred, target, acc], attrs);
  return { dPred: dPred as tf.Tensor2D, acc: accOut! };
}

// ---------------------------------------------------------------------------------------------
// VAE: reparameterisation forward, and its backward with the β·KL term.

/**
 * Inputs: head [B, 2L] = [μ | log σ²], noise [B, L]. Outputs: z = μ + ε·exp(½ log σ²) and its
 * transpose zᵀ [L, B] (the decoder's first dW needs it: one kernel call instead of two).
 */
const reparamKernel = defineKernel<{ latent: number }>({
  name: 'Reparam',
  outputs: ([head], a) => [
    [head![0]!, a.latent],
    [a.latent, head![0]!],
  ],
  compute: ([head, noise], [z, zT], shapes, a) => {
    const rows = shapes[0]![0]!;
    const L = a.latent;
    const h = head!;
    const e = noise!;
    const out = z!;
    const outT = zT!;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < L; j++) {
        const mu = h[i * 2 * L + j]!;
        const lv = h[i * 2 * L + L + j]!;
        const v = mu + e[i * L + j]! * Math.exp(0.5 * lv);
        out[i * L + j] = v;
        outT[j * rows + i] = v;
      }
    }
  },
});

export function reparameterise(
  head: tf.Tensor2D,
  noise: tf.Tensor2D,
  latent: number,
): { z: tf.Tensor2D; zT: tf.Tensor2D } {
  const [z, zT] = reparamKernel([head, noise], { latent }) as [tf.Tensor2D, tf.Tensor2D];
  return { z, zT };
}

/**
 * Inputs: dz [B, L], head, noise, acc. Outputs: dHead [B, 2L], acc'. KL per row
 * = −½ Σ (1 + log σ² − μ² − σ²), weighted by β and scaled like the reconstruction term.
 */
const reparamBackwardKernel = defineKernel<{ latent: number; beta: number; scale: number }>({
  name: 'ReparamBackward',
  outputs: ([dz]) => [
    [dz![0]!, 2 * dz![1]!],
    [1, 1],
  ],
  compute: ([dz, head, noise, acc], [dHead, accOut], shapes, a) => {
    const rows = shapes[0]![0]!;
    const L = a.latent;
    const h = head!;
    const e = noise!;
    const d = dz!;
    const out = dHead!;
    const bs = a.beta * a.scale;
    let kl = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < L; j++) {
        const mu = h[i * 2 * L + j]!;
        const lv = h[i * 2 * L + L + j]!;
        const sd = Math.exp(0.5 * lv);
        const g = d[i * L + j]!;
        kl += -0.5 * (1 + lv - mu * mu - sd * sd);
        out[i * 2 * L + j] = g + bs * mu;
        out[i * 2 * L + L + j] = g * e[i * L + j]! * 0.5 * sd + bs * 0.5 * (sd * sd - 1);
      }
    }
    accOut![0] = acc![0]! + a.beta * kl;
  },
});

export function reparameteriseBackward(
  dz: tf.Tensor2D,
  head: tf.Tensor2D,
  noise: tf.Tensor2D,
  acc: tf.Tensor,
  attrs: { latent: number; beta: number; scale: number },
): { dHead: tf.Tensor2D; acc: tf.Tensor } {
  const [dHead, accOut] = reparamBackwardKernel([dz, head, noise, acc], attrs);
  return { dHead: dHead as tf.Tensor2D, acc: accOut! };
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW over one flat parameter vector, with global-norm clipping.

export interface AdamAttrs {
  kind: 'adam' | 'adamw';
  learningRate: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 0 = no clipping. */
  clipNorm: number;
  step: number;
}

/** Inputs: params, m, v, then the gradients in parameter order (any shapes, P values in all). Outputs: params', m', v'. */
const adamKernel = defineKernel<AdamAttrs>({
  name: 'Adam',
  outputs: ([p]) => [[...p!], [...p!], [...p!]],
  compute: (ins, [pOut, mOut, vOut], _s, a) => {
    const p = ins[0]!;
    const m = ins[1]!;
    const v = ins[2]!;
    const grads = ins.slice(3);
    let scale = 1;
    if (a.clipNorm > 0) {
      let sq = 0;
      for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
      const coef = a.clipNorm / (Math.sqrt(sq) + 1e-6);
      if (coef < 1) scale = coef;
    }
    const b1 = a.beta1;
    const b2 = a.beta2;
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const stepSize = a.learningRate / (1 - b1 ** a.step);
    const invBc2 = 1 / Math.sqrt(1 - b2 ** a.step);
    const decay = a.kind === 'adamw' ? 1 - a.learningRate * a.weightDecay : 1;
    const l2 = a.kind === 'adam' ? a.weightDecay : 0;
    const eps = a.epsilon;
    let k = 0;
    for (const g of grads) {
      k = adamSegment(
        p,
        m,
        v,
        g,
        pOut!,
        mOut!,
        vOut!,
        k,
        scale,
        l2,
        b1,
        c1,
        b2,
        c2,
        stepSize,
        invBc2,
        decay,
        eps,
      );
    }
    if (k !== p.length) throw new RangeError(`Adam: ${k} gradient values for ${p.length} parameters`);
  },
  simd: (sk, ins, [pO, mO, vO], views, a) => {
    const [p, m, v] = ins as [number, number, number];
    const grads = ins.slice(3);
    const gv = views.inputs.slice(3);
    let scale = 1;
    if (a.clipNorm > 0) {
      let sq = 0;
      gv.forEach((g, j) => {
        const n4 = g.length & ~3;
        sq += sk.sumsq(grads[j]!, n4);
        for (let i = n4; i < g.length; i++) sq += g[i]! * g[i]!;
      });
      const coef = a.clipNorm / (Math.sqrt(sq) + 1e-6);
      if (coef < 1) scale = coef;
    }
    const b1 = a.beta1;
    const b2 = a.beta2;
    const stepSize = a.learningRate / (1 - b1 ** a.step);
    const invBc2 = 1 / Math.sqrt(1 - b2 ** a.step);
    const decay = a.kind === 'adamw' ? 1 - a.learningRate * a.weightDecay : 1;
    const l2 = a.kind === 'adam' ? a.weightDecay : 0;
    const [pv, mv, vv] = views.inputs as [Float32Array, Float32Array, Float32Array];
    const [pOut, mOut, vOut] = views.outputs as [Float32Array, Float32Array, Float32Array];
    let k = 0;
    gv.forEach((g, j) => {
      const n4 = g.length & ~3;
      const o = 4 * k;
      sk.adam(
        p + o,
        m + o,
        v + o,
        grads[j]!,
        pO! + o,
        mO! + o,
        vO! + o,
        n4,
        scale,
        l2,
        b1,
        1 - b1,
        b2,
        1 - b2,
        stepSize,
        invBc2,
        decay,
        a.epsilon,
      );
      // The last (n mod 4) values of each gradient in JS.
      adamSegment(
        pv,
        mv,
        vv,
        g.subarray(n4),
        pOut,
        mOut,
        vOut,
        k + n4,
        scale,
        l2,
        b1,
        1 - b1,
        b2,
        1 - b2,
        stepSize,
        invBc2,
        decay,
        a.epsilon,
      );
      k += g.length;
    });
    return k === pv.length;
  },
});

/** One gradient tensor's slice of the Adam update (a monomorphic hot loop); returns the next offset. */
function adamSegment(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  offset: number,
  scale: number,
  l2: number,
  b1: number,
  c1: number,
  b2: number,
  c2: number,
  stepSize: number,
  invBc2: number,
  decay: number,
  eps: number,
): number {
  const n = g.length;
  for (let i = 0; i < n; i++) {
    const k = offset + i;
    const pk = p[k]!;
    const gk = g[i]! * scale + l2 * pk;
    const mk = b1 * m[k]! + c1 * gk;
    const vk = b2 * v[k]! + c2 * gk * gk;
    mOut[k] = mk;
    vOut[k] = vk;
    pOut[k] = pk * decay - (stepSize * mk) / (Math.sqrt(vk) * invBc2 + eps);
  }
  return offset + n;
}

export function adamStep(
  params: tf.Tensor1D,
  m: tf.Tensor1D,
  v: tf.Tensor1D,
  grads: readonly tf.Tensor[],
  attrs: AdamAttrs,
): [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  const [p2, m2, v2] = adamKernel([params, m, v, ...grads], attrs);
  return [p2 as tf.Tensor1D, m2 as tf.Tensor1D, v2 as tf.Tensor1D];
}
