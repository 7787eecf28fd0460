import { ArtifactError, ContaminationSchema, Matrix, type ModelExport } from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';
import { lossGradient, pieces, reparameterise, reparameteriseBackward } from './kernels';
import {
  klPerRow,
  LatentScoreSchema,
  type LatentStats,
  latentScoreGraph,
  latentStatistics,
  latentStatsState,
  restoreLatentStats,
} from './latent-score';
import { mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

const conditionalVaeShape = {
  ...commonParams,
  encoderLayers: z.array(z.number().int().positive()).min(1).default([128, 64]),
  decoderLayers: z.array(z.number().int().positive()).min(1).default([64, 128]),
  latent: z.number().int().positive().default(8),
  /** Weight of the KL term in the training loss (β-VAE). */
  beta: z.number().min(0).default(1),
  /** Weight of the latent term in the anomaly score (see `score`). */
  alpha: z.number().min(0).default(0.5),
  /** Floor on the latent scale of the `latent-distance` score (inactive units, see the VAE). */
  minLatentScale: z.number().min(0).default(0.1),
  /** Short training: on contaminated data longer training learns to reconstruct the anomalies too. */
  epochs: z.number().int().positive().default(20),
  learningRate: z.number().positive().default(1e-3),
  /** L2 penalty added to the gradient (PyTorch Adam's weight_decay). */
  weightDecay: z.number().min(0).default(0),
  validationFraction: z.number().min(0).lt(1).default(0.1),
  /** The latent term of the anomaly score: distance from the normal centroid, or KL (`LatentScoreSchema`). */
  score: LatentScoreSchema.default('latent-distance'),
};

export const ConditionalVAEParamsSchema = z.strictObject({
  ...conditionalVaeShape,
  /** Expected share of anomalies: the default threshold is this quantile of the training scores. */
  contamination: ContaminationSchema.default(0.1),
});
export type ConditionalVAEParams = z.output<typeof ConditionalVAEParamsSchema>;
export type ConditionalVAEInput = z.input<typeof ConditionalVAEParamsSchema>;

/** The network's own parameters: no threshold of its own (the ConditionalVAE owns the decision). */
const ConditionedNetworkParamsSchema = z.strictObject(conditionalVaeShape);
type ConditionedNetworkParams = z.output<typeof ConditionedNetworkParamsSchema>;

/**
 * The networks of a conditional VAE, trained on joined rows u = [x | c] (the features, then the
 * condition vector): encoder q(z | x, c) on u, decoder p(x | z, c) on [z | c], reconstruction of
 * x only. A matrix model, so it reuses the fast training step, the scaler, MC dropout and
 * saliency; `ConditionalVAE` wraps it on the `{ X, conditions }` input.
 */
export class ConditionedVaeNetwork extends NeuralDetector<ConditionedNetworkParams> {
  readonly kind = 'conditional-variational-autoencoder.network';
  private stats: LatentStats | null = null;

  constructor(
    params: z.input<typeof ConditionedNetworkParamsSchema>,
    /** Width of the condition vector (the last columns of every row). */
    readonly conditions: number,
  ) {
    super(ConditionedNetworkParamsSchema, params);
  }

  /** Width of the features (the joined width minus the conditions). */
  private features(inputs: number): number {
    return inputs - this.conditions;
  }

  protected buildNetworks(inputs: number): Network[] {
    const p = this.params;
    const d = this.features(inputs);
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
      mlpLayers([p.latent + this.conditions, ...p.decoderLayers, d], { norm: false, dropout: p.dropout }),
      enc.size + head.size,
    );
    return [enc, head, dec];
  }

  protected objective(layout: ParamLayout): Objective {
    const [enc, head, dec] = layout.networks as [Network, Network, Network];
    const L = this.params.latent;
    const k = this.conditions;
    const beta = this.params.beta;
    const encMasks = enc.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout }));
    const decMasks = dec.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout }));
    return {
      masks: [...encMasks, ...decMasks],
      noiseWidth: L,
      gradients(ctx) {
        const [e, h, dn] = ctx.nets as [(typeof ctx.nets)[0], (typeof ctx.nets)[0], (typeof ctx.nets)[0]];
        const rows = ctx.rows;
        const d = ctx.x.shape[1] - k;
        // In uᵀ the features and the conditions are consecutive blocks of rows: cut both, with
        // their transposes (x is the reconstruction target, c joins z at the decoder's input).
        const [, cT, x, c] = pieces(
          ctx.xT,
          0,
          [
            [d, rows],
            [k, rows],
          ],
          [0, 1],
        ) as tf.Tensor2D[];
        const fe = enc.forwardTrain(ctx.x, ctx.xT, e.P, ctx.masks.slice(0, encMasks.length));
        // The head's weight gradient needs the encoder's output transposed.
        const fh = head.forwardTrain(fe.out, tf.transpose(fe.out), h.P, []);
        const { z, zT } = reparameterise(fh.out, ctx.noise!, L);
        const zc = tf.concat([z, c!], 1) as tf.Tensor2D;
        const zcT = tf.concat([zT, cT!], 0) as tf.Tensor2D;
        const fd = dec.forwardTrain(zc, zcT, dn.P, ctx.masks.slice(encMasks.length));
        const rec = lossGradient(fd.out, x!, ctx.acc, {
          kind: 'mse',
          gradScale: 1 / rows,
          accScale: 1,
          margin: 0,
        });
        const bd = dec.backward(fd.caches, rec.dPred, dn.Wt, true);
        // Only z's columns of the decoder's input gradient flow back (c is data).
        const dz = tf.slice(bd.dX!, [0, 0], [rows, L]) as tf.Tensor2D;
        const kl = reparameteriseBackward(dz, fh.out, ctx.noise!, rec.acc, {
          latent: L,
          beta,
          scale: 1 / rows,
        });
        const bh = head.backward(fh.caches, kl.dHead, h.Wt, true);
        const be = enc.backward(fe.caches, bh.dX!, e.Wt, false);
        return { grads: [...be.grads, ...bh.grads, ...bd.grads], acc: kl.acc };
      },
    };
  }

  /** μ, log σ² and the reconstruction of x from (μ, c) (no sampling); dropout only with masks. */
  private encodeDecode(u: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false) {
    const [enc, head, dec] = this.layout!.networks as [Network, Network, Network];
    const L = this.params.latent;
    const d = this.features(u.shape[1]);
    const x = tf.slice(u, [0, 0], [-1, d]) as tf.Tensor2D;
    const c = tf.slice(u, [0, d], [-1, this.conditions]) as tf.Tensor2D;
    const hd = head.forward(enc.forward(u, nets[0]!, masks?.[0], !fast), nets[1]!, undefined, !fast);
    const mu = tf.slice(hd, [0, 0], [-1, L]) as tf.Tensor2D;
    const logVar = tf.slice(hd, [0, L], [-1, L]) as tf.Tensor2D;
    const r = dec.forward(tf.concat([mu, c], 1) as tf.Tensor2D, nets[2]!, masks?.[2], !fast);
    return { x, mu, logVar, r };
  }

  protected scoreGraph(u: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false): tf.Tensor1D {
    const s = this.stats;
    if (!s) throw new ArtifactError('manifest.json', 'state.latentCentroid', 'latent statistics missing');
    const { x, mu, logVar, r } = this.encodeDecode(u, nets, masks, fast);
    const rec = tf.mean(tf.squaredDifference(r, x), 1) as tf.Tensor1D;
    return latentScoreGraph(rec, mu, logVar, s, this.params.score, this.params.alpha);
  }

  protected override afterTraining(U: Matrix): void {
    const nets = this.deviceParams();
    const res = tf.tidy(() => {
      const { x, mu, logVar, r } = this.encodeDecode(this.upload(U), nets, undefined, true);
      return [mu, logVar, tf.mean(tf.squaredDifference(r, x), 1)];
    });
    const [mu, logVar, rec] = res.map((t) => t.dataSync() as Float32Array) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    tf.dispose(res);
    this.stats = latentStatistics(mu, logVar, rec, this.params.latent, this.params.minLatentScale);
  }

  private upload(U: Matrix): tf.Tensor2D {
    return tf.tensor2d(Float32Array.from(U.data), [U.rows, U.cols]);
  }

  /** Squared reconstruction error of the features (not the conditions), per row, scaled space. */
  async featureErrors(U: Matrix): Promise<Matrix> {
    const Us = this.prepare(U);
    await this.useBackend();
    const nets = this.deviceParams();
    const e = tf.tidy(() => {
      const { x, r } = this.encodeDecode(this.upload(Us), nets, undefined, true);
      return tf.squaredDifference(r, x);
    });
    const out = new Float64Array(await e.data());
    const d = e.shape[1]!;
    e.dispose();
    return new Matrix(U.rows, d, out);
  }

  /** Latent means μ(x, c), one row per input row. */
  async latentMeans(U: Matrix): Promise<Matrix> {
    const Us = this.prepare(U);
    await this.useBackend();
    const nets = this.deviceParams();
    const mu = tf.tidy(() => this.encodeDecode(this.upload(Us), nets, undefined, true).mu);
    const out = new Float64Array(await mu.data());
    mu.dispose();
    return new Matrix(U.rows, this.params.latent, out);
  }

  /** The model's part of the artifact (weights, architecture, latent statistics). */
  artifactModel(): ModelExport {
    return this.exportModel();
  }

  /** The input part of the artifact: joined column names, the scaler, the joined width. */
  artifactInput() {
    return this.exportInput();
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

  protected validationMetrics(U: Matrix, _y: Float64Array | undefined, flat: tf.Tensor1D) {
    const beta = this.params.beta;
    const loss = tf.tidy(() => {
      const nets = this.layout!.views(flat, false).map((v) => v.P);
      const { x, mu, logVar, r } = this.encodeDecode(this.upload(U), nets, undefined, true);
      const rec = tf.sum(tf.squaredDifference(r, x), 1);
      return tf.mean(tf.add(rec, tf.mul(klPerRow(mu, logVar), beta)));
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
