import type { z } from 'zod';
import { type LoadedArtifact, type Manifest, saveArtifact, type TypedArray } from './artifact';
import { type CalibrationMethod, Calibrator, requireCalibrator } from './calibration';
import { ArtifactError, NotFittedError, ValidationError } from './errors';
import { assertColumns, assertFinite, type Matrix } from './matrix';
import { type Scaler, scalerFromJSON } from './scalers';
import { type FitSplit, fitThreshold, type Threshold, type ThresholdStrategy } from './thresholds';

export interface FitOptions {
  /** Labels or graded targets for supervised detectors (ignored by unsupervised ones). */
  y?: Float64Array;
  featureNames?: string[];
  /** A held-out split for early stopping or model selection (never the test split). */
  validation?: { X: Matrix; y?: Float64Array };
  /**
   * A scaler applied before the model, in fit and in every score. Fitted on X when not yet
   * fitted. It is saved in the artifact, so a loaded model scores raw features.
   */
  scaler?: Scaler;
  /** Progress callback, e.g. one call per epoch. */
  onProgress?: (event: { step: number; total: number; metrics?: Record<string, number> }) => void;
}

export interface FitReport {
  seconds: number;
  /** Per-epoch (or per-iteration) metrics, for models that iterate. */
  history?: Array<Record<string, number>>;
  [key: string]: unknown;
}

/**
 * The contract every model implements (scikit-learn / PyOD style): higher score = more
 * anomalous; a threshold set by a named strategy on a named split; calibrated probabilities;
 * save / load through the artifact format.
 */
export interface Detector {
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly isFitted: boolean;
  readonly featureNames: readonly string[] | null;
  readonly threshold: Threshold | null;
  readonly calibrator: Calibrator | null;
  readonly scaler: Scaler | null;
  fit(X: Matrix, options?: FitOptions): Promise<FitReport>;
  /** Anomaly scores, higher = more anomalous. */
  score(X: Matrix): Promise<Float64Array>;
  /** Chooses and stores the decision threshold from this detector's scores on X. */
  fitThreshold(
    strategy: ThresholdStrategy,
    X: Matrix,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold>;
  setThreshold(threshold: Threshold): void;
  /** 1 = anomalous (score > threshold), 0 = normal. */
  predict(X: Matrix): Promise<Uint8Array>;
  /** Fits Platt or isotonic calibration on a held-out split (0/1 labels). */
  calibrate(X: Matrix, y: ArrayLike<number>, method?: CalibrationMethod): Promise<Calibrator>;
  /** Calibrated probability of being anomalous. */
  predictProba(X: Matrix): Promise<Float64Array>;
  save(dir: string, extra?: { metrics?: Record<string, unknown> }): Promise<Manifest>;
}

/** What a model contributes to its artifact beyond the common fields. */
export interface ModelExport {
  state: Record<string, unknown>;
  tensors?: Record<string, { data: TypedArray; shape?: number[] }>;
  files?: Record<string, Uint8Array | string>;
}

/** Validates parameters with a zod schema; the error names the parameter (`params.nu`) and what was expected. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown, prefix = 'params'): z.infer<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [prefix, ...issue.path.map(String)].join('.');
    const received = (issue as { input?: unknown }).input;
    throw new ValidationError(path, issue.message, received);
  }
  return parsed.data;
}

/**
 * Implements the shared half of the contract (validation, scaling, thresholds, calibration,
 * persistence) so that a model only writes fitting, scoring and its weights.
 */
export abstract class BaseDetector<P extends Record<string, unknown>> implements Detector {
  abstract readonly kind: string;
  readonly params: P;
  private nFeatures: number | null = null;
  private names: string[] | null = null;
  private currentThreshold: Threshold | null = null;
  private currentCalibrator: Calibrator | null = null;
  private currentScaler: Scaler | null = null;

  constructor(schema: z.ZodType<P>, params: unknown) {
    this.params = Object.freeze(parseParams(schema, params)) as P;
  }

  protected abstract fitModel(
    X: Matrix,
    options: FitOptions,
  ): Promise<Omit<FitReport, 'seconds'> | undefined> | Omit<FitReport, 'seconds'> | undefined;
  protected abstract scoreModel(X: Matrix): Promise<Float64Array> | Float64Array;
  protected abstract exportModel(): ModelExport;
  /** Restores the model from an artifact written by `exportModel`; throws ArtifactError on a mismatch. */
  protected abstract importModel(artifact: LoadedArtifact): void;

  /** The contamination used to set a threshold on the training scores right after fit, if the model has one. */
  protected defaultContamination(): number | undefined {
    const c = this.params.contamination;
    return typeof c === 'number' ? c : undefined;
  }

  get isFitted(): boolean {
    return this.nFeatures !== null;
  }
  get featureNames(): readonly string[] | null {
    return this.names;
  }
  get threshold(): Threshold | null {
    return this.currentThreshold;
  }
  get calibrator(): Calibrator | null {
    return this.currentCalibrator;
  }
  get scaler(): Scaler | null {
    return this.currentScaler;
  }
  /** Number of input columns the model was fitted with. */
  get inputDimension(): number {
    if (this.nFeatures === null) throw new NotFittedError(this.kind, 'call fit() first');
    return this.nFeatures;
  }

  async fit(X: Matrix, options: FitOptions = {}): Promise<FitReport> {
    const start = performance.now();
    if (X.rows < 1) throw new ValidationError('X.rows', 'at least one row to fit', X.rows);
    assertFinite(X);
    if (options.y && options.y.length !== X.rows)
      throw new ValidationError('y.length', `X.rows (${X.rows})`, options.y.length);
    if (options.featureNames && options.featureNames.length !== X.cols) {
      throw new ValidationError('featureNames.length', `X.cols (${X.cols})`, options.featureNames.length);
    }
    let Xs = X;
    let validation = options.validation;
    if (options.scaler) {
      Xs = options.scaler.isFitted ? options.scaler.transform(X) : options.scaler.fitTransform(X);
      if (validation) validation = { ...validation, X: options.scaler.transform(validation.X) };
    }
    if (validation) assertColumns(validation.X, X.cols, 'validation.X');
    this.currentThreshold = null;
    this.currentCalibrator = null;
    const report = (await this.fitModel(Xs, { ...options, validation })) ?? {};
    this.nFeatures = X.cols;
    this.names = options.featureNames ? [...options.featureNames] : null;
    this.currentScaler = options.scaler ?? null;
    const contamination = this.defaultContamination();
    if (contamination !== undefined) {
      this.currentThreshold = fitThreshold(
        { strategy: 'contamination', contamination },
        await this.scoreModel(Xs),
        { split: 'train' },
      );
    }
    return { ...report, seconds: (performance.now() - start) / 1000 };
  }

  async score(X: Matrix): Promise<Float64Array> {
    return this.scoreModel(this.prepare(X));
  }

  /** Validates X against the fitted shape and applies the scaler. */
  protected prepare(X: Matrix): Matrix {
    if (this.nFeatures === null)
      throw new NotFittedError(this.kind, 'call fit() before score() or predict()');
    assertColumns(X, this.nFeatures);
    assertFinite(X);
    return this.currentScaler ? this.currentScaler.transform(X) : X;
  }

  async fitThreshold(
    strategy: ThresholdStrategy,
    X: Matrix,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold> {
    const scores = strategy.strategy === 'fixed' ? new Float64Array(0) : await this.score(X);
    this.currentThreshold = fitThreshold(strategy, scores, {
      labels: strategy.strategy === 'fixed' ? undefined : options.y,
      split: options.split,
    });
    return this.currentThreshold;
  }

  setThreshold(threshold: Threshold): void {
    this.currentThreshold = threshold;
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    const scores = await this.score(X);
    const t = this.currentThreshold;
    if (!t)
      throw new NotFittedError(
        this.kind,
        'no threshold: call fitThreshold() (or set contamination) before predict()',
      );
    const out = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = scores[i]! > t.value ? 1 : 0;
    return out;
  }

  async calibrate(X: Matrix, y: ArrayLike<number>, method: CalibrationMethod = 'platt'): Promise<Calibrator> {
    this.currentCalibrator = Calibrator.fit(method, await this.score(X), y);
    return this.currentCalibrator;
  }

  async predictProba(X: Matrix): Promise<Float64Array> {
    const c = requireCalibrator(this.currentCalibrator ?? undefined, this.kind);
    return c.predict(await this.score(X));
  }

  async save(dir: string, extra: { metrics?: Record<string, unknown> } = {}): Promise<Manifest> {
    if (this.nFeatures === null) throw new NotFittedError(this.kind, 'call fit() before save()');
    const model = this.exportModel();
    return saveArtifact(dir, {
      kind: this.kind,
      params: this.params,
      featureNames: this.names,
      scaler: this.currentScaler?.toJSON() ?? null,
      threshold: this.currentThreshold,
      calibrator: this.currentCalibrator?.toJSON() ?? null,
      metrics: extra.metrics,
      state: { ...model.state, nFeatures: this.nFeatures },
      tensors: model.tensors,
      files: model.files,
    });
  }

  /** Restores the common fields and the model from a loaded artifact (used by each model's static `load`). */
  restore(artifact: LoadedArtifact): this {
    if (artifact.kind !== this.kind)
      throw new ArtifactError('manifest.json', 'kind', `expected "${this.kind}", found "${artifact.kind}"`);
    const n = artifact.state.nFeatures;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new ArtifactError('manifest.json', 'state.nFeatures', 'expected a positive integer');
    }
    if (artifact.featureNames && artifact.featureNames.length !== n) {
      throw new ArtifactError(
        'manifest.json',
        'featureNames',
        `expected ${n} names, found ${artifact.featureNames.length}`,
      );
    }
    try {
      this.currentScaler = artifact.scaler ? scalerFromJSON(artifact.scaler) : null;
      this.currentCalibrator = artifact.calibrator ? Calibrator.fromJSON(artifact.calibrator) : null;
    } catch (e) {
      throw new ArtifactError(
        'manifest.json',
        e instanceof ValidationError ? e.field : 'scaler',
        (e as Error).message,
      );
    }
    this.importModel(artifact);
    this.nFeatures = n;
    this.names = artifact.featureNames ? [...artifact.featureNames] : null;
    this.currentThreshold = artifact.threshold;
    return this;
  }
}
