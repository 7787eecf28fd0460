import type { tf } from '../engine';
import { defineKernel } from './define';

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
  simdViews: true,
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
