import { ContaminationSchema, loadArtifact, Matrix, restoreFromArtifact } from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';
import { lossGradient } from './kernels';
import { type LayerSpec, mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector, NormalizationSchema } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

/**
 * Defaults are PyOD 3.x's AutoEncoder (`pyod/models/auto_encoder.py`: batch norm, ReLU, dropout
 * 0.2 in every hidden block, 10 epochs of batch 32, Adam 1e-3 with L2 1e-5, inputs standardised
 * inside the model, no validation split) except one: hidden [64, 32, 16, 8] instead of PyOD's
 * [64, 32], the one deviation that passed the selection rule of the README ("Choosing the
 * defaults"), on data sets other than those the README reports.
 */
export const AutoEncoderParamsSchema = z.strictObject({
  ...commonParams,
  /**
   * Widths of the encoder's blocks, the last one being the code (bottleneck); the decoder
   * mirrors all but the last, then a Linear back to the input width, as PyOD's
   * `hidden_neuron_list`: the default [64, 32, 16, 8] on d inputs is d → 64 → 32 → 16 → 8 → 16 →
   * 32 → 64 → d (PyOD's default is [64, 32]).
   */
  hiddenLayers: z.array(z.number().int().positive()).min(1).default([64, 32, 16, 8]),
  /** After each hidden Linear (before ReLU): `batch` norm as PyOD, `layer` norm, or `none`. */
  normalization: NormalizationSchema.default('batch'),
  epochs: z.number().int().positive().default(10),
  learningRate: z.number().positive().default(1e-3),
  /** L2 penalty added to the gradient (PyTorch Adam's weight_decay; PyOD's default 1e-5). */
  weightDecay: z.number().min(0).default(1e-5),
  /**
   * Share of the training rows held out for early stopping on their reconstruction loss (best
   * epoch restored). 0 (PyOD): every row is trained on for `epochs` epochs.
   */
  validationFraction: z.number().min(0).lt(1).default(0),
  /** Expected share of anomalies: the threshold is this percentile of the training reconstruction errors. */
  contamination: ContaminationSchema.default(0.1),
});
export type AutoEncoderParams = z.output<typeof AutoEncoderParamsSchema>;
export type AutoEncoderInput = z.input<typeof AutoEncoderParamsSchema>;

/**
 * A dense autoencoder: encoder blocks Linear → (norm) → ReLU → Dropout down to the code, the
 * mirrored decoder, a linear output; trained with MSE on the (standardised) rows. The anomaly
 * score is the mean squared reconstruction error of a row (PyOD's is its square root times √d:
 * the same ranking); `reconstructionErrors` gives it per feature.
 */
export class AutoEncoder extends NeuralDetector<AutoEncoderParams> {
  readonly kind = 'autoencoder';

  constructor(params: AutoEncoderInput = {}) {
    super(AutoEncoderParamsSchema, params);
  }

  static async load(dir: string): Promise<AutoEncoder> {
    const artifact = await loadArtifact(dir, { kind: 'autoencoder' });
    return restoreFromArtifact(artifact, (p) => new AutoEncoder(p as AutoEncoderInput));
  }

  protected buildNetworks(inputs: number): Network[] {
    const p = this.params;
    const hidden = p.hiddenLayers;
    const dims = [inputs, ...hidden, ...hidden.slice(0, -1).reverse(), inputs];
    const layers: LayerSpec[] = mlpLayers(dims, {
      norm: p.normalization === 'layer',
      batchNorm: p.normalization === 'batch',
      dropout: p.dropout,
      // PyOD's LinearBlock initialises with kaiming_uniform_; its output layer is a plain nn.Linear.
      hiddenInit: 'kaiming-uniform',
      outputInit: 'linear',
    });
    return [new Network('autoencoder', layers)];
  }

  /** PyOD trains with drop_last = True. */
  protected override dropLastBatch(): boolean {
    return true;
  }

  protected objective(layout: ParamLayout): Objective {
    const net = layout.networks[0]!;
    return {
      masks: net.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout })),
      noiseWidth: 0,
      gradients(ctx) {
        const { P, Wt, stats } = ctx.nets[0]!;
        const { out, caches, stats: running } = net.forwardTrain(ctx.x, ctx.xT, P, ctx.masks, { stats });
        const d = ctx.x.shape[1];
        // Loss = mean over rows and features; the running sum is per row (mean over features).
        const { dPred, acc } = lossGradient(out, ctx.x, ctx.acc, {
          kind: 'mse',
          gradScale: 1 / (ctx.rows * d),
          accScale: 1 / d,
          margin: 0,
        });
        return { grads: net.backward(caches, dPred, Wt, false).grads, acc, stats: running };
      },
    };
  }

  protected scoreGraph(x: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false): tf.Tensor1D {
    const r = this.layout!.networks[0]!.forward(x, nets[0]!, masks?.[0], !fast);
    return tf.mean(tf.squaredDifference(r, x), 1);
  }

  protected targets() {
    return null;
  }

  protected validationMetrics(
    X: Matrix,
    _y: Float64Array | undefined,
    flat: tf.Tensor1D,
    stats: tf.Tensor2D[][],
  ) {
    const s = this.scoresWith(X, flat, stats);
    let m = 0;
    for (const v of s) m += v;
    return { val_loss: m / Math.max(1, s.length) };
  }

  protected earlyStopping(): EarlyStopping {
    return { metric: 'val_loss', mode: 'min', patience: 0, minDelta: 0 };
  }

  protected optimizerConfig(learningRate: number): OptimizerConfig {
    return { kind: 'adam', learningRate, weightDecay: this.params.weightDecay };
  }

  /** Reconstruction of each row, in the model's (scaled) feature space. */
  async reconstruct(X: Matrix): Promise<Matrix> {
    const Xs = this.prepare(X);
    await this.useBackend();
    const nets = this.deviceParams();
    const out = new Matrix(X.rows, X.cols);
    const r = tf.tidy(() =>
      this.layout!.networks[0]!.forward(tf.tensor2d(Float32Array.from(Xs.data), [X.rows, X.cols]), nets[0]!),
    );
    out.data.set(await r.data());
    r.dispose();
    return out;
  }

  /** Squared reconstruction error per row and feature (scaled space): which features did not fit. */
  async reconstructionErrors(X: Matrix): Promise<Matrix> {
    const Xs = this.prepare(X);
    const r = await this.reconstruct(X);
    for (let k = 0; k < r.data.length; k++) r.data[k] = (Xs.data[k]! - r.data[k]!) ** 2;
    return r;
  }
}
