import {
  ArtifactError,
  assertColumns,
  type CalibrationMethod,
  Calibrator,
  type FitSplit,
  fitThreshold,
  type LoadedArtifact,
  loadArtifact,
  MANIFEST_FILE,
  type Manifest,
  type Matrix,
  type MatrixDetector,
  NotFittedError,
  parseArtifactWith,
  parseWith,
  predictAtThreshold,
  readingArtifact,
  type Scaler,
  type Threshold,
  ThresholdSchema,
  type ThresholdStrategy,
  ValidationError,
} from '@anomalia/core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ONNX_ARTIFACT_KIND, ONNX_MODEL_FILE, OnnxArtifactStateSchema, saveOnnxArtifact } from './artifact';
import { inspectOnnxModel, type OnnxModelInfo } from './inspect';
import { type AnomaliaMetadata, readAnomaliaMetadata } from './metadata';
import {
  type OnnxLoadOptions,
  OnnxLoadOptionsSchema,
  type OnnxSessionOptions,
  type ParsedOnnxLoadOptions,
} from './options';

/** What an OnnxDetector is: the model it runs and how it runs it (set on load, not fitted). */
export interface OnnxDetectorParams {
  /** Kind of the exported Anomalia model, or "external" for a model made elsewhere. */
  source: string;
  inputName: string;
  inputType: OnnxModelInfo['input']['type'];
  scoreOutput: string;
  opset: number;
  /** sha256 of the model file. */
  sha256: string;
  /** Rows per inference run. */
  batchSize: number;
  session: OnnxSessionOptions;
}

/**
 * A `MatrixDetector` that scores rows with an ONNX model on onnxruntime-node: an Anomalia
 * export (its feature names, threshold and calibrator come from the model's metadata) or any
 * model with one float input [N, d] and a score output. It scores a trained graph and cannot be
 * fitted; its threshold and calibration can be (re)fitted on held-out rows like any Detector's,
 * with core's `fitThreshold` and `Calibrator`. Rows are passed raw: an exported graph applies the
 * model's scaler itself (its state is in `metadata.scaler`), so `scaler` is null.
 *
 * Not a `BaseMatrixDetector`: that class enters the fitted state only through `fit` or
 * `restore(LoadedArtifact)`, and a bare .onnx file has neither a fit nor a manifest.
 */
export class OnnxDetector implements MatrixDetector {
  readonly kind = ONNX_ARTIFACT_KIND;
  readonly params: Readonly<OnnxDetectorParams>;
  /** Always true: the graph holds a trained model. */
  readonly isFitted = true;
  /** The graph applies the scaler itself: rows are passed raw. */
  readonly scaler: Scaler | null = null;
  #threshold: Threshold | null;
  #calibrator: Calibrator | null;
  #released = false;

  private constructor(
    private readonly session: InferenceSession,
    /** What validation found out about the model (input, output, sha256...). */
    readonly model: OnnxModelInfo,
    private readonly bytes: Uint8Array,
    readonly featureNames: readonly string[] | null,
    /** The Anomalia metadata in the model, or null for a model made elsewhere. */
    readonly metadata: AnomaliaMetadata | null,
    threshold: Threshold | null,
    calibrator: Calibrator | null,
    options: ParsedOnnxLoadOptions,
  ) {
    this.#threshold = threshold;
    this.#calibrator = calibrator;
    this.params = Object.freeze({
      source: metadata?.kind ?? 'external',
      inputName: model.input.name,
      inputType: model.input.type,
      scoreOutput: model.scoreOutput.name,
      opset: model.opset,
      sha256: model.sha256,
      batchSize: options.batchSize,
      session: options.session,
    });
  }

  /**
   * Validates `bytes` as a scoring model (see `inspectOnnxModel`), then opens an onnxruntime
   * session. `file` names the model in errors.
   */
  static async fromBytes(
    bytes: Uint8Array,
    options: OnnxLoadOptions = {},
    file = 'model.onnx',
  ): Promise<OnnxDetector> {
    const opts = parseWith(OnnxLoadOptionsSchema, options, 'options');
    const info = inspectOnnxModel(bytes, { file, maxBytes: opts.maxBytes, scoreOutput: opts.scoreOutput });
    if (opts.sha256 && opts.sha256 !== info.sha256) {
      throw new ArtifactError(
        file,
        'sha256',
        `checksum mismatch: expected ${opts.sha256}, found ${info.sha256} (the file was modified or replaced)`,
      );
    }
    const metadata = readAnomaliaMetadata(info.metadata, file);
    const featureNames = resolveFeatureNames(info, metadata, opts.featureNames, file);
    const threshold = resolveThreshold(opts.threshold, metadata?.threshold ?? null);
    const calibrator = opts.calibrator
      ? userCalibrator(opts.calibrator)
      : metadata?.calibrator
        ? Calibrator.fromJSON(metadata.calibrator)
        : null;
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, { ...opts.session, logSeverityLevel: 3 });
    } catch (e) {
      throw new ArtifactError(file, '(session)', `onnxruntime refused the model: ${(e as Error).message}`);
    }
    if (
      !session.inputNames.includes(info.input.name) ||
      !session.outputNames.includes(info.scoreOutput.name)
    ) {
      await session.release();
      throw new ArtifactError(
        file,
        'graph',
        `onnxruntime sees inputs [${session.inputNames}] and outputs [${session.outputNames}], not "${info.input.name}" → "${info.scoreOutput.name}"`,
      );
    }
    return new OnnxDetector(session, info, bytes, featureNames, metadata, threshold, calibrator, opts);
  }

  /**
   * Loads an "onnx" artifact directory written by `save` or `exportOnnx`: every file's checksum
   * is verified, then the model is validated. The manifest's feature names, threshold and
   * calibrator are authoritative (they may have been re-fitted after export); `options` may
   * still override the threshold and calibrator.
   */
  static async load(dir: string, options: OnnxLoadOptions = {}): Promise<OnnxDetector> {
    const artifact = await loadArtifact(dir, { kind: ONNX_ARTIFACT_KIND });
    return OnnxDetector.fromArtifact(artifact, options);
  }

  /** Opens an "onnx" artifact already loaded with core's `loadArtifact` (checksums verified there). */
  static async fromArtifact(artifact: LoadedArtifact, options: OnnxLoadOptions = {}): Promise<OnnxDetector> {
    if (artifact.kind !== ONNX_ARTIFACT_KIND) {
      throw new ArtifactError(
        MANIFEST_FILE,
        'kind',
        `expected "${ONNX_ARTIFACT_KIND}", found "${artifact.kind}"`,
      );
    }
    const bytes = artifact.files[ONNX_MODEL_FILE];
    if (!bytes) {
      throw new ArtifactError(
        MANIFEST_FILE,
        `files.${ONNX_MODEL_FILE}`,
        'missing: an onnx artifact holds its model in model.onnx',
      );
    }
    const state = parseArtifactWith(OnnxArtifactStateSchema, artifact.state, MANIFEST_FILE, 'state');
    // The manifest's calibrator, checked as core checks one it restores (isotonic knots).
    readingArtifact(MANIFEST_FILE, () => artifact.calibrator && Calibrator.fromJSON(artifact.calibrator));
    const names = artifact.featureNames ?? undefined;
    if (names && options.featureNames && names.join('\u0000') !== options.featureNames.join('\u0000')) {
      throw new ValidationError(
        'options.featureNames',
        `the artifact's feature names (${names.length}: ${names.slice(0, 3).join(', ')}…)`,
        options.featureNames,
      );
    }
    const detector = await OnnxDetector.fromBytes(
      bytes,
      {
        ...options,
        featureNames: names ?? options.featureNames,
        scoreOutput: state.scoreOutput,
        threshold: options.threshold ?? artifact.threshold ?? undefined,
        calibrator: options.calibrator ?? artifact.calibrator ?? undefined,
      },
      ONNX_MODEL_FILE,
    );
    if (detector.inputDimension !== state.nFeatures) {
      await detector.close();
      throw new ArtifactError(
        MANIFEST_FILE,
        'state.nFeatures',
        `expected ${detector.inputDimension} (the model's input width), found ${state.nFeatures}`,
      );
    }
    // The manifest is authoritative: no threshold or calibrator there means none, whatever the
    // model's metadata held at export.
    if (options.threshold === undefined && !artifact.threshold) detector.#threshold = null;
    if (options.calibrator === undefined && !artifact.calibrator) detector.#calibrator = null;
    return detector;
  }

  get threshold(): Threshold | null {
    return this.#threshold;
  }
  get calibrator(): Calibrator | null {
    return this.#calibrator;
  }
  /** Number of input columns. */
  get inputDimension(): number {
    return this.model.features ?? this.featureNames!.length;
  }

  async fit(): Promise<never> {
    throw new ValidationError(
      'fit',
      'a model trained elsewhere: an OnnxDetector only scores (train with @anomalia/neural, then exportOnnx); fitThreshold and calibrate work',
    );
  }

  /** Anomaly scores of raw rows (the graph scales them), higher = more anomalous. */
  async score(X: Matrix): Promise<Float64Array> {
    if (this.#released) throw new ValidationError('session', 'an open session (close() was called)');
    assertColumns(X, this.inputDimension);
    this.checkValues(X);
    const d = X.cols;
    const out = new Float64Array(X.rows);
    const chunk = this.model.fixedBatch ?? this.params.batchSize;
    const Typed = this.model.input.type === 'float64' ? Float64Array : Float32Array;
    for (let start = 0; start < X.rows; start += chunk) {
      const rows = Math.min(chunk, X.rows - start);
      const data = new Typed(X.data.subarray(start * d, (start + rows) * d));
      const feeds = { [this.model.input.name]: new Tensor(this.model.input.type, data, [rows, d]) };
      const result = await this.session.run(feeds, [this.model.scoreOutput.name]);
      const scores = result[this.model.scoreOutput.name]!;
      try {
        if (scores.data.length !== rows) {
          throw new ArtifactError(
            this.model.file,
            `graph.output "${this.model.scoreOutput.name}"`,
            `expected ${rows} scores for ${rows} rows, found ${scores.data.length} values [${scores.dims}]`,
          );
        }
        const values = scores.data as Float32Array | Float64Array;
        for (let i = 0; i < rows; i++) {
          const s = values[i]!;
          if (!Number.isFinite(s)) {
            throw new ValidationError(
              `X[${start + i}]`,
              'a row the model scores finitely (its score was not finite)',
              s,
            );
          }
          out[start + i] = s;
        }
      } finally {
        scores.dispose();
      }
    }
    return out;
  }

  /** Non-finite inputs are refused, except NaN when the graph imputes it (scaler nanPolicy "impute"). */
  private checkValues(X: Matrix): void {
    const nanAllowed = this.metadata?.scaler?.nanPolicy === 'impute';
    for (let k = 0; k < X.data.length; k++) {
      const v = X.data[k]!;
      if (Number.isFinite(v) || (nanAllowed && Number.isNaN(v))) continue;
      throw new ValidationError(
        `X[${Math.floor(k / X.cols)}][${k % X.cols}]`,
        nanAllowed ? 'a number or NaN' : 'a finite number',
        v,
      );
    }
  }

  /** Chooses and stores the threshold from this model's scores on X (core's `fitThreshold`). */
  async fitThreshold(
    strategy: ThresholdStrategy,
    X: Matrix,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold> {
    const fixed = strategy.strategy === 'fixed';
    this.#threshold = fitThreshold(strategy, fixed ? [] : await this.score(X), {
      labels: fixed ? undefined : options.y,
      split: options.split,
    });
    return this.#threshold;
  }

  setThreshold(threshold: Threshold): void {
    this.#threshold = parseWith(ThresholdSchema, threshold, 'threshold');
  }

  /** 1 = anomalous (score > threshold), 0 = normal. */
  async predict(X: Matrix): Promise<Uint8Array> {
    const t = this.#threshold;
    if (!t) {
      throw new NotFittedError(
        this.kind,
        'no threshold: pass options.threshold, call fitThreshold() or export a model that has one, before predict()',
      );
    }
    return predictAtThreshold(await this.score(X), t.value);
  }

  async calibrate(X: Matrix, y: ArrayLike<number>, method: CalibrationMethod = 'platt'): Promise<Calibrator> {
    this.#calibrator = Calibrator.fit(method, await this.score(X), y);
    return this.#calibrator;
  }

  async predictProba(X: Matrix): Promise<Float64Array> {
    const c = this.#calibrator;
    if (!c) {
      throw new NotFittedError(
        this.kind,
        'predictProba() needs a calibrator: pass options.calibrator, call calibrate() on a validation or calibration split, or export a model that has one',
      );
    }
    return c.predict(await this.score(X));
  }

  /** Writes an "onnx" artifact: manifest.json (names, threshold, calibrator) + model.onnx, checksummed. */
  async save(dir: string, extra: { metrics?: Record<string, unknown> } = {}): Promise<Manifest> {
    return saveOnnxArtifact(dir, {
      bytes: this.bytes,
      info: this.model,
      nFeatures: this.inputDimension,
      source: this.metadata?.kind ?? 'external',
      featureNames: this.featureNames,
      threshold: this.#threshold,
      calibrator: this.#calibrator?.toJSON() ?? null,
      metrics: extra.metrics,
    });
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.session.release();
  }
}

function resolveFeatureNames(
  info: OnnxModelInfo,
  metadata: AnomaliaMetadata | null,
  given: string[] | undefined,
  file: string,
): string[] | null {
  const fromModel = metadata?.featureNames ?? null;
  if (fromModel && info.features !== null && fromModel.length !== info.features) {
    throw new ArtifactError(
      file,
      'metadata_props["anomalia.feature_names"]',
      `expected ${info.features} names (the input width), found ${fromModel.length}`,
    );
  }
  if (given) {
    if (info.features !== null && given.length !== info.features) {
      throw new ValidationError(
        'options.featureNames',
        `${info.features} names (the width of input "${info.input.name}")`,
        given,
      );
    }
    if (fromModel && fromModel.join('\u0000') !== given.join('\u0000')) {
      const k = fromModel.findIndex((n, i) => n !== given[i]);
      throw new ValidationError(
        `options.featureNames[${k}]`,
        `"${fromModel[k]}" (the model's feature names, in order)`,
        given[k],
      );
    }
    return [...given];
  }
  if (fromModel) return [...fromModel];
  if (info.features === null) {
    throw new ValidationError(
      'options.featureNames',
      `the feature names: input "${info.input.name}" of ${file} has a symbolic width`,
    );
  }
  return null;
}

function resolveThreshold(
  given: number | Threshold | undefined,
  fromModel: Threshold | null,
): Threshold | null {
  if (given === undefined) return fromModel;
  if (typeof given === 'number') {
    return fitThreshold({ strategy: 'fixed', value: given }, [], { split: 'none' });
  }
  return given;
}

/** A calibrator given in the options: a bad state names the option. */
function userCalibrator(state: NonNullable<ParsedOnnxLoadOptions['calibrator']>): Calibrator {
  try {
    return Calibrator.fromJSON(state);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(`options.${e.field}`, e.expected, e.received);
  }
}
