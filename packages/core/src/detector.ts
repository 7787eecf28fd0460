import { ZodObject, type z } from 'zod';
import {
  type LoadedArtifact,
  type Manifest,
  readingArtifact,
  saveArtifact,
  type TypedArray,
} from './artifact';
import type { ArtifactKey } from './artifact-key';
import { type CalibrationMethod, Calibrator } from './calibration';
import { ArtifactError, NotFittedError, ValidationError } from './errors';
import type { Matrix } from './matrix';
import {
  type Contamination,
  defaultThreshold,
  type FitSplit,
  fitThreshold,
  type Threshold,
  ThresholdSchema,
  type ThresholdStrategy,
} from './thresholds';
import { parseWith } from './validation';

export interface FitOptions<Input = Matrix> {
  /** Labels or graded targets for supervised detectors (ignored by unsupervised ones). */
  y?: Float64Array;
  /** Names of the input columns (matrix detectors), kept in the model and its artifact. */
  featureNames?: string[];
  /** A held-out split for early stopping or model selection (never the test split). */
  validation?: { X: Input; y?: Float64Array };
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
 * The contract every model implements, on feature matrices or on any other input (event
 * sequences): scikit-learn / PyOD style, higher score = more anomalous; a default threshold from
 * the training scores, or one set by a named strategy on a named split; calibrated
 * probabilities; save / load through the artifact format.
 */
export interface Detector<Input = Matrix> {
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly isFitted: boolean;
  readonly threshold: Threshold | null;
  readonly calibrator: Calibrator | null;
  /** Fits the model, then sets its default threshold (see `defaultThreshold`). */
  fit(X: Input, options?: FitOptions<Input>): Promise<FitReport>;
  /** Anomaly scores, one per row, higher = more anomalous. */
  score(X: Input): Promise<Float64Array>;
  /** Chooses and stores the decision threshold from this detector's scores on X. */
  fitThreshold(
    strategy: ThresholdStrategy,
    X: Input,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold>;
  setThreshold(threshold: Threshold): void;
  /** 1 = anomalous (score > threshold), 0 = normal. */
  predict(X: Input): Promise<Uint8Array>;
  /** Fits Platt or isotonic calibration on a held-out split (0/1 labels). */
  calibrate(X: Input, y: ArrayLike<number>, method?: CalibrationMethod): Promise<Calibrator>;
  /** Calibrated probability of being anomalous. */
  predictProba(X: Input): Promise<Float64Array>;
  /** Saves the artifact; `key` signs it (default: the environment's key, see ArtifactKey). */
  save(
    dir: string,
    extra?: { metrics?: Record<string, unknown>; key?: ArtifactKey | null },
  ): Promise<Manifest>;
}

/** Parameters the shared half of a detector reads (each model's zod schema declares its own). */
export interface DetectorParams {
  readonly [key: string]: unknown;
  /** See `ContaminationSchema` and `defaultThreshold`. */
  readonly contamination?: Contamination;
}

/** What a model's `fitModel` returns. */
export interface ModelFit {
  /** Fields added to the fit report (history, notes, sizes). */
  report?: Omit<FitReport, 'seconds'>;
  /**
   * Scores of the training rows when fitting produced them (LOF's own outlier factors), as
   * `score` would give them. Otherwise, and only when the default threshold needs them, the
   * training rows are scored once after the fit.
   */
  trainingScores?: Float64Array;
}

/** What a model contributes to its artifact beyond the common fields. */
export interface ModelExport {
  state: Record<string, unknown>;
  tensors?: Record<string, { data: TypedArray; shape?: number[] }>;
  files?: Record<string, Uint8Array | string>;
}

/** The input-specific part of an artifact (a matrix detector's columns and scaler). */
export interface InputExport {
  featureNames?: string[] | null;
  scaler?: Manifest['scaler'];
  state?: Record<string, unknown>;
}

/** Fit input after validation (and, for matrices, scaling), with what to record once the fit succeeded. */
export interface PreparedFit<Input> {
  X: Input;
  options: FitOptions<Input>;
  /** Runs after `fitModel` returned: records what describes the input (columns, scaler). */
  commit?: () => void;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The shared half of the contract for any input type (validation, the default threshold,
 * thresholds, calibration, persistence), so that a model writes fitting, scoring and its
 * weights. Matrix models extend `BaseMatrixDetector`; other inputs implement `checkInput`.
 */
export abstract class BaseDetector<P extends DetectorParams, Input> implements Detector<Input> {
  abstract readonly kind: string;
  readonly params: P;
  #fitted = false;
  #threshold: Threshold | null = null;
  #calibrator: Calibrator | null = null;

  constructor(schema: z.ZodType<P>, params: unknown) {
    // Unknown parameters are refused (a misspelt one silently ignored is a model not trained as asked).
    const strict = schema instanceof ZodObject ? (schema.strict() as unknown as z.ZodType<P>) : schema;
    this.params = Object.freeze(parseWith(strict, params ?? {}, 'params')) as P;
    if (this.params.contamination === 'auto' && this.nativeThreshold() === undefined) {
      throw new ValidationError(
        'params.contamination',
        'a fraction in (0, 0.5]: this model has no native cut-off for "auto"',
        'auto',
      );
    }
  }

  protected abstract fitModel(X: Input, options: FitOptions<Input>): MaybePromise<ModelFit | undefined>;
  protected abstract scoreModel(X: Input): MaybePromise<Float64Array>;
  protected abstract exportModel(): ModelExport;
  /** Restores the model from an artifact written by `exportModel`; throws ArtifactError on a mismatch. */
  protected abstract importModel(artifact: LoadedArtifact): void;
  /**
   * Checks input and returns its number of rows; a ValidationError names `field` and the bad
   * element. `purpose` "fit" also refuses empty input; "score" also checks the input against the
   * fitted model (e.g. its column count).
   */
  protected abstract checkInput(X: Input, field: string, purpose: 'fit' | 'score'): number;

  /**
   * The model's native decision cut-off, used when `contamination` is "auto" or absent (e.g.
   * Isolation Forest 0.5). Undefined: no default threshold without a contamination fraction.
   */
  protected nativeThreshold(): number | undefined {
    return undefined;
  }

  /** The name of the input in error messages ("X", "sequences"). */
  protected get inputName(): string {
    return 'X';
  }

  get isFitted(): boolean {
    return this.#fitted;
  }
  get threshold(): Threshold | null {
    return this.#threshold;
  }
  get calibrator(): Calibrator | null {
    return this.#calibrator;
  }

  async fit(X: Input, options: FitOptions<Input> = {}): Promise<FitReport> {
    const start = performance.now();
    const prepared = this.prepareFit(X, options);
    this.#threshold = null;
    this.#calibrator = null;
    const fitted = (await this.fitModel(prepared.X, prepared.options)) ?? {};
    prepared.commit?.();
    this.#fitted = true;
    await this.resetDecision(X, fitted.trainingScores);
    return { ...fitted.report, seconds: (performance.now() - start) / 1000 };
  }

  /**
   * After the model changed (fit, fine-tuning): drops the calibrator and sets the default
   * threshold, from `trainingScores` when given, else by scoring X (raw training input) once.
   */
  protected async resetDecision(X: Input, trainingScores?: Float64Array): Promise<void> {
    this.#calibrator = null;
    this.#threshold = await defaultThreshold(
      this.params.contamination,
      this.nativeThreshold(),
      () => trainingScores ?? this.score(X),
    );
  }

  /** Validates fit input (rows, targets, validation split); subclasses add their own checks. */
  protected prepareFit(X: Input, options: FitOptions<Input>): PreparedFit<Input> {
    const name = this.inputName;
    const rows = this.checkInput(X, name, 'fit');
    if (options.y && options.y.length !== rows)
      throw new ValidationError('y.length', `the number of rows of ${name} (${rows})`, options.y.length);
    const v = options.validation;
    if (v) {
      const vRows = this.checkInput(v.X, `validation.${name}`, 'fit');
      if (v.y && v.y.length !== vRows)
        throw new ValidationError(
          'validation.y.length',
          `the number of validation rows (${vRows})`,
          v.y.length,
        );
    }
    return { X, options };
  }

  async score(X: Input): Promise<Float64Array> {
    return this.scoreModel(this.prepare(X));
  }

  /** Validates input against the fitted model and returns what `scoreModel` receives. */
  protected prepare(X: Input): Input {
    this.ensureFitted('score() or predict()');
    this.checkInput(X, this.inputName, 'score');
    return X;
  }

  protected ensureFitted(before: string): void {
    if (!this.#fitted) throw new NotFittedError(this.kind, `call fit() before ${before}`);
  }

  async fitThreshold(
    strategy: ThresholdStrategy,
    X: Input,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold> {
    const fixed = strategy.strategy === 'fixed';
    const scores = fixed ? new Float64Array(0) : await this.score(X);
    this.#threshold = fitThreshold(strategy, scores, {
      labels: fixed ? undefined : options.y,
      split: options.split,
    });
    return this.#threshold;
  }

  setThreshold(threshold: Threshold): void {
    this.#threshold = parseWith(ThresholdSchema, threshold, 'threshold');
  }

  async predict(X: Input): Promise<Uint8Array> {
    const scores = await this.score(X);
    const t = this.#threshold;
    if (!t)
      throw new NotFittedError(
        this.kind,
        'no threshold: call fitThreshold() (or set contamination) before predict()',
      );
    const out = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = scores[i]! > t.value ? 1 : 0;
    return out;
  }

  async calibrate(X: Input, y: ArrayLike<number>, method: CalibrationMethod = 'platt'): Promise<Calibrator> {
    this.#calibrator = Calibrator.fit(method, await this.score(X), y);
    return this.#calibrator;
  }

  /** Replaces the calibrator (for models that calibrate something other than their score). */
  protected setCalibrator(calibrator: Calibrator | null): void {
    this.#calibrator = calibrator;
  }

  async predictProba(X: Input): Promise<Float64Array> {
    const c = this.#calibrator;
    if (!c)
      throw new NotFittedError(
        this.kind,
        'predictProba() needs calibrate() first, on a validation or calibration split',
      );
    return c.predict(await this.score(X));
  }

  /** Saves the artifact; `key` signs it (default: the environment's key, see ArtifactKey). */
  async save(
    dir: string,
    extra: { metrics?: Record<string, unknown>; key?: ArtifactKey | null } = {},
  ): Promise<Manifest> {
    this.ensureFitted('save()');
    const model = this.exportModel();
    const input = this.exportInput();
    return saveArtifact(
      dir,
      {
        kind: this.kind,
        params: this.params,
        featureNames: input.featureNames ?? null,
        scaler: input.scaler ?? null,
        threshold: this.#threshold,
        calibrator: this.#calibrator?.toJSON() ?? null,
        metrics: extra.metrics,
        state: { ...model.state, ...input.state },
        tensors: model.tensors,
        files: model.files,
      },
      { key: extra.key },
    );
  }

  /** The input-specific part of the artifact (none by default). */
  protected exportInput(): InputExport {
    return {};
  }

  /** Checks the input-specific part of an artifact; the returned function records it. */
  protected restoreInput(_artifact: LoadedArtifact): (() => void) | undefined {
    return undefined;
  }

  /** Restores the common fields and the model from a loaded artifact (used by each model's static `load`). */
  restore(artifact: LoadedArtifact): this {
    if (artifact.kind !== this.kind)
      throw new ArtifactError('manifest.json', 'kind', `expected "${this.kind}", found "${artifact.kind}"`);
    const commitInput = this.restoreInput(artifact);
    const calibrator = readingArtifact('manifest.json', () =>
      artifact.calibrator ? Calibrator.fromJSON(artifact.calibrator) : null,
    );
    this.importModel(artifact);
    commitInput?.();
    this.#calibrator = calibrator;
    this.#threshold = artifact.threshold;
    this.#fitted = true;
    return this;
  }
}
