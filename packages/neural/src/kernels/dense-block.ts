import type { tf } from '../engine';
import { defineKernel, type Shape } from './define';
import { transposeInto } from './transpose';

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
