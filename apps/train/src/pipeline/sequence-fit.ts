import type { Detector, Threshold } from '@anomalia/core';
import type { Sequences } from '@anomalia/sequence';
import type { TrainConfig } from '../config/schema';
import type { SequencePart, SequenceParts } from '../data/types';
import type { SequenceModel } from '../registry';
import { binaryEvaluation } from './evaluate';
import { calibrationMethod, calibrationPart, chooseThreshold, type LabelledPart } from './thresholding';

export const asPart = (p?: SequencePart): LabelledPart<Sequences> | undefined =>
  p && { X: p.sequences, y: p.y };

export interface FittedSequenceModel {
  detector: Detector<Sequences>;
  supervised: boolean;
  history: Array<Record<string, number>>;
  threshold: Threshold | null;
}

/**
 * Fits a sequence detector on `parts.train`, calibrates it, then chooses its threshold:
 * calibration comes first because a classifier's score is its (re-calibrated) probability, which
 * the threshold is chosen on. Neither touches the test part.
 */
export async function fitSequenceModel(
  config: TrainConfig,
  entry: SequenceModel,
  params: Record<string, unknown>,
  parts: SequenceParts,
  seed: number,
): Promise<FittedSequenceModel> {
  const detector = entry.create(params, seed);
  const supervised = entry.supervised(detector);
  const { train, validation, calibration } = parts;
  const fit = await detector.fit(train.sequences, { y: supervised ? train.y : undefined });
  const history = (fit.history ?? []) as Array<Record<string, number>>;
  const held = calibrationPart({ validation: asPart(validation), calibration: asPart(calibration) });
  const method = calibrationMethod(config.calibration);
  if (held && method) await detector.calibrate(held.X, held.y, method);
  const threshold = await chooseThreshold(
    detector,
    { train: asPart(train)!, validation: asPart(validation), calibration: asPart(calibration) },
    config.threshold,
  );
  return { detector, supervised, history, threshold };
}

/** Test-part scores and metrics of a fitted sequence model. */
export async function evaluateSequenceModel(model: FittedSequenceModel, parts: SequenceParts) {
  const { detector, supervised, threshold } = model;
  const scores = await detector.score(parts.test.sequences);
  const probabilities =
    supervised || detector.calibrator ? await detector.predictProba(parts.test.sequences) : null;
  const binary = binaryEvaluation(scores, parts.test.y, threshold?.value ?? null, probabilities);
  return { scores, binary, metrics: binary.metrics };
}
