import {
  ArtifactError,
  assertColumns,
  type CalibrationMethod,
  Calibrator,
  type Detector,
  type FitSplit,
  fitThreshold,
  type LoadedArtifact,
  loadArtifact,
  MANIFEST_FILE,
  type Manifest,
  type Matrix,
  parseWith,
  requireCalibrator,
  type Scaler,
  type Threshold,
  type ThresholdStrategy,
  ValidationError,
} from '@anomalia/core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { z } from 'zod';
import { ONNX_ARTIFACT_KIND, ONNX_MODEL_FILE, OnnxArtifactStateSchema, saveOnnxArtifact } from './artifact';
import { inspectOnnxModel, type OnnxModelInfo } from './inspect';
import { type AnomaliaMetadata, readAnomaliaMetadata } from './metadata';
import { type OnnxLoadOptions, OnnxLoadOptionsSchema, type ParsedOnnxLoadOptions } from './options';

/**
 * A Detector that scores rows with an ONNX model on onnxruntime-node: an Anomalia export (its
 * feature names, threshold and calibrator come from the model's metadata) or any model with one
 * float input [N, d] and a score output. It scores a trained graph and cannot be fitted; its
 * threshold and calibration can be (re)fitted on held-out rows like any Detector's.
 */
export class OnnxDetector implements Detector {
  readonly kind = ONNX_ARTIFACT_KIND;
  readonly params: Readonly<Record<string, unknown>>;
  readonly isFitted = true;
  /** The graph applies the scaler itself: rows are passed raw. */
  readonly scaler: Scaler | null = null;
  private currentThreshold: Threshold | null;
  private currentCalibrator: Calibrator | null;
  private released = false;

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
    private readonly options: ParsedOnnxLoadOptions,
  ) {
    this.currentThreshold = threshold;
    this.currentCalibrator = calibrator;
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
    const calibratorState = opts.calibrator ?? metadata?.calibrator ?? null;
    const calibrator = calibratorState ? Calibrator.fromJSON(calibratorState) : null;
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

  static async fromArtifact(artifact: LoadedArtifact, options: OnnxLoadOptions = {}): Promise<OnnxDetector> {
    const bytes = artifact.files[ONNX_MODEL_FILE];
    if (!bytes) {
      throw new ArtifactError(
        MANIFEST_FILE,
        `files.${ONNX_MODEL_FILE}`,
        'missing: an onnx artifact holds its model in model.onnx',
      );
    }
    let state: z.output<typeof OnnxArtifactStateSchema>;
    try {
      state = parseWith(OnnxArtifactStateSchema, artifact.state, 'state');
    } catch (e) {
      if (e instanceof ValidationError) throw new ArtifactError(MANIFEST_FILE, e.field, e.message);
      throw e;
    }
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
    if (!options.threshold && !artifact.threshold) detector.currentThreshold = null;
    if (!options.calibrator && !artifact.calibrator) detector.currentCalibrator = null;
    return detector;
  }

  get threshold(): Threshold | null {
    return this.currentThreshold;
  }
  get calibrator(): Calibrator | null {
    return this.currentCalibrator;
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
    if (this.released) throw new ValidationError('session', 'an open session (close() was called)');
    assertColumns(X, this.inputDimension);
    this.checkValues(X);
    const d = X.cols;
    const out = new Float64Array(X.rows);
    const chunk = this.model.fixedBatch ?? this.options.batchSize;
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
    const t = this.currentThreshold;
    if (!t) {
      throw new ValidationError(
        'threshold',
        'a decision threshold: pass options.threshold, call fitThreshold() or export a model that has one',
      );
    }
    const scores = await this.score(X);
    return Uint8Array.from(scores, (s) => (s > t.value ? 1 : 0));
  }

  async calibrate(X: Matrix, y: ArrayLike<number>, method: CalibrationMethod = 'platt'): Promise<Calibrator> {
    this.currentCalibrator = Calibrator.fit(method, await this.score(X), y);
    return this.currentCalibrator;
  }

  async predictProba(X: Matrix): Promise<Float64Array> {
    const c = requireCalibrator(this.currentCalibrator ?? undefined, this.kind);
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
      threshold: this.currentThreshold,
      calibrator: this.currentCalibrator?.toJSON() ?? null,
      metrics: extra.metrics,
    });
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
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
