import type { FitReport, MatrixDetector, Threshold } from '@anomalia/core';
import type { TrainConfig } from '../config/schema';
import type { MatrixParts } from '../data/types';
import type { MatrixModel } from '../registry';
import { binaryEvaluation, severityEvaluation } from './evaluate';
import { calibrationMethod, calibrationPart, chooseThreshold } from './thresholding';

export interface FittedMatrixModel {
  detector: MatrixDetector;
  fit: FitReport;
  threshold: Threshold | null;
}

export type Timer = <T>(name: string, f: () => Promise<T>) => Promise<T>;
const untimed: Timer = (_name, f) => f();

/**
 * Fits a new detector on `parts.train`, then, as explicit steps for every model alike, chooses its
 * threshold and its calibration on the validation / calibration parts (never on the test part).
 */
export async function fitMatrixModel(
  config: TrainConfig,
  entry: MatrixModel,
  parts: MatrixParts,
  options: {
    graded: boolean;
    featureNames: string[];
    seed: number;
    onProgress?: NonNullable<Parameters<MatrixDetector['fit']>[1]>['onProgress'];
    onStage?: (text: string) => void;
    timed?: Timer;
  },
): Promise<FittedMatrixModel> {
  const timed = options.timed ?? untimed;
  const { train, validation, calibration } = parts;
  const { graded } = options;
  const params = config.model.params ?? {};
  const detector = entry.pretrained
    ? await timed('load', async () => entry.create(params, options.seed))
    : await entry.create(params, options.seed);
  // A model trained elsewhere is never fitted: only its threshold and calibration are chosen here.
  const fit: FitReport = entry.pretrained
    ? { seconds: 0, backend: entry.pretrained.backend }
    : await timed('fit', () =>
        detector.fit(train.X, {
          y: entry.supervised ? (graded ? train.target : train.y) : undefined,
          validation:
            entry.supervised && validation
              ? { X: validation.X, y: graded ? validation.target : validation.y }
              : undefined,
          featureNames: options.featureNames,
          onProgress: options.onProgress,
        }),
      );
  options.onStage?.('threshold and calibration (validation / calibration splits)');
  const threshold = await timed('threshold', () =>
    chooseThreshold(detector, { train, validation, calibration }, config.threshold),
  );
  const held = calibrationPart({ validation, calibration });
  const method = calibrationMethod(config.calibration);
  if (held && method) await timed('calibration', () => detector.calibrate(held.X, held.y, method));
  return { detector, fit, threshold };
}

export interface MatrixEvaluation {
  scores: Float64Array;
  binary: ReturnType<typeof binaryEvaluation>;
  severity?: ReturnType<typeof severityEvaluation>;
  /** Binary metrics, severity metrics and, with held-out normal data, its alarm rate. */
  metrics: Record<string, number | undefined>;
}

/** Evaluates a fitted model on the test part (and its alarm rate on held-out normal data). */
export async function evaluateMatrixModel(
  model: FittedMatrixModel,
  parts: MatrixParts,
  graded: boolean,
  timed: Timer = untimed,
): Promise<MatrixEvaluation> {
  const { detector, threshold } = model;
  const { test, normalHoldout } = parts;
  const scores = await timed('score', () => detector.score(test.X));
  const probabilities = detector.calibrator ? await detector.predictProba(test.X) : null;
  const binary = binaryEvaluation(scores, test.y, threshold?.value ?? null, probabilities);
  const severity = graded && test.target ? severityEvaluation(scores, test.target) : undefined;
  const metrics: Record<string, number | undefined> = { ...binary.metrics, ...(severity?.metrics ?? {}) };
  if (threshold && normalHoldout && normalHoldout.X.rows > 0) {
    const flagged = await detector.predict(normalHoldout.X);
    metrics.normal_alarm_rate = flagged.reduce((a, b) => a + b, 0) / flagged.length;
    metrics.n_normal_holdout = flagged.length;
  }
  return { scores, binary, severity, metrics };
}

/**
 * Frees what a throw-away model holds: its TensorFlow.js memory, or its onnxruntime session (a
 * no-op for other models).
 */
export async function release(detector: MatrixDetector): Promise<void> {
  const d = detector as Partial<{ releaseDevice(): void; close(): Promise<void> }>;
  d.releaseDevice?.();
  await d.close?.();
}
