import type { tf } from '../engine';
import { defineKernel } from './define';

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
  simdViews: true,
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
