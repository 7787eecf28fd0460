import { ContaminationSchema, loadArtifact, Matrix, restoreFromArtifact } from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';
import { lossGradient } from './kernels';
import { type LayerSpec, mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

export const AutoEncoderParamsSchema = z.strictObject({
  ...commonParams,
  /** Encoder widths; the decoder mirrors them. */
  encoderLayers: z.array(z.number().int().positive()).min(1).default([64, 32, 16]),
  bottleneck: z.number().int().positive().default(8),
  /**
   * LayerNorm after each hidden Linear (before ReLU). On by default: on ADBench it ranked
   * anomalies markedly better (the seed's trainer had none; PyOD's uses batch norm).
   */
  layerNorm: z.boolean().default(true),
  /** Dropout after the bottleneck's ReLU too (off in the seed's trainer; on in the PyTorch benchmark). */
  bottleneckDropout: z.boolean().default(false),
  /**
   * Maximum epochs (the seed used 50). Short by default: trained on contaminated data, an
   * autoencoder that trains longer learns to reconstruct the anomalies too (see the README).
   */
  epochs: z.number().int().positive().default(10),
  learningRate: z.number().positive().default(1e-3),
  /** L2 penalty added to the gradient (PyTorch Adam's weight_decay). */
  weightDecay: z.number().min(0).default(1e-4),
  validationFraction: z.number().min(0).lt(1).default(0.1),
  /** Expected share of anomalies: the threshold is this percentile of the training reconstruction errors. */
  contamination: ContaminationSchema.default(0.1),
});
export type AutoEncoderParams = z.output<typeof AutoEncoderParamsSchema>;
export type AutoEncoderInput = z.input<typeof AutoEncoderParamsSchema>;

/**
 * A dense autoencoder (seed 004): encoder → ReLU bottleneck → mirrored decoder, trained with
 * MSE on (mostly) normal rows. The anomaly score is the mean squared reconstruction error of
 * a row; `reconstructionErrors` gives it per feature.
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
    const enc = mlpLayers([inputs, ...p.encoderLayers, p.bottleneck], {
      norm: p.layerNorm,
      dropout: p.dropout,
      lastActivation: true,
      lastDropout: p.bottleneckDropout,
    });
    const dec = mlpLayers([p.bottleneck, ...[...p.encoderLayers].reverse(), inputs], {
      norm: p.layerNorm,
      dropout: p.dropout,
    });
    const layers: LayerSpec[] = [...enc, ...dec];
    return [new Network('autoencoder', layers)];
  }

  protected objective(layout: ParamLayout): Objective {
    const net = layout.networks[0]!;
    return {
      masks: net.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout })),
      noiseWidth: 0,
      gradients(ctx) {
        const { P, Wt } = ctx.nets[0]!;
        const { out, caches } = net.forwardTrain(ctx.x, ctx.xT, P, ctx.masks);
        const d = ctx.x.shape[1];
        // Loss = mean over rows and features; the running sum is per row (mean over features).
        const { dPred, acc } = lossGradient(out, ctx.x, ctx.acc, {
          kind: 'mse',
          gradScale: 1 / (ctx.rows * d),
          accScale: 1 / d,
          margin: 0,
        });
        return { grads: net.backward(caches, dPred, Wt, false).grads, acc };
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

  protected validationMetrics(X: Matrix, _y: Float64Array | undefined, flat: tf.Tensor1D) {
    const s = this.scoresWith(X, flat);
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
