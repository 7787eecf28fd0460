import {
  ArtifactError,
  BaseMatrixDetector,
  type Contamination,
  type FitOptions,
  type FitReport,
  type LoadedArtifact,
  Matrix,
  type MatrixDetectorParams,
  type ModelExport,
  type ModelFit,
  NotFittedError,
  Rng,
  type ScalerParam,
  ScalerParamSchema,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { weightsForLayout } from './architecture-check';
import { BACKENDS, type BackendChoice, type BackendInfo, initBackend, tf } from './engine';
import { fillDropoutMask, type LayerParams, type Network } from './network';
import type { OptimizerConfig } from './optimizer';
import { type EarlyStopping, type Objective, ParamLayout, trainFlat } from './trainer';

/** Parameters every neural model shares (zod shapes, spread into each model's schema). */
export const commonParams = {
  /** Seeds initialisation, shuffling, dropout and the validation split. */
  seed: z.number().int().default(0),
  /** TensorFlow.js backend; default: ANOMALIA_TFJS_BACKEND, else tfjs-node → wasm → cpu. */
  backend: z.enum(['auto', ...BACKENDS]).optional(),
  batchSize: z.number().int().positive().default(32),
  dropout: z.number().min(0).lt(1).default(0.2),
  /** Stop when the monitored validation metric has not improved for this many epochs. */
  patience: z.number().int().positive().default(10),
  minDelta: z.number().min(0).default(0),
  /** Feature scaling fitted on the training data and saved with the model ("none" to skip). */
  scaler: ScalerParamSchema.default('standard'),
};

/** What follows each hidden Linear: batch norm (PyTorch's BatchNorm1d), LayerNorm, or nothing. */
export const NormalizationSchema = z.enum(['batch', 'layer', 'none']);
export type Normalization = z.infer<typeof NormalizationSchema>;

export interface NeuralFitReport extends FitReport {
  history: Array<Record<string, number>>;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  backend: BackendInfo['backend'];
  tfjsVersion: string;
  trainRows: number;
  validationRows: number;
}

export interface FineTuneOptions {
  y?: Float64Array;
  validation?: { X: Matrix; y?: Float64Array };
  epochs?: number;
  /** Default: a tenth of the model's learning rate. */
  learningRate?: number;
  onProgress?: FitOptions['onProgress'];
}

export interface Uncertainty {
  mean: Float64Array;
  std: Float64Array;
  q05: Float64Array;
  q50: Float64Array;
  q95: Float64Array;
  passes: number;
}

type CommonParams = MatrixDetectorParams & {
  seed: number;
  backend?: BackendChoice;
  batchSize: number;
  dropout: number;
  patience: number;
  minDelta: number;
  scaler: ScalerParam;
  epochs: number;
  learningRate: number;
  weightDecay: number;
  validationFraction: number;
  contamination?: Contamination;
};

/** Parameters of every network of a model, as views cut from the flat vector. */
export type NetParams = LayerParams[][];

/** Rows per forward pass when scoring (bounded memory on any data size). */
const SCORE_CHUNK = 8192;

/**
 * The shared half of the neural models: backend start-up, seeded initialisation, the training
 * loop with a validation split and early stopping (best checkpoint restored), chunked scoring,
 * MC dropout, gradient saliency, fine-tuning, and the float32 weights in the artifact.
 */
export abstract class NeuralDetector<P extends CommonParams> extends BaseMatrixDetector<P> {
  protected layout: ParamLayout | null = null;
  protected weights: Float32Array | null = null;
  /** Running statistics of the batch-norm blocks (layout order; empty without batch norm). */
  protected runningStats: Float32Array | null = null;
  protected lastReport: NeuralFitReport | null = null;
  protected backendInfo: BackendInfo | null = null;
  /** Training rows held out for validation by the last fit (null when a validation split was given). */
  protected heldOut: Int32Array | null = null;
  /** Backend and TensorFlow.js version the weights were trained on (kept through save / load). */
  private trainedOn: { backend: string; tfjsVersion: string | null } | null = null;
  private device: { flat: tf.Tensor1D; nets: NetParams; backend: string } | null = null;

  /** The networks for an input width (parameters placed one after another). */
  protected abstract buildNetworks(inputs: number): Network[];
  /** The training loss with its hand-written backward pass. */
  protected abstract objective(layout: ParamLayout, rows: number): Objective;
  /**
   * Anomaly score of (scaled) rows; `masks` turns dropout on (MC dropout). Differentiable unless
   * `fast` (then the networks run on the hand-written kernels).
   */
  protected abstract scoreGraph(
    x: tf.Tensor2D,
    nets: NetParams,
    masks?: tf.Tensor2D[][],
    fast?: boolean,
  ): tf.Tensor1D;
  /** Training targets [rows, yCols] for the objective, or null. */
  protected abstract targets(
    y: Float64Array | undefined,
    rows: number,
  ): { Y: Float32Array; cols: number } | null;
  /** Metrics on the validation split after an epoch (the monitored one included). */
  protected abstract validationMetrics(
    X: Matrix,
    y: Float64Array | undefined,
    flat: tf.Tensor1D,
    stats: tf.Tensor2D[][],
  ): Record<string, number>;
  /** The monitored metric, or null to train all epochs. */
  protected abstract earlyStopping(hasLabels: boolean): EarlyStopping | null;
  protected abstract optimizerConfig(learningRate: number): OptimizerConfig;
  /** Model state beyond the weights (e.g. latent statistics), stored in the artifact. */
  protected extraState(): Record<string, unknown> {
    return {};
  }
  protected restoreExtraState(_state: Record<string, unknown>): void {}
  /** Called after the weights are trained (or fine-tuned), on the scaled training rows. */
  protected afterTraining(_X: Matrix): void {}
  /** Skip a short last batch in each epoch (PyTorch's drop_last); see `TrainOptions.dropLast`. */
  protected dropLastBatch(): boolean {
    return false;
  }
  /** Rows of the training set kept out for validation when no validation split is given. */
  protected splitValidation(rows: number, _y: Float64Array | undefined, rng: Rng): Int32Array {
    const n = Math.floor(rows * this.params.validationFraction);
    if (n < 2 || rows - n < 2) return new Int32Array(0);
    return rng.permutation(rows).subarray(0, n);
  }

  /** The report of the last fit or fine-tune (history, backend, epochs). */
  get fitReport(): NeuralFitReport | null {
    return this.lastReport;
  }

  /**
   * Indices of the training rows the last fit or fine-tune held out for early stopping (when no
   * validation split was given), or null: a validation split for choosing the threshold and
   * the calibration without touching the test split.
   */
  get heldOutRows(): Int32Array | null {
    return this.heldOut;
  }

  /** The backend and TensorFlow.js version the weights were trained on (recorded in the artifact too). */
  get trainedBackend(): { backend: string; tfjsVersion: string | null } | null {
    return this.trainedOn;
  }

  override async fit(X: Matrix, options: FitOptions = {}): Promise<NeuralFitReport> {
    const report = (await super.fit(X, options)) as NeuralFitReport;
    if (this.lastReport) this.lastReport.seconds = report.seconds;
    return report;
  }

  protected async fitModel(X: Matrix, options: FitOptions): Promise<ModelFit> {
    this.backendInfo = await initBackend(this.params.backend);
    this.releaseDevice();
    const rng = new Rng(this.params.seed);
    const layout = new ParamLayout(this.buildNetworks(X.cols));
    const initial = new Float32Array(layout.size);
    for (const n of layout.networks) n.initialise(initial, rng);
    this.layout = layout;
    const report = this.train(
      X,
      options,
      { params: initial, stats: layout.initialStats() },
      this.params.learningRate,
      this.params.epochs,
      rng,
    );
    return { report };
  }

  private train(
    X: Matrix,
    options: Pick<FitOptions, 'y' | 'validation' | 'onProgress'>,
    initial: { params: Float32Array; stats: Float32Array },
    learningRate: number,
    epochs: number,
    rng: Rng,
  ): NeuralFitReport {
    const layout = this.layout!;
    let trainX = X;
    let trainY = options.y;
    let validation = options.validation;
    this.heldOut = null;
    if (!validation) {
      const held = this.splitValidation(X.rows, options.y, rng);
      this.heldOut = held.length > 0 ? held : null;
      if (held.length > 0) {
        const heldSet = new Set(held);
        const kept = new Int32Array(X.rows - held.length);
        let k = 0;
        for (let i = 0; i < X.rows; i++) if (!heldSet.has(i)) kept[k++] = i;
        validation = { X: X.selectRows(held), y: options.y ? pick(options.y, held) : undefined };
        trainX = X.selectRows(kept);
        trainY = options.y ? pick(options.y, kept) : undefined;
      }
    }
    const targets = this.targets(trainY, trainX.rows);
    const es = validation ? this.earlyStopping(validation.y !== undefined) : null;
    const result = trainFlat(
      initial.params,
      layout,
      Float32Array.from(trainX.data),
      trainX.cols,
      targets?.Y ?? null,
      targets?.cols ?? 0,
      this.objective(layout, trainX.rows),
      {
        epochs,
        batchSize: this.params.batchSize,
        optimizer: this.optimizerConfig(learningRate),
        rng,
        initialStats: initial.stats,
        dropLast: this.dropLastBatch(),
        validate: validation
          ? (flat, stats) => this.validationMetrics(validation.X, validation.y, flat, stats)
          : undefined,
        earlyStopping: es
          ? { ...es, patience: this.params.patience, minDelta: this.params.minDelta }
          : undefined,
        onEpoch: (epoch, metrics) => options.onProgress?.({ step: epoch, total: epochs, metrics }),
      },
    );
    if (!result.history.every((h) => Number.isFinite(h.loss))) {
      throw new ValidationError(
        'params.learningRate',
        'a learning rate at which training converges (the loss became non-finite)',
        learningRate,
      );
    }
    this.releaseDevice();
    this.weights = result.params;
    this.runningStats = result.stats;
    this.afterTraining(X);
    const info = this.backendInfo!;
    this.trainedOn = { backend: info.backend, tfjsVersion: info.tfjsVersion };
    this.lastReport = {
      seconds: 0,
      history: result.history,
      bestEpoch: result.bestEpoch,
      epochsRun: result.epochsRun,
      stoppedEarly: result.stoppedEarly,
      backend: info.backend,
      tfjsVersion: info.tfjsVersion,
      trainRows: trainX.rows,
      validationRows: validation?.X.rows ?? 0,
    };
    return this.lastReport;
  }

  /**
   * Continues training from the current weights (e.g. a loaded artifact) on new data, at a
   * lower learning rate (default: a tenth of the model's). The scaler is kept as fitted. The
   * scores change, so the decision is reset as after fit: the calibrator is dropped and the
   * threshold is the default one (the contamination quantile of the new training scores, or
   * none); choose a threshold and calibrate again on a held-out split.
   */
  async fineTune(X: Matrix, options: FineTuneOptions = {}): Promise<NeuralFitReport> {
    if (!this.weights || !this.layout)
      throw new NotFittedError(this.kind, 'fit() or load() before fineTune()');
    const start = performance.now();
    const Xs = this.prepare(X);
    if (options.y && options.y.length !== X.rows)
      throw new ValidationError('y.length', `X.rows (${X.rows})`, options.y.length);
    const validation = options.validation
      ? { X: this.prepare(options.validation.X), y: options.validation.y }
      : undefined;
    const lr = options.learningRate ?? this.params.learningRate / 10;
    if (!(lr > 0)) throw new ValidationError('learningRate', 'a positive number', lr);
    const epochs = options.epochs ?? this.params.epochs;
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new ValidationError('epochs', 'a positive integer', epochs);
    this.backendInfo = await initBackend(this.params.backend);
    const rng = new Rng(`${this.params.seed}:finetune:${X.rows}`);
    const report = this.train(
      Xs,
      { y: options.y, validation, onProgress: options.onProgress },
      { params: this.weights, stats: this.runningStats ?? this.layout.initialStats() },
      lr,
      epochs,
      rng,
    );
    await this.resetDecision(X);
    report.seconds = (performance.now() - start) / 1000;
    return report;
  }

  /**
   * Inference parameters of every network (batch norm folded into its Linear) from a flat
   * parameter vector and the running statistics (per network, per batch-norm block).
   */
  protected inferenceNets(flat: tf.Tensor1D, stats: tf.Tensor2D[][]): NetParams {
    const layout = this.layout!;
    return layout.views(flat, false).map((v, k) => layout.networks[k]!.inferenceParams(v.P, stats[k]!));
  }

  /** Scores of scaled rows under the parameters in `flat` (used during training, for validation). */
  protected scoresWith(X: Matrix, flat: tf.Tensor1D, stats: tf.Tensor2D[][]): Float64Array {
    const out = new Float64Array(X.rows);
    for (let start = 0; start < X.rows; start += SCORE_CHUNK) {
      const rows = Math.min(SCORE_CHUNK, X.rows - start);
      const chunk = new Float32Array(X.data.subarray(start * X.cols, (start + rows) * X.cols));
      const s = tf.tidy(() => {
        const nets = this.inferenceNets(flat, stats);
        return this.scoreGraph(tf.tensor2d(chunk, [rows, X.cols]), nets, undefined, true);
      });
      out.set(s.dataSync(), start);
      s.dispose();
    }
    return out;
  }

  /** Makes this model's backend current (models with different `backend` params may share a process). */
  protected async useBackend(): Promise<void> {
    const info = await initBackend(this.params.backend);
    if (!this.backendInfo) this.backendInfo = info;
  }

  /** Parameters on the device, cut once and reused until the weights change. */
  protected deviceParams(): NetParams {
    if (!this.weights || !this.layout) throw new NotFittedError(this.kind, 'call fit() first');
    if (this.device && !this.device.flat.isDisposed && this.device.backend === tf.getBackend()) {
      return this.device.nets;
    }
    this.releaseDevice();
    const flat = tf.tensor1d(this.weights);
    const layout = this.layout;
    const running = this.runningStats ?? layout.initialStats();
    // The folded batch-norm blocks are new tensors (kept: the cached device parameters); the
    // views they replace are released with the tidy.
    const nets = tf.tidy(
      () => this.inferenceNets(flat, layout.statTensors(running)) as unknown as tf.TensorContainer,
    ) as unknown as NetParams;
    this.device = { flat, nets, backend: tf.getBackend() };
    return nets;
  }

  /** Frees the weights held on the TensorFlow.js backend (they are re-uploaded on the next score). */
  releaseDevice(): void {
    if (!this.device) return;
    this.device.flat.dispose();
    for (const n of this.device.nets) for (const p of n) tf.dispose(Object.values(p) as tf.Tensor[]);
    this.device = null;
  }

  /**
   * Scores raw rows: validated, then converted to float32 and scaled ON the device (the scaler
   * is an affine map per column), which is several times faster than scaling in JS first.
   */
  override async score(X: Matrix): Promise<Float64Array> {
    this.ensureFitted('score() or predict()');
    this.checkInput(X, 'X', 'score');
    await this.useBackend();
    const nets = this.deviceParams();
    const affine = this.scalerAffine();
    const out = new Float64Array(X.rows);
    for (let start = 0; start < X.rows; start += SCORE_CHUNK) {
      const rows = Math.min(SCORE_CHUNK, X.rows - start);
      const chunk = new Float32Array(X.data.subarray(start * X.cols, (start + rows) * X.cols));
      const s = tf.tidy(() => {
        let x = tf.tensor2d(chunk, [rows, X.cols]);
        if (affine) {
          x = tf.add(tf.mul(x, tf.tensor1d(affine.a)), tf.tensor1d(affine.c));
          if (affine.clip) x = tf.clipByValue(x, affine.clip[0], affine.clip[1]);
        }
        return this.scoreGraph(x, nets, undefined, true);
      });
      out.set(await s.data(), start);
      s.dispose();
    }
    return out;
  }

  /** The fitted scaler as x·a + c per column (then clipped for a clipping min-max scaler). */
  private scalerAffine(): { a: Float32Array; c: Float32Array; clip?: [number, number] } | null {
    if (!this.scaler) return null;
    const s = this.scaler.toJSON();
    const a = Float32Array.from(s.scale, (v) => 1 / v);
    const c = Float32Array.from(s.center, (v, j) => s.offset - v / s.scale[j]!);
    return { a, c, clip: s.clip ? (s.featureRange ?? [0, 1]) : undefined };
  }

  /** Scores of scaled rows, in chunks. */
  protected async scoreModel(X: Matrix): Promise<Float64Array> {
    await this.useBackend();
    const nets = this.deviceParams();
    const out = new Float64Array(X.rows);
    for (let start = 0; start < X.rows; start += SCORE_CHUNK) {
      const rows = Math.min(SCORE_CHUNK, X.rows - start);
      const chunk = new Float32Array(X.data.subarray(start * X.cols, (start + rows) * X.cols));
      const s = tf.tidy(() => this.scoreGraph(tf.tensor2d(chunk, [rows, X.cols]), nets, undefined, true));
      out.set(await s.data(), start);
      s.dispose();
    }
    return out;
  }

  /** Masks for K MC-dropout passes over `rows` rows: per network, per dropout block, [K·rows, width]. */
  private mcMasks(rows: number, passes: number, rng: Rng): tf.Tensor2D[][] {
    return this.layout!.networks.map((n) =>
      n.layers
        .filter((l) => l.dropout > 0)
        .map((l) => {
          const buf = fillDropoutMask(new Float32Array(passes * rows * l.outputs), l.dropout, rng);
          return tf.tensor2d(buf, [passes * rows, l.outputs]);
        }),
    );
  }

  /**
   * MC dropout: K stochastic passes with dropout on (seeded), summarised per row by the mean,
   * standard deviation and the 5 / 50 / 95 % quantiles of the score.
   */
  async predictWithUncertainty(
    X: Matrix,
    options: { passes?: number; seed?: number } = {},
  ): Promise<Uncertainty> {
    const passes = options.passes ?? 30;
    if (!Number.isInteger(passes) || passes < 2)
      throw new ValidationError('passes', 'an integer ≥ 2', passes);
    const Xs = this.prepare(X);
    await this.useBackend();
    const nets = this.deviceParams();
    const rng = new Rng(options.seed ?? this.params.seed + 1);
    const mean = new Float64Array(X.rows);
    const std = new Float64Array(X.rows);
    const q05 = new Float64Array(X.rows);
    const q50 = new Float64Array(X.rows);
    const q95 = new Float64Array(X.rows);
    const chunkRows = Math.max(1, Math.floor(SCORE_CHUNK / passes));
    const samples = new Float64Array(passes);
    for (let start = 0; start < X.rows; start += chunkRows) {
      const rows = Math.min(chunkRows, X.rows - start);
      const base = Xs.data.subarray(start * X.cols, (start + rows) * X.cols);
      const tiled = new Float32Array(passes * rows * X.cols);
      for (let k = 0; k < passes; k++) tiled.set(base, k * rows * X.cols);
      const masks = this.mcMasks(rows, passes, rng);
      const s = tf.tidy(() =>
        this.scoreGraph(tf.tensor2d(tiled, [passes * rows, X.cols]), nets, masks, true),
      );
      const values = await s.data();
      s.dispose();
      tf.dispose(masks.flat());
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < passes; k++) samples[k] = values[k * rows + i]!;
        let m = 0;
        for (const v of samples) m += v;
        m /= passes;
        let v2 = 0;
        for (const v of samples) v2 += (v - m) * (v - m);
        samples.sort();
        mean[start + i] = m;
        std[start + i] = Math.sqrt(v2 / passes);
        q05[start + i] = quantileSorted(samples, 0.05);
        q50[start + i] = quantileSorted(samples, 0.5);
        q95[start + i] = quantileSorted(samples, 0.95);
      }
    }
    return { mean, std, q05, q50, q95, passes };
  }

  /**
   * Gradient saliency: the mean over rows of |∂score/∂x_j| (times |x_j| with `timesInput`),
   * per feature, w.r.t. the model's (scaled) inputs. Also returns the per-row matrix.
   */
  async featureImportance(
    X: Matrix,
    options: { timesInput?: boolean } = {},
  ): Promise<{ importance: Float64Array; perRow: Matrix; featureNames: readonly string[] | null }> {
    const Xs = this.prepare(X);
    await this.useBackend();
    const nets = this.deviceParams();
    const perRow = new Matrix(X.rows, X.cols);
    for (let start = 0; start < X.rows; start += SCORE_CHUNK) {
      const rows = Math.min(SCORE_CHUNK, X.rows - start);
      const chunk = new Float32Array(Xs.data.subarray(start * X.cols, (start + rows) * X.cols));
      const g = tf.tidy(() => {
        const x = tf.tensor2d(chunk, [rows, X.cols]);
        const grad = tf.grad((xi: tf.Tensor) => tf.sum(this.scoreGraph(xi as tf.Tensor2D, nets)))(x);
        return options.timesInput ? tf.abs(tf.mul(grad, x)) : tf.abs(grad);
      });
      perRow.data.set(await g.data(), start * X.cols);
      g.dispose();
    }
    const importance = new Float64Array(X.cols);
    for (let i = 0; i < X.rows; i++)
      for (let j = 0; j < X.cols; j++) importance[j]! += perRow.data[i * X.cols + j]!;
    for (let j = 0; j < X.cols; j++) importance[j]! /= Math.max(1, X.rows);
    return { importance, perRow, featureNames: this.featureNames };
  }

  protected exportModel(): ModelExport {
    if (!this.weights || !this.layout) throw new NotFittedError(this.kind, 'call fit() first');
    return {
      state: {
        weightsFormat: 'float32',
        parameterCount: this.layout.size,
        networks: this.layout.networks.map((n) => ({
          name: n.name,
          layers: n.layers.map((l) => ({ ...l })),
        })),
        backend: this.trainedOn?.backend ?? null,
        tfjsVersion: this.trainedOn?.tfjsVersion ?? null,
        training: this.lastReport
          ? {
              bestEpoch: this.lastReport.bestEpoch,
              epochsRun: this.lastReport.epochsRun,
              stoppedEarly: this.lastReport.stoppedEarly,
              history: this.lastReport.history,
            }
          : null,
        ...this.extraState(),
      },
      tensors: this.layout.toTensors(this.weights, this.runningStats ?? undefined),
    };
  }

  protected importModel(artifact: LoadedArtifact): void {
    const n = artifact.state.nFeatures;
    if (typeof n !== 'number')
      throw new ArtifactError('manifest.json', 'state.nFeatures', 'expected a number');
    const layout = new ParamLayout(this.buildNetworks(n));
    const { flat, stats } = weightsForLayout(artifact, layout);
    this.restoreExtraState(artifact.state);
    this.releaseDevice();
    this.layout = layout;
    this.weights = flat;
    this.runningStats = stats;
    const b = artifact.state.backend;
    const v = artifact.state.tfjsVersion;
    this.trainedOn =
      typeof b === 'string' ? { backend: b, tfjsVersion: typeof v === 'string' ? v : null } : null;
  }
}

export function pick(y: Float64Array, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = y[idx[i]!]!;
  return out;
}

function quantileSorted(s: Float64Array, q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
