import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';
import { adamStep } from './kernels';

export const OptimizerSchema = z.object({
  /** "adamw": decoupled weight decay (PyTorch AdamW); "adam": L2 added to the gradient (PyTorch Adam). */
  kind: z.enum(['adamw', 'adam']),
  learningRate: z.number().positive(),
  weightDecay: z.number().min(0),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
  /** Global gradient-norm clipping (PyTorch clip_grad_norm_); none when absent. */
  clipNorm: z.number().positive().optional(),
});
export type OptimizerConfig = z.input<typeof OptimizerSchema>;

/**
 * Adam / AdamW with global-norm clipping over ONE flat parameter vector, as one kernel per
 * step (per-tensor Adam in tf ops costs ~10 ops per tensor). Matches PyTorch's update rule,
 * bias correction included.
 */
export class FlatAdam {
  readonly config: z.output<typeof OptimizerSchema>;
  private m: tf.Tensor1D;
  private v: tf.Tensor1D;
  private t = 0;

  constructor(config: OptimizerConfig, size: number) {
    this.config = parseWith(OptimizerSchema, config, 'optimizer');
    this.m = tf.zeros([size]);
    this.v = tf.zeros([size]);
  }

  get steps(): number {
    return this.t;
  }

  /**
   * Returns the updated parameters (kept, so it may run inside a tf.tidy); the caller owns and
   * disposes the old ones. `grads` are in parameter order, any shapes, P values in all.
   */
  step(params: tf.Tensor1D, grads: readonly tf.Tensor[]): tf.Tensor1D {
    const c = this.config;
    this.t += 1;
    const [next, m, v] = adamStep(params, this.m, this.v, grads, {
      kind: c.kind,
      learningRate: c.learningRate,
      weightDecay: c.weightDecay,
      beta1: c.beta1,
      beta2: c.beta2,
      epsilon: c.epsilon,
      clipNorm: c.clipNorm ?? 0,
      step: this.t,
    });
    this.m.dispose();
    this.v.dispose();
    this.m = tf.keep(m);
    this.v = tf.keep(v);
    return tf.keep(next);
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
