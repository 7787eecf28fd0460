import type { tf } from '../engine';
import { defineKernel } from './define';

// VAE: reparameterisation forward, and its backward with the β·KL term.

/**
 * Inputs: head [B, 2L] = [μ | log σ²], noise [B, L]. Outputs: z = μ + ε·exp(½ clip(log σ²)) and
 * its transpose zᵀ [L, B] (the decoder's first dW needs it: one kernel call instead of two).
 * log σ² is clipped to [lo, hi] as PyOD's `logvar_clip` (−30, 20).
 */
const reparamKernel = defineKernel<{ latent: number; lo: number; hi: number }>({
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
        const lv = Math.min(a.hi, Math.max(a.lo, h[i * 2 * L + L + j]!));
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
  logVarClip: readonly [number, number] = [-Infinity, Infinity],
): { z: tf.Tensor2D; zT: tf.Tensor2D } {
  const [lo, hi] = logVarClip;
  const [z, zT] = reparamKernel([head, noise], { latent, lo, hi }) as [tf.Tensor2D, tf.Tensor2D];
  return { z, zT };
}

/**
 * Inputs: dz [B, L], head, noise, acc. Outputs: dHead [B, 2L], acc'. KL per row
 * = −½ Σ (1 + log σ² − μ² − σ²), weighted by β and scaled like the reconstruction term; log σ²
 * clipped to [lo, hi] (no gradient to it outside, as torch.clamp).
 */
const reparamBackwardKernel = defineKernel<{
  latent: number;
  beta: number;
  scale: number;
  lo: number;
  hi: number;
}>({
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
        const raw = h[i * 2 * L + L + j]!;
        const inside = raw >= a.lo && raw <= a.hi;
        const lv = inside ? raw : raw < a.lo ? a.lo : a.hi;
        const sd = Math.exp(0.5 * lv);
        const g = d[i * L + j]!;
        kl += -0.5 * (1 + lv - mu * mu - sd * sd);
        out[i * 2 * L + j] = g + bs * mu;
        out[i * 2 * L + L + j] = inside ? g * e[i * L + j]! * 0.5 * sd + bs * 0.5 * (sd * sd - 1) : 0;
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
  attrs: { latent: number; beta: number; scale: number; logVarClip?: readonly [number, number] },
): { dHead: tf.Tensor2D; acc: tf.Tensor } {
  const [lo, hi] = attrs.logVarClip ?? [-Infinity, Infinity];
  const [dHead, accOut] = reparamBackwardKernel([dz, head, noise, acc], {
    latent: attrs.latent,
    beta: attrs.beta,
    scale: attrs.scale,
    lo,
    hi,
  });
  return { dHead: dHead as tf.Tensor2D, acc: accOut! };
}
