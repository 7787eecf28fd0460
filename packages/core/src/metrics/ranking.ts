import { assertBinaryLabels, assertFiniteScores, assertSameLength } from './validate';

/**
 * Cumulative true / false positives at each distinct score, from the highest score down
 * (scikit-learn's `_binary_clf_curve`): tied scores enter together, which is what makes
 * ROC-AUC average over ties.
 */
export function binaryClfCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>) {
  assertSameLength(yTrue, scores, ['yTrue', 'scores']);
  assertBinaryLabels(yTrue);
  assertFiniteScores(scores);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (yTrue[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(scores[i]!);
    }
  }
  return { tps, fps, thresholds };
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score thresholds; point k is "predict positive when score ≥ thresholds[k]". The first is +Infinity. */
  thresholds: number[];
}

/** ROC curve with every distinct threshold (scikit-learn's `roc_curve` with drop_intermediate = false). */
export function rocCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  assertBinaryLabels(yTrue, 'yTrue', true);
  const { tps, fps, thresholds } = binaryClfCurve(yTrue, scores);
  const P = tps[tps.length - 1]!;
  const N = fps[fps.length - 1]!;
  return {
    fpr: [0, ...fps.map((f) => f / N)],
    tpr: [0, ...tps.map((t) => t / P)],
    thresholds: [Number.POSITIVE_INFINITY, ...thresholds],
  };
}

/** Area under the ROC curve by the trapezoidal rule over distinct thresholds: ties count one half, as in scikit-learn. */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { fpr, tpr } = rocCurve(yTrue, scores);
  let area = 0;
  for (let k = 1; k < fpr.length; k++) area += ((fpr[k]! - fpr[k - 1]!) * (tpr[k]! + tpr[k - 1]!)) / 2;
  return area;
}

export interface PrCurve {
  /** Ordered by increasing threshold, ending with precision 1 at recall 0 (as scikit-learn). */
  precision: number[];
  recall: number[];
  thresholds: number[];
}

/** Precision–recall curve (scikit-learn's `precision_recall_curve`, drop_intermediate = false). */
export function prCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>): PrCurve {
  assertBinaryLabels(yTrue, 'yTrue');
  const { tps, fps, thresholds } = binaryClfCurve(yTrue, scores);
  const P = tps[tps.length - 1]!;
  const precision = tps.map((t, k) => t / (t + fps[k]!));
  const recall = tps.map((t) => (P === 0 ? 1 : t / P));
  // scikit-learn stops once full recall is reached and reverses to increasing thresholds.
  let last = tps.indexOf(P);
  if (last < 0) last = tps.length - 1;
  return {
    precision: [...precision.slice(0, last + 1).reverse(), 1],
    recall: [...recall.slice(0, last + 1).reverse(), 0],
    thresholds: thresholds.slice(0, last + 1).reverse(),
  };
}

/**
 * Average precision, Σ (R_k − R_{k−1}) · P_k over distinct thresholds, without interpolation
 * (scikit-learn's `average_precision_score`).
 */
export function averagePrecision(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  assertBinaryLabels(yTrue, 'yTrue', true);
  const { precision, recall } = prCurve(yTrue, scores);
  let ap = 0;
  for (let k = 0; k < precision.length - 1; k++) ap += (recall[k]! - recall[k + 1]!) * precision[k]!;
  return ap;
}
