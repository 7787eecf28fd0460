import { averagePrecision, metricsAtThreshold, prCurve, Rng, rocAuc, ValidationError } from '@anomalia/core';
import { SequenceAnomalyDetector, type SequenceDetectorParamsInput } from './sequence-detector';
import type { Sequence } from './validate';

export interface UnsupervisedEvaluation {
  roc_auc: number;
  average_precision: number;
  /** The best F1 over all thresholds on the test set (an upper bound, not an operating point). */
  best_f1: number;
  /** F1 on the test set at the threshold that lets 1 % of the calibration normals through. */
  f1_at_fpr_1pct: number;
  n_train: number;
  n_test: number;
}

export interface EvaluationInput {
  train: readonly Sequence[];
  normal: readonly Sequence[];
  anomalous: readonly Sequence[];
  params?: SequenceDetectorParamsInput;
  /** Seed of the calibration / test split of the normal sequences. */
  seed?: number;
}

/**
 * The real-data protocol: fit on `train` (normal only), split `normal` 50/50 (seeded) into a
 * calibration half and a test half, choose the 1 %-FPR threshold on the calibration half only,
 * and measure on test = the test half of `normal` + every `anomalous` sequence.
 */
export async function evaluateUnsupervised(
  input: EvaluationInput,
): Promise<UnsupervisedEvaluation & { detector: SequenceAnomalyDetector }> {
  const { train, normal, anomalous } = input;
  if (train.length === 0) throw new ValidationError('train', 'at least one training sequence', 0);
  if (normal.length < 2)
    throw new ValidationError('normal', 'at least two normal sequences (calibration + test)', normal.length);
  if (anomalous.length === 0) throw new ValidationError('anomalous', 'at least one anomalous sequence', 0);
  const order = new Rng(input.seed ?? 42).permutation(normal.length);
  const half = Math.floor(normal.length / 2);
  const calibration = Array.from(order.subarray(0, half), (i) => normal[i]!);
  const testNormal = Array.from(order.subarray(half), (i) => normal[i]!);
  const detector = new SequenceAnomalyDetector(input.params);
  await detector.fit(train);
  const threshold = await detector.fitThreshold({ strategy: 'target-fpr', fpr: 0.01 }, calibration, {
    split: 'calibration',
  });
  const test = [...testNormal, ...anomalous];
  const labels = new Uint8Array(test.length);
  labels.fill(1, testNormal.length);
  const scores = await detector.score(test);
  return {
    roc_auc: rocAuc(labels, scores),
    average_precision: averagePrecision(labels, scores),
    best_f1: bestF1(labels, scores),
    f1_at_fpr_1pct: metricsAtThreshold(labels, scores, threshold.value).f1,
    n_train: train.length,
    n_test: test.length,
    detector,
  };
}

/** Largest F1 over every threshold of the precision–recall curve. */
export function bestF1(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { precision, recall } = prCurve(labels, scores);
  let best = 0;
  for (let k = 0; k < precision.length; k++) {
    const p = precision[k]!;
    const r = recall[k]!;
    if (p + r > 0) best = Math.max(best, (2 * p * r) / (p + r));
  }
  return best;
}
