import type { tf } from '../engine';
import { defineKernel, type Shape } from './define';
import { transposeInto } from './transpose';

// Batch normalisation in training mode after the matrix product, as PyTorch's BatchNorm1d:
// per column, the batch mean and (biased) variance normalise, γ and β scale and shift, then
// (ReLU) → (dropout mask). The running statistics used at inference are updated in the same
// pass. Inference folds them into the preceding Linear layer (network.ts), so no kernel is needed.

export interface BatchNormAttrs {
  relu: boolean;
  hasMask: boolean;
  eps: number;
  /** Weight of the batch statistics in the running ones (PyTorch's `momentum`, 0.1). */
  momentum: number;
  /** Also output the transpose of the activation (the next layer's dW needs it). */
  transposeOut: boolean;
}

/** Column sums in float64 (one scratch buffer per process: kernels run one at a time). */
let scratch = new Float64Array(256);
function columnScratch(cols: number): Float64Array {
  if (scratch.length < 2 * cols) scratch = new Float64Array(2 * cols);
  return scratch;
}

/**
 * Inputs: z [rows, cols], gamma, beta, running [2, cols] (mean; variance), [mask].
 * Outputs: a, [aT], [gate], xhat [rows, cols], rstd [1, cols], running' [2, cols].
 */
const batchNormForwardKernel = defineKernel<BatchNormAttrs>({
  name: 'BatchNormForward',
  outputs: ([z], a) => {
    const [r, c] = z as [number, number];
    const out: Shape[] = [[r, c]];
    if (a.transposeOut) out.push([c, r]);
    if (a.relu || a.hasMask) out.push([r, c]);
    out.push([r, c], [1, c], [2, c]);
    return out;
  },
  compute: (ins, outs, shapes, a) => {
    const [rows, cols] = shapes[0] as [number, number];
    const [z, gamma, beta, running] = ins as [Float32Array, Float32Array, Float32Array, Float32Array];
    const mask = a.hasMask ? ins[4]! : null;
    let o = 0;
    const out = outs[o++]!;
    const outT = a.transposeOut ? outs[o++]! : null;
    const gate = a.relu || mask ? outs[o++]! : null;
    const xhat = outs[o++]!;
    const rstd = outs[o++]!;
    const runOut = outs[o++]!;
    const relu = a.relu;
    const s = columnScratch(cols);
    // Two passes for the moments (mean, then the centred sum of squares): no cancellation.
    s.fill(0, 0, 2 * cols);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) s[j] = s[j]! + z[base + j]!;
    }
    for (let j = 0; j < cols; j++) s[j] = s[j]! / rows;
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const d = z[base + j]! - s[j]!;
        s[cols + j] = s[cols + j]! + d * d;
      }
    }
    const m = a.momentum;
    // Unbiased variance in the running estimate (PyTorch); a batch of one row leaves it as it was.
    const unbias = rows > 1 ? rows / (rows - 1) : 0;
    for (let j = 0; j < cols; j++) {
      const mean = s[j]!;
      const variance = s[cols + j]! / rows;
      rstd[j] = 1 / Math.sqrt(variance + a.eps);
      runOut[j] = (1 - m) * running[j]! + m * mean;
      runOut[cols + j] = rows > 1 ? (1 - m) * running[cols + j]! + m * variance * unbias : running[cols + j]!;
    }
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const xh = (z[base + j]! - s[j]!) * rstd[j]!;
        xhat[base + j] = xh;
        let y = xh * gamma[j]! + beta[j]!;
        if (gate) {
          let g = relu && y <= 0 ? 0 : 1;
          if (mask) g *= mask[base + j]!;
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
    const [z, gamma, beta, running] = ins as [number, number, number, number];
    const mask = a.hasMask ? ins[4]! : 0;
    let o = 0;
    const out = outs[o++]!;
    const outT = a.transposeOut ? outs[o++]! : 0;
    const gate = a.relu || a.hasMask ? outs[o++]! : 0;
    const [xhat, rstd, runOut] = [outs[o++]!, outs[o++]!, outs[o++]!];
    const m = a.momentum;
    // PyTorch's running variance is unbiased; a batch of one row leaves it as it was.
    const keepVar = rows > 1 ? 1 - m : 1;
    const varScale = rows > 1 ? (m * rows) / (rows - 1) : 0;
    sk.batchNormForward(a.relu, a.hasMask)(
      z,
      gamma,
      beta,
      running,
      mask,
      out,
      gate,
      xhat,
      rstd,
      runOut,
      rows,
      cols,
      a.eps,
      1 - m,
      m,
      keepVar,
      varScale,
    );
    if (outT) sk.transpose(out, outT, rows, cols);
    return true;
  },
});

export function batchNormForward(
  z: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  running: tf.Tensor2D,
  mask: tf.Tensor2D | null,
  attrs: Omit<BatchNormAttrs, 'hasMask'>,
): {
  a: tf.Tensor2D;
  aT?: tf.Tensor2D;
  gate?: tf.Tensor2D;
  xhat: tf.Tensor2D;
  rstd: tf.Tensor2D;
  running: tf.Tensor2D;
} {
  const full: BatchNormAttrs = { ...attrs, hasMask: mask !== null };
  const inputs: tf.Tensor[] = [z, gamma, beta, running];
  if (mask) inputs.push(mask);
  const outs = batchNormForwardKernel(inputs, full) as tf.Tensor2D[];
  let o = 0;
  const a = outs[o++]!;
  const aT = full.transposeOut ? outs[o++] : undefined;
  const gate = full.relu || full.hasMask ? outs[o++] : undefined;
  return { a, aT, gate, xhat: outs[o++]!, rstd: outs[o++]!, running: outs[o++]! };
}

/**
 * Inputs: dA, [gate], xhat, rstd [1, cols], gamma. Outputs: dz, db, dGamma, dBeta (each [1, cols]).
 * With dy = dA·gate: dβ = Σᵢ dy, dγ = Σᵢ dy·x̂, dz = γ·rstd·(dy − dβ/N − x̂·dγ/N), db = Σᵢ dz (≈ 0:
 * a bias before batch normalisation has no effect, but autodiff computes it, and so does this).
 */
const batchNormBackwardKernel = defineKernel<{ hasGate: boolean }>({
  name: 'BatchNormBackward',
  outputs: ([dA]) => {
    const c = (dA as [number, number])[1];
    return [[...dA!], [1, c], [1, c], [1, c]];
  },
  compute: (ins, outs, shapes, a) => {
    const [rows, cols] = shapes[0] as [number, number];
    const dA = ins[0]!;
    let k = 1;
    const gate = a.hasGate ? ins[k++]! : null;
    const xhat = ins[k++]!;
    const rstd = ins[k++]!;
    const gamma = ins[k++]!;
    const [dz, db, dGamma, dBeta] = outs as [Float32Array, Float32Array, Float32Array, Float32Array];
    const s = columnScratch(cols);
    s.fill(0, 0, 2 * cols);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const dy = gate ? dA[base + j]! * gate[base + j]! : dA[base + j]!;
        dz[base + j] = dy;
        s[j] = s[j]! + dy;
        s[cols + j] = s[cols + j]! + dy * xhat[base + j]!;
      }
    }
    for (let j = 0; j < cols; j++) {
      dBeta[j] = s[j]!;
      dGamma[j] = s[cols + j]!;
      // Reused: the per-column factors of the second pass.
      s[j] = s[j]! / rows;
      s[cols + j] = s[cols + j]! / rows;
    }
    db.fill(0);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const d = gamma[j]! * rstd[j]! * (dz[base + j]! - s[j]! - xhat[base + j]! * s[cols + j]!);
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
    const [xhat, rstd, gamma] = [ins[k++]!, ins[k++]!, ins[k++]!];
    const [dz, db, dGamma, dBeta] = outs as [number, number, number, number];
    sk.batchNormBackward(a.hasGate)(ins[0]!, gate, xhat, rstd, gamma, dz, db, dGamma, dBeta, rows, cols);
    return true;
  },
});

export function batchNormBackward(
  dA: tf.Tensor2D,
  gate: tf.Tensor2D | undefined,
  xhat: tf.Tensor2D,
  rstd: tf.Tensor,
  gamma: tf.Tensor,
): { dz: tf.Tensor2D; db: tf.Tensor; dGamma: tf.Tensor; dBeta: tf.Tensor } {
  const inputs: tf.Tensor[] = [dA];
  if (gate) inputs.push(gate);
  inputs.push(xhat, rstd, gamma);
  const [dz, db, dGamma, dBeta] = batchNormBackwardKernel(inputs, { hasGate: gate !== undefined });
  return { dz: dz as tf.Tensor2D, db: db!, dGamma: dGamma!, dBeta: dBeta! };
}
