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
import {
  LatentScoreSchema,
  type LatentStats,
  latentScoreGraph,
  latentStatistics,
  latentStatsState,
  restoreLatentStats,
} from './latent-score';
import { mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector, NormalizationSchema } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

/**
 * Defaults are PyOD 3.x's VAE (`pyod/models/vae.py`: encoder [128, 64, 32], latent 2, decoder
 * [32, 64, 128], ReLU, dropout 0.2, no batch norm, batch 32, Adam 1e-3 with L2 1e-5, inputs
 * standardised inside the model, log σ² clipped to [−30, 20], and its effective KL weight: PyOD
 * clamps the KL term to [0, capacity] with capacity 0, so its default trains on reconstruction
 * alone, β = 0 here) except one: 10 epochs instead of PyOD's 30, the one deviation that passed
 * the selection rule of the README ("Choosing the defaults"), on data sets other than those the
 * README reports.
 */
export const VariationalAutoEncoderParamsSchema = z.strictObject({
  ...commonParams,
  encoderLayers: z.array(z.number().int().positive()).min(1).default([128, 64, 32]),
  decoderLayers: z.array(z.number().int().positive()).min(1).default([32, 64, 128]),
  latent: z.number().int().positive().default(2),
  /** After each hidden Linear: `batch` norm, `layer` norm or `none` (PyOD's default). */
  normalization: NormalizationSchema.default('none'),
  /**
   * Weight of the KL term: loss = mean squared error per value + β · KL per row, as PyOD
   * writes it (on d features, β = 2/d is the ELBO of a unit-variance Gaussian decoder). 0 is
   * what PyOD 3.x's default trains (see above).
   */
  beta: z.number().min(0).default(0),
  /**
   * Weight of the latent distance in the anomaly score (0: reconstruction error alone, as PyOD).
   * Both terms are divided by their mean on the training data, so each is ≈ 1 for a typical
   * normal row and α weighs them directly.
   */
  alpha: z.number().min(0).default(0),
  /**
   * Floor on the latent scale s. A latent dimension whose means vary less than this over the
   * training data is an inactive (collapsed) unit — the usual criterion, Cov(E[z|x]) < 0.01, is
   * a standard deviation below 0.1 — and dividing by its tiny spread would turn noise into score.
   */
  minLatentScale: z.number().min(0).default(0.1),
  /** 10 (PyOD: 30): see the README, "Choosing the defaults". */
  epochs: z.number().int().positive().default(10),
  learningRate: z.number().positive().default(1e-3),
  /** L2 penalty added to the gradient (PyTorch Adam's weight_decay; PyOD's default 1e-5). */
  weightDecay: z.number().min(0).default(1e-5),
  /** Share of the training rows held out for early stopping on the loss; 0 (PyOD): none. */
  validationFraction: z.number().min(0).lt(1).default(0),
  contamination: ContaminationSchema.default(0.1),
  /**
   * The latent term of the anomaly score: the distance of μ(x) from the normal centroid
   * (`latent-distance`, diagonal Mahalanobis) or the KL divergence of the posterior from the prior
   * (`kl`); both weighted by `alpha` (see `LatentScoreSchema`).
   */
  score: LatentScoreSchema.default('latent-distance'),
});
export type VariationalAutoEncoderParams = z.output<typeof VariationalAutoEncoderParamsSchema>;
export type VariationalAutoEncoderInput = z.input<typeof VariationalAutoEncoderParamsSchema>;

/** PyOD's clip of log σ² (`logvar_clip`): exp stays finite, and outside it the gradient is 0. */
export const LOG_VAR_CLIP: readonly [number, number] = [-30, 20];

/**
 * A β-VAE (seed 002): encoder → (μ, log σ²) → z = μ + σ·ε → decoder, trained on the mean
 * squared reconstruction error + β·KL. Anomaly score of a row:
 *
 *   rec(x) / mean_train(rec) + α · dist(μ(x)) / mean_train(dist)
 *
 * with rec = mean squared error of the reconstruction from μ, and dist = mean over latent
 * dimensions of ((μ − c) / s)², c and s the mean and standard deviation (floored at
 * `minLatentScale`) of the training rows' latent means: a diagonal Mahalanobis distance to the
 * centroid of the normal data. With `score: 'kl'` the latent term is KL(q(z | x) ‖ N(0, I)) /
 * mean_train(KL) instead.
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
    const block = {
      norm: p.normalization === 'layer',
      batchNorm: p.normalization === 'batch',
      dropout: p.dropout,
      // PyOD's LinearBlock (kaiming_uniform_), its decoder output included; μ and log σ² are
      // plain nn.Linear layers.
      hiddenInit: 'kaiming-uniform' as const,
      outputInit: 'kaiming-uniform' as const,
    };
    const enc = new Network(
      'encoder',
      mlpLayers([inputs, ...p.encoderLayers], { ...block, lastActivation: true }),
    );
    const head = new Network(
      'head',
      mlpLayers([p.encoderLayers.at(-1)!, 2 * p.latent], { norm: false, dropout: 0 }),
      enc.size,
    );
    const dec = new Network(
      'decoder',
      mlpLayers([p.latent, ...p.decoderLayers, inputs], block),
      enc.size + head.size,
    );
    return [enc, head, dec];
  }

  /** PyOD trains with drop_last = True. */
  protected override dropLastBatch(): boolean {
    return true;
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
        const fe = enc.forwardTrain(ctx.x, ctx.xT, e.P, ctx.masks.slice(0, encMasks.length), {
          transposeOut: true,
          stats: e.stats,
        });
        const fh = head.forwardTrain(fe.out, fe.outT!, h.P, []);
        const { z, zT } = reparameterise(fh.out, ctx.noise!, L, LOG_VAR_CLIP);
        const fd = dec.forwardTrain(z, zT, d.P, ctx.masks.slice(encMasks.length), { stats: d.stats });
        const cols = ctx.x.shape[1];
        // Mean over rows and features (PyOD's MSELoss); the running sum is per row.
        const rec = lossGradient(fd.out, ctx.x, ctx.acc, {
          kind: 'mse',
          gradScale: 1 / (ctx.rows * cols),
          accScale: 1 / cols,
          margin: 0,
        });
        const bd = dec.backward(fd.caches, rec.dPred, d.Wt, true);
        const kl = reparameteriseBackward(bd.dX!, fh.out, ctx.noise!, rec.acc, {
          latent: L,
          beta,
          scale: 1 / ctx.rows,
          logVarClip: LOG_VAR_CLIP,
        });
        const bh = head.backward(fh.caches, kl.dHead, h.Wt, true);
        const be = enc.backward(fe.caches, bh.dX!, e.Wt, false);
        return {
          grads: [...be.grads, ...bh.grads, ...bd.grads],
          acc: kl.acc,
          stats: [...fe.stats, ...fd.stats],
        };
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
    const { mu, logVar, r } = this.encodeDecode(x, nets, masks, fast);
    const rec = tf.mean(tf.squaredDifference(r, x), 1) as tf.Tensor1D;
    return latentScoreGraph(rec, mu, logVar, s, this.params.score, this.params.alpha);
  }

  protected override afterTraining(X: Matrix): void {
    const { mu, logVar, rec } = this.latentAndReconstruction(X);
    this.stats = latentStatistics(mu, logVar, rec, this.params.latent, this.params.minLatentScale);
  }

  private latentAndReconstruction(X: Matrix): { mu: Float32Array; logVar: Float32Array; rec: Float32Array } {
    const nets = this.deviceParams();
    const res = tf.tidy(() => {
      const x = tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols]);
      const { mu, logVar, r } = this.encodeDecode(x, nets, undefined, true);
      return [mu, logVar, tf.mean(tf.squaredDifference(r, x), 1)];
    });
    const out = {
      mu: res[0]!.dataSync() as Float32Array,
      logVar: res[1]!.dataSync() as Float32Array,
      rec: res[2]!.dataSync() as Float32Array,
    };
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

  /**
   * Squared reconstruction error per row and feature, in the model's (scaled) feature space,
   * from the latent mean μ: which features did not fit.
   */
  async reconstructionErrors(X: Matrix): Promise<Matrix> {
    const Xs = this.prepare(X);
    await this.useBackend();
    const nets = this.deviceParams();
    const e = tf.tidy(() => {
      const x = tf.tensor2d(Float32Array.from(Xs.data), [X.rows, X.cols]);
      return tf.squaredDifference(this.encodeDecode(x, nets, undefined, true).r, x);
    });
    const out = new Matrix(X.rows, X.cols, Float64Array.from(await e.data()));
    e.dispose();
    return out;
  }

  protected override extraState(): Record<string, unknown> {
    return latentStatsState(this.stats!);
  }

  protected override restoreExtraState(state: Record<string, unknown>): void {
    this.stats = restoreLatentStats(state, this.params.latent, this.params.score);
  }

  protected targets() {
    return null;
  }

  /** The training loss on the validation rows, from μ (no sampling, no dropout). */
  protected validationMetrics(
    X: Matrix,
    _y: Float64Array | undefined,
    flat: tf.Tensor1D,
    stats: tf.Tensor2D[][],
  ) {
    const beta = this.params.beta;
    const loss = tf.tidy(() => {
      const nets = this.inferenceNets(flat, stats);
      const x = tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols]);
      const { mu, logVar: raw, r } = this.encodeDecode(x, nets, undefined, true);
      const logVar = tf.clipByValue(raw, LOG_VAR_CLIP[0], LOG_VAR_CLIP[1]);
      const rec = tf.mean(tf.squaredDifference(r, x), 1);
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
