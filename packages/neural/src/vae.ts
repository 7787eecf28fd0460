import {
  ArtifactError,
  ContaminationSchema,
  loadArtifact,
  Matrix,
  restoreFromArtifact,
} from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';
import { lossGradient, reparameterise, reparameteriseBackward } from './kernels';
import { mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

export const VariationalAutoEncoderParamsSchema = z.strictObject({
  ...commonParams,
  encoderLayers: z.array(z.number().int().positive()).min(1).default([128, 64]),
  decoderLayers: z.array(z.number().int().positive()).min(1).default([64, 128]),
  latent: z.number().int().positive().default(8),
  /** Weight of the KL term (β-VAE). */
  beta: z.number().min(0).default(1),
  /**
   * Weight of the latent distance in the anomaly score. Both terms are divided by their mean on
   * the training data, so each is ≈ 1 for a typical normal row and α weighs them directly:
   * α = 0.5 lets reconstruction lead while a row whose code sits far from the normal cluster
   * still scores higher. Reconstruction alone ranked ADBench anomalies clearly worse, a heavier
   * latent term worse too (README, "VariationalAutoEncoder").
   */
  alpha: z.number().min(0).default(0.5),
  /**
   * Floor on the latent scale s. A latent dimension whose means vary less than this over the
   * training data is an inactive (collapsed) unit — the usual criterion, Cov(E[z|x]) < 0.01, is
   * a standard deviation below 0.1 — and dividing by its tiny spread would turn noise into score.
   */
  minLatentScale: z.number().min(0).default(0.1),
  /** Short training: on contaminated data longer training learns to reconstruct the anomalies too. */
  epochs: z.number().int().positive().default(20),
  learningRate: z.number().positive().default(1e-3),
  /** L2 penalty added to the gradient (PyTorch Adam's weight_decay). */
  weightDecay: z.number().min(0).default(0),
  validationFraction: z.number().min(0).lt(1).default(0.1),
  contamination: ContaminationSchema.default(0.1),
});
export type VariationalAutoEncoderParams = z.output<typeof VariationalAutoEncoderParamsSchema>;
export type VariationalAutoEncoderInput = z.input<typeof VariationalAutoEncoderParamsSchema>;

interface LatentStats {
  centroid: Float32Array;
  scale: Float32Array;
  reconstructionScale: number;
  distanceScale: number;
}

/**
 * A β-VAE (seed 002): encoder → (μ, log σ²) → z = μ + σ·ε → decoder, trained on
 * reconstruction (squared error summed over features) + β·KL. Anomaly score of a row:
 *
 *   rec(x) / mean_train(rec) + α · dist(μ(x)) / mean_train(dist)
 *
 * with rec = mean squared error of the reconstruction from μ, and dist = mean over latent
 * dimensions of ((μ − c) / s)², c and s the mean and standard deviation (floored at
 * `minLatentScale`) of the training rows' latent means: a diagonal Mahalanobis distance to the
 * centroid of the normal data.
 */
export class VariationalAutoEncoder extends NeuralDetector<VariationalAutoEncoderParams> {
  readonly kind = 'variational-autoencoder';
  private stats: LatentStats | null = null;

  constructor(params: VariationalAutoEncoderInput = {}) {
    super(VariationalAutoEncoderParamsSchema, params);
  }

  static async load(dir: string): Promise<VariationalAutoEncoder> {
    const artifact = await loadArtifact(dir, { kind: 'variational-autoencoder' });
    return restoreFromArtifact(artifact, (p) => new VariationalAutoEncoder(p as VariationalAutoEncoderInput));
  }

  protected buildNetworks(inputs: number): Network[] {
    const p = this.params;
    const enc = new Network(
      'encoder',
      mlpLayers([inputs, ...p.encoderLayers], { norm: false, dropout: p.dropout, lastActivation: true }),
    );
    const head = new Network(
      'head',
      mlpLayers([p.encoderLayers.at(-1)!, 2 * p.latent], { norm: false, dropout: 0 }),
      enc.size,
    );
    const dec = new Network(
      'decoder',
      mlpLayers([p.latent, ...p.decoderLayers, inputs], { norm: false, dropout: p.dropout }),
      enc.size + head.size,
    );
    return [enc, head, dec];
  }

  protected objective(layout: ParamLayout): Objective {
    const [enc, head, dec] = layout.networks as [Network, Network, Network];
    const L = this.params.latent;
    const beta = this.params.beta;
    const encMasks = enc.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout }));
    const decMasks = dec.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout }));
    return {
      masks: [...encMasks, ...decMasks],
      noiseWidth: L,
      gradients(ctx) {
        const [e, h, d] = ctx.nets as [(typeof ctx.nets)[0], (typeof ctx.nets)[0], (typeof ctx.nets)[0]];
        const fe = enc.forwardTrain(ctx.x, ctx.xT, e.P, ctx.masks.slice(0, encMasks.length), true);
        const fh = head.forwardTrain(fe.out, fe.outT!, h.P, []);
        const { z, zT } = reparameterise(fh.out, ctx.noise!, L);
        const fd = dec.forwardTrain(z, zT, d.P, ctx.masks.slice(encMasks.length));
        const rec = lossGradient(fd.out, ctx.x, ctx.acc, {
          kind: 'mse',
          gradScale: 1 / ctx.rows,
          accScale: 1,
          margin: 0,
        });
        const bd = dec.backward(fd.caches, rec.dPred, d.Wt, true);
        const kl = reparameteriseBackward(bd.dX!, fh.out, ctx.noise!, rec.acc, {
          latent: L,
          beta,
          scale: 1 / ctx.rows,
        });
        const bh = head.backward(fh.caches, kl.dHead, h.Wt, true);
        const be = enc.backward(fe.caches, bh.dX!, e.Wt, false);
        return { grads: [...be.grads, ...bh.grads, ...bd.grads], acc: kl.acc };
      },
    };
  }

  /** μ and the reconstruction from μ (no sampling), dropout only with masks. */
  private encodeDecode(x: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false) {
    const [enc, head, dec] = this.layout!.networks as [Network, Network, Network];
    const L = this.params.latent;
    const hd = head.forward(enc.forward(x, nets[0]!, masks?.[0], !fast), nets[1]!, undefined, !fast);
    const mu = tf.slice(hd, [0, 0], [-1, L]) as tf.Tensor2D;
    const logVar = tf.slice(hd, [0, L], [-1, L]) as tf.Tensor2D;
    const r = dec.forward(mu, nets[2]!, masks?.[2], !fast);
    return { mu, logVar, r };
  }

  protected scoreGraph(x: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false): tf.Tensor1D {
    const s = this.stats;
    if (!s) throw new ArtifactError('manifest.json', 'state.latent', 'latent statistics missing');
    const { mu, r } = this.encodeDecode(x, nets, masks, fast);
    const rec = tf.div(tf.mean(tf.squaredDifference(r, x), 1), s.reconstructionScale);
    const z = tf.div(tf.sub(mu, tf.tensor1d(s.centroid)), tf.tensor1d(s.scale));
    const dist = tf.div(tf.mean(tf.square(z), 1), s.distanceScale);
    return tf.add(rec, tf.mul(dist, this.params.alpha)) as tf.Tensor1D;
  }

  protected override afterTraining(X: Matrix): void {
    const L = this.params.latent;
    const { mu, rec } = this.latentAndReconstruction(X);
    const n = X.rows;
    const centroid = new Float32Array(L);
    const scale = new Float32Array(L);
    for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) centroid[j]! += mu[i * L + j]! / n;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < L; j++) scale[j]! += (mu[i * L + j]! - centroid[j]!) ** 2 / n;
    for (let j = 0; j < L; j++) scale[j] = Math.max(Math.sqrt(scale[j]!), this.params.minLatentScale, 1e-6);
    let recMean = 0;
    let distMean = 0;
    for (let i = 0; i < n; i++) {
      recMean += rec[i]! / n;
      let d = 0;
      for (let j = 0; j < L; j++) d += ((mu[i * L + j]! - centroid[j]!) / scale[j]!) ** 2;
      distMean += d / L / n;
    }
    this.stats = {
      centroid,
      scale,
      reconstructionScale: Math.max(recMean, 1e-12),
      distanceScale: Math.max(distMean, 1e-12),
    };
  }

  private latentAndReconstruction(X: Matrix): { mu: Float32Array; rec: Float32Array } {
    const nets = this.deviceParams();
    const res = tf.tidy(() => {
      const x = tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols]);
      const { mu, r } = this.encodeDecode(x, nets, undefined, true);
      return [mu, tf.mean(tf.squaredDifference(r, x), 1)];
    });
    const out = { mu: res[0]!.dataSync() as Float32Array, rec: res[1]!.dataSync() as Float32Array };
    tf.dispose(res);
    return out;
  }

  /** Latent means μ(x), one row per input row ([rows, latent]). */
  async latentMeans(X: Matrix): Promise<Matrix> {
    const Xs = this.prepare(X);
    await this.useBackend();
    const { mu } = this.latentAndReconstruction(Xs);
    return new Matrix(X.rows, this.params.latent, Float64Array.from(mu));
  }

  protected override extraState(): Record<string, unknown> {
    const s = this.stats!;
    return {
      latentCentroid: Array.from(s.centroid),
      latentScale: Array.from(s.scale),
      reconstructionScale: s.reconstructionScale,
      distanceScale: s.distanceScale,
    };
  }

  protected override restoreExtraState(state: Record<string, unknown>): void {
    const L = this.params.latent;
    const vec = (name: string) => {
      const v = state[name];
      if (
        !Array.isArray(v) ||
        v.length !== L ||
        !v.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        throw new ArtifactError('manifest.json', `state.${name}`, `expected ${L} finite numbers`);
      }
      return Float32Array.from(v as number[]);
    };
    const num = (name: string) => {
      const v = state[name];
      if (typeof v !== 'number' || !(v > 0))
        throw new ArtifactError('manifest.json', `state.${name}`, 'expected a positive number');
      return v;
    };
    this.stats = {
      centroid: vec('latentCentroid'),
      scale: vec('latentScale'),
      reconstructionScale: num('reconstructionScale'),
      distanceScale: num('distanceScale'),
    };
  }

  protected targets() {
    return null;
  }

  protected validationMetrics(X: Matrix, _y: Float64Array | undefined, flat: tf.Tensor1D) {
    const beta = this.params.beta;
    const loss = tf.tidy(() => {
      const nets = this.layout!.views(flat, false).map((v) => v.P);
      const x = tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols]);
      const { mu, logVar, r } = this.encodeDecode(x, nets, undefined, true);
      const rec = tf.sum(tf.squaredDifference(r, x), 1);
      const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(logVar, 1)), 1), 0.5);
      return tf.mean(tf.add(rec, tf.mul(kl, beta)));
    });
    const v = loss.dataSync()[0]!;
    loss.dispose();
    return { val_loss: v };
  }

  protected earlyStopping(): EarlyStopping {
    return { metric: 'val_loss', mode: 'min', patience: 0, minDelta: 0 };
  }

  protected optimizerConfig(learningRate: number): OptimizerConfig {
    return { kind: 'adam', learningRate, weightDecay: this.params.weightDecay };
  }
}
