import {
  type FitOptions,
  fitThreshold,
  loadArtifact,
  type Matrix,
  meanAbsoluteError,
  type Rng,
  restoreFromArtifact,
  stratifiedSplit,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import type { tf } from './engine';
import { lossGradient } from './kernels';
import { mlpLayers, Network } from './network';
import { commonParams, type NetParams, NeuralDetector, type NeuralFitReport } from './neural-detector';
import type { OptimizerConfig } from './optimizer';
import type { EarlyStopping, Objective, ParamLayout } from './trainer';

export const EnergyModelParamsSchema = z.strictObject({
  ...commonParams,
  /** Hidden widths; each block is Linear → LayerNorm → ReLU → Dropout, then a scalar energy. */
  hiddenLayers: z.array(z.number().int().positive()).min(1).default([128, 64, 32]),
  layerNorm: z.boolean().default(true),
  /**
   * "severity": MSE between the energy and graded targets 0–3 (energy ≈ severity);
   * "contrastive": mean((1 − y)·E + y·max(0, margin − E)) with 0/1 labels.
   */
  objective: z.enum(['severity', 'contrastive']).default('severity'),
  margin: z.number().positive().default(1),
  epochs: z.number().int().positive().default(100),
  learningRate: z.number().positive().default(1e-4),
  weightDecay: z.number().min(0).default(1e-5),
  /** Global gradient-norm clipping. */
  clipNorm: z.number().positive().default(1),
  /** Training rows held out (stratified) for early stopping when no validation split is given (see `heldOutRows`). */
  validationFraction: z.number().min(0).lt(1).default(0.2),
  /** A target at or above this counts as anomalous (severity bands: normal < 0.4). */
  anomalyTarget: z.number().positive().default(0.4),
  /** Early-stopping metric on the validation split; "auto": MAE for severity, F1 for contrastive. */
  earlyStoppingMetric: z.enum(['auto', 'mae', 'f1', 'loss']).default('auto'),
});
export type EnergyModelParams = z.output<typeof EnergyModelParamsSchema>;
export type EnergyModelInput = z.input<typeof EnergyModelParamsSchema>;

/**
 * The energy-based model of the Mosaiq QA trainer: an MLP whose scalar output (the energy) is
 * low for normal records and high for anomalies, ≈ the 0–3 severity with the default
 * objective. Unlike the original, features are scaled, and the threshold and the calibration
 * are explicit steps on a validation or calibration split (`fitThreshold`, `calibrate` with
 * `anomalyLabels(targets)`): `fit` sets neither, and `predictProba` is a calibrated
 * probability, never sigmoid(energy).
 */
export class EnergyModel extends NeuralDetector<EnergyModelParams> {
  readonly kind = 'energy-model';

  constructor(params: EnergyModelInput = {}) {
    super(EnergyModelParamsSchema, params);
  }

  static async load(dir: string): Promise<EnergyModel> {
    const artifact = await loadArtifact(dir, { kind: 'energy-model' });
    return restoreFromArtifact(artifact, (p) => new EnergyModel(p as EnergyModelInput));
  }

  override async fit(X: Matrix, options: FitOptions = {}): Promise<NeuralFitReport> {
    const { y } = options;
    if (!y) throw new ValidationError('y', 'targets for the energy model (severity 0–3, or 0/1 labels)');
    this.checkTargets(y, 'y');
    if (options.validation?.y) this.checkTargets(options.validation.y, 'validation.y');
    return super.fit(X, options);
  }

  /**
   * 0/1 labels from targets: 1 when the target is at least params.anomalyTarget (0.4, the lower
   * edge of the "low" severity band). For `fitThreshold` and `calibrate`, which take labels.
   */
  anomalyLabels(targets: ArrayLike<number>): Float64Array {
    return Float64Array.from(targets, (v) => (v >= this.params.anomalyTarget ? 1 : 0));
  }

  private checkTargets(y: Float64Array, field: string): void {
    const contrastive = this.params.objective === 'contrastive';
    for (let i = 0; i < y.length; i++) {
      const v = y[i]!;
      if (contrastive ? v !== 0 && v !== 1 : !(v >= 0 && v <= 3)) {
        throw new ValidationError(
          `${field}[${i}]`,
          contrastive ? '0 (normal) or 1 (anomalous) for the contrastive objective' : 'a severity in [0, 3]',
          v,
        );
      }
    }
  }

  protected override splitValidation(rows: number, y: Float64Array | undefined, rng: Rng): Int32Array {
    const f = this.params.validationFraction;
    if (!y || f <= 0 || Math.floor(rows * f) < 2) return new Int32Array(0);
    const parts = stratifiedSplit(
      this.anomalyLabels(y),
      { train: 1 - f, validation: f },
      rng.integer(0, 2 ** 31),
    );
    return parts.validation;
  }

  protected buildNetworks(inputs: number): Network[] {
    const p = this.params;
    return [
      new Network(
        'energy',
        mlpLayers([inputs, ...p.hiddenLayers, 1], { norm: p.layerNorm, dropout: p.dropout }),
      ),
    ];
  }

  protected objective(layout: ParamLayout): Objective {
    const net = layout.networks[0]!;
    const kind = this.params.objective === 'severity' ? 'mse' : 'contrastive';
    const margin = this.params.margin;
    return {
      masks: net.layers.filter((l) => l.dropout > 0).map((l) => ({ width: l.outputs, p: l.dropout })),
      noiseWidth: 0,
      gradients(ctx) {
        const { P, Wt } = ctx.nets[0]!;
        const { out, caches } = net.forwardTrain(ctx.x, ctx.xT, P, ctx.masks);
        const { dPred, acc } = lossGradient(out, ctx.y!, ctx.acc, {
          kind,
          gradScale: 1 / ctx.rows,
          accScale: 1,
          margin,
        });
        return { grads: net.backward(caches, dPred, Wt, false).grads, acc };
      },
    };
  }

  protected scoreGraph(x: tf.Tensor2D, nets: NetParams, masks?: tf.Tensor2D[][], fast = false): tf.Tensor1D {
    const net = this.layout!.networks[0]!;
    return net.forward(x, nets[0]!, masks?.[0], !fast).reshape([-1]);
  }

  protected targets(y: Float64Array | undefined, rows: number) {
    if (!y) throw new ValidationError('y', 'targets for the energy model');
    if (y.length !== rows) throw new ValidationError('y.length', String(rows), y.length);
    return { Y: Float32Array.from(y), cols: 1 };
  }

  protected validationMetrics(
    X: Matrix,
    y: Float64Array | undefined,
    flat: tf.Tensor1D,
    stats: tf.Tensor2D[][],
  ): Record<string, number> {
    if (!y) return {};
    const E = this.scoresWith(X, flat, stats);
    const metrics: Record<string, number> = {};
    if (this.params.objective === 'severity') {
      metrics.val_mae = meanAbsoluteError(y, E);
      let mse = 0;
      for (let i = 0; i < E.length; i++) mse += (E[i]! - y[i]!) ** 2;
      metrics.val_loss = mse / E.length;
    } else {
      let loss = 0;
      for (let i = 0; i < E.length; i++) {
        loss += (1 - y[i]!) * E[i]! + y[i]! * Math.max(0, this.params.margin - E[i]!);
      }
      metrics.val_loss = loss / E.length;
    }
    const labels = this.anomalyLabels(y);
    const pos = labels.reduce((a, b) => a + b, 0);
    if (pos > 0 && pos < labels.length) {
      const t = fitThreshold({ strategy: 'max-f1' }, E, { labels, split: 'validation' });
      metrics.val_f1 = t.achieved?.f1 ?? 0;
    }
    return metrics;
  }

  protected earlyStopping(hasLabels: boolean): EarlyStopping | null {
    if (!hasLabels) return null;
    const m = this.params.earlyStoppingMetric;
    const metric = m === 'auto' ? (this.params.objective === 'severity' ? 'mae' : 'f1') : m;
    return { metric: `val_${metric}`, mode: metric === 'f1' ? 'max' : 'min', patience: 0, minDelta: 0 };
  }

  protected optimizerConfig(learningRate: number): OptimizerConfig {
    return {
      kind: 'adamw',
      learningRate,
      weightDecay: this.params.weightDecay,
      clipNorm: this.params.clipNorm,
    };
  }

  /** Continues training from the current weights on graded targets (see NeuralDetector.fineTune). */
  override async fineTune(
    X: Matrix,
    options: Parameters<NeuralDetector<EnergyModelParams>['fineTune']>[1] = {},
  ) {
    if (!options.y) throw new ValidationError('y', 'targets for fine-tuning the energy model');
    this.checkTargets(options.y, 'y');
    return super.fineTune(X, options);
  }
}
