import { z } from 'zod';
import { ValidationError } from './errors';
import { assertBinaryLabels, assertFiniteScores, assertSameLength } from './metrics/validate';
import { quantile, sortedCopy } from './stats';
import { parseWith } from './validation';

/** A share of anomalies: a fraction in (0, 0.5]. */
const ContaminationFractionSchema = z.number().gt(0).max(0.5);

/**
 * The `contamination` parameter of every model that has one: the expected share of anomalies in
 * the training data, a fraction in (0, 0.5] (the threshold becomes that quantile of the training
 * scores, as scikit-learn's `offset_`), or "auto": the model's native cut-off (a model without
 * one refuses "auto"). See `defaultThreshold`.
 */
export const ContaminationSchema = z.union([z.literal('auto'), ContaminationFractionSchema], {
  error: 'a fraction in (0, 0.5] or "auto"',
});
export type Contamination = z.infer<typeof ContaminationSchema>;

/**
 * How a decision threshold is chosen. A row is anomalous when its score is strictly above the
 * threshold. The split a threshold was fitted on is recorded and may never be "test".
 */
export const ThresholdStrategySchema = z.discriminatedUnion('strategy', [
  /** The (1 − contamination) quantile of the scores (numpy linear interpolation), as scikit-learn's `contamination`. */
  z.object({ strategy: z.literal('contamination'), contamination: ContaminationFractionSchema }),
  /** The lowest threshold at which at most `fpr` of the normal rows (label 0) score above it. */
  z.object({ strategy: z.literal('target-fpr'), fpr: z.number().min(0).lt(1) }),
  /** The threshold that maximises F1 on labelled rows (midpoint between adjacent distinct scores). */
  z.object({ strategy: z.literal('max-f1') }),
  /** Halfway between the mean score of normal rows and the mean score of anomalous rows. */
  z.object({ strategy: z.literal('midpoint') }),
  z.object({ strategy: z.literal('fixed'), value: z.number() }),
]);
export type ThresholdStrategy = z.infer<typeof ThresholdStrategySchema>;

export const FitSplitSchema = z.enum(['train', 'validation', 'calibration', 'none']);
export type FitSplit = z.infer<typeof FitSplitSchema>;

export const ThresholdSchema = z.object({
  value: z.number(),
  strategy: ThresholdStrategySchema,
  /** The split the threshold was chosen on ("none" for a fixed value). */
  split: FitSplitSchema,
  /** Rows used, and the metric reached where the strategy optimises one. */
  n: z.number().int().nonnegative(),
  achieved: z.record(z.string(), z.number()).optional(),
});
export type Threshold = z.infer<typeof ThresholdSchema>;

/**
 * Chooses a threshold on the scores of one split. Labels (0 normal, 1 anomalous) are required
 * by "target-fpr" (only normal rows are used; without labels every row is taken as normal),
 * "max-f1" and "midpoint".
 */
export function fitThreshold(
  strategyInput: ThresholdStrategy,
  scores: ArrayLike<number>,
  options: { labels?: ArrayLike<number>; split: FitSplit | 'test' },
): Threshold {
  const strategy = parseWith(ThresholdStrategySchema, strategyInput, 'threshold');
  const { labels, split } = options;
  if (split === 'test') {
    throw new ValidationError(
      'threshold.split',
      'train, validation or calibration: a threshold chosen on the test split makes the test score meaningless',
      split,
    );
  }
  assertFiniteScores(scores);
  if (labels) {
    assertSameLength(scores, labels, ['scores', 'labels']);
    assertBinaryLabels(labels, 'labels');
  }
  const base = { strategy, split, n: scores.length };
  switch (strategy.strategy) {
    case 'fixed':
      return { ...base, value: strategy.value, split: 'none', n: 0 };
    case 'contamination':
      if (scores.length === 0) throw new ValidationError('scores', 'at least one score', 0);
      return { ...base, value: quantile(scores, 1 - strategy.contamination) };
    case 'target-fpr': {
      const normal = labels ? Array.from(scores).filter((_, i) => labels[i] === 0) : Array.from(scores);
      if (normal.length === 0)
        throw new ValidationError('labels', 'at least one normal row (label 0) for target-fpr', 0);
      const s = sortedCopy(normal);
      const allowed = Math.floor(strategy.fpr * s.length + 1e-9);
      const value = s[s.length - 1 - allowed]!;
      const achieved = normal.filter((v) => v > value).length / normal.length;
      return { ...base, n: normal.length, value, achieved: { fpr: achieved } };
    }
    case 'max-f1':
      return { ...base, ...maxF1Threshold(scores, requireLabels(labels, 'max-f1')) };
    case 'midpoint': {
      const y = requireLabels(labels, 'midpoint');
      let s0 = 0;
      let n0 = 0;
      let s1 = 0;
      let n1 = 0;
      for (let i = 0; i < scores.length; i++) {
        if (y[i] === 1) {
          s1 += scores[i]!;
          n1++;
        } else {
          s0 += scores[i]!;
          n0++;
        }
      }
      if (!n0 || !n1)
        throw new ValidationError(
          'labels',
          'both normal (0) and anomalous (1) rows for midpoint',
          `${n0} normal, ${n1} anomalous`,
        );
      return { ...base, value: (s0 / n0 + s1 / n1) / 2 };
    }
  }
}

/**
 * The one place a default threshold is decided: the threshold a detector holds right after fit
 * (and after fine-tuning), before anyone chooses one on a validation or calibration split.
 * - `contamination` a fraction: the (1 − contamination) quantile of the training scores
 *   (split "train"), scikit-learn's `offset_`;
 * - `contamination` "auto" or absent, and the model has a native cut-off (Isolation Forest 0.5,
 *   LOF 1.5, one-class SVM 0, a classifier's probability threshold): that fixed value;
 * - otherwise none (null): choose one with `fitThreshold` on a labelled split.
 * `trainingScores` is only called when the training scores are needed.
 */
export async function defaultThreshold(
  contamination: Contamination | undefined,
  nativeCutoff: number | undefined,
  trainingScores: () => ArrayLike<number> | Promise<ArrayLike<number>>,
): Promise<Threshold | null> {
  if (typeof contamination === 'number') {
    return fitThreshold({ strategy: 'contamination', contamination }, await trainingScores(), {
      split: 'train',
    });
  }
  if (nativeCutoff !== undefined) {
    return fitThreshold({ strategy: 'fixed', value: nativeCutoff }, [], { split: 'none' });
  }
  return null;
}

function requireLabels(labels: ArrayLike<number> | undefined, strategy: string): ArrayLike<number> {
  if (!labels) throw new ValidationError('labels', `0/1 labels for the ${strategy} strategy`);
  return labels;
}

function maxF1Threshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { value: number; achieved: Record<string, number> } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let P = 0;
  for (let i = 0; i < n; i++) P += labels[i]!;
  if (P === 0) throw new ValidationError('labels', 'at least one anomalous row (label 1) for max-f1', 0);
  let best = { f1: -1, value: Number.POSITIVE_INFINITY, precision: 0, recall: 0 };
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (labels[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    const precision = tp / (tp + fp);
    const recall = tp / P;
    const f1 = (2 * precision * recall) / (precision + recall || 1);
    if (f1 > best.f1) {
      // Everything scoring ≥ scores[i] is flagged: put the threshold between it and the next lower score.
      const value =
        next === undefined
          ? scores[i]! - 1e-12 * Math.max(1, Math.abs(scores[i]!))
          : (scores[i]! + scores[next]!) / 2;
      best = { f1, value, precision, recall };
    }
  }
  return { value: best.value, achieved: { f1: best.f1, precision: best.precision, recall: best.recall } };
}
