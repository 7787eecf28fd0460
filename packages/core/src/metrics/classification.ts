import { ValidationError } from '../errors';
import { assertBinaryLabels, assertFiniteScores, assertSameLength } from './validate';

/** Predicted label 1 exactly when the score is strictly above the threshold (scikit-learn's convention for outliers). */
export function predictAtThreshold(scores: ArrayLike<number>, threshold: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i]! > threshold ? 1 : 0;
  return out;
}

export interface BinaryCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function binaryCounts(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): BinaryCounts {
  assertSameLength(yTrue, yPred, ['yTrue', 'yPred']);
  assertBinaryLabels(yTrue, 'yTrue');
  assertBinaryLabels(yPred, 'yPred');
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    if (yPred[i] === 1) yTrue[i] === 1 ? c.tp++ : c.fp++;
    else yTrue[i] === 1 ? c.fn++ : c.tn++;
  }
  return c;
}

export interface BinaryMetrics extends BinaryCounts {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** False-positive rate fp / (fp + tn). */
  fpr: number;
}

/** Accuracy, precision, recall and F1 of the positive class; an undefined ratio (0/0) is 0, as scikit-learn's zero_division=0. */
export function binaryMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): BinaryMetrics {
  const c = binaryCounts(yTrue, yPred);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return {
    ...c,
    accuracy: ratio(c.tp + c.tn, yTrue.length),
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    fpr: ratio(c.fp, c.fp + c.tn),
  };
}

/** Binary metrics of `score > threshold`. */
export function metricsAtThreshold(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): BinaryMetrics {
  assertFiniteScores(scores);
  return binaryMetrics(yTrue, predictAtThreshold(scores, threshold));
}

export interface ConfusionMatrix {
  labels: number[];
  /** counts[i][j]: true label labels[i] predicted as labels[j]. */
  counts: number[][];
}

/** Confusion matrix over the given labels (default: every label seen, ascending), as scikit-learn's. */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: number[],
): ConfusionMatrix {
  assertSameLength(yTrue, yPred, ['yTrue', 'yPred']);
  const ls = labels ?? [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((a, b) => a - b);
  const index = new Map(ls.map((l, i) => [l, i]));
  const counts = ls.map(() => ls.map(() => 0));
  for (let i = 0; i < yTrue.length; i++) {
    const a = index.get(yTrue[i]!);
    const b = index.get(yPred[i]!);
    if (a === undefined || b === undefined) continue;
    counts[a]![b]!++;
  }
  return { labels: ls, counts };
}

export interface ClassReportRow {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  classes: Record<string, ClassReportRow>;
  accuracy: number;
  macroAvg: ClassReportRow;
  weightedAvg: ClassReportRow;
  /** The same report as scikit-learn's `classification_report` text. */
  text: string;
}

/** Per-class precision / recall / F1 / support with macro and weighted averages. */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  options: { labels?: number[]; targetNames?: string[]; digits?: number } = {},
): ClassificationReport {
  const cm = confusionMatrix(yTrue, yPred, options.labels);
  const names = options.targetNames ?? cm.labels.map(String);
  if (names.length !== cm.labels.length) {
    throw new ValidationError(
      'targetNames.length',
      `the number of labels (${cm.labels.length})`,
      names.length,
    );
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const rows: ClassReportRow[] = cm.labels.map((_, i) => {
    const tp = cm.counts[i]![i]!;
    const support = cm.counts[i]!.reduce((a, b) => a + b, 0);
    const predicted = cm.counts.reduce((a, r) => a + r[i]!, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const total = rows.reduce((a, r) => a + r.support, 0);
  const correct = cm.labels.reduce((a, _, i) => a + cm.counts[i]![i]!, 0);
  const avg = (w: (r: ClassReportRow) => number): ClassReportRow => {
    const W = rows.reduce((a, r) => a + w(r), 0);
    const f = (k: 'precision' | 'recall' | 'f1') =>
      ratio(
        rows.reduce((a, r) => a + w(r) * r[k], 0),
        W,
      );
    return { precision: f('precision'), recall: f('recall'), f1: f('f1'), support: total };
  };
  const classes: Record<string, ClassReportRow> = {};
  names.forEach((n, i) => {
    classes[n] = rows[i]!;
  });
  const report = {
    classes,
    accuracy: ratio(correct, total),
    macroAvg: avg(() => 1),
    weightedAvg: avg((r) => r.support),
  };
  return { ...report, text: formatReport(report, options.digits ?? 2) };
}

function formatReport(r: Omit<ClassificationReport, 'text'>, digits: number): string {
  // Same layout as scikit-learn: '{:>{width}s} ' then ' {:>9}' per column.
  const names = [...Object.keys(r.classes), 'weighted avg'];
  const width = Math.max(...names.map((n) => n.length), digits);
  const cells = (values: string[]) => values.map((v) => ` ${v.padStart(9)}`).join('');
  const fmt = (v: number) => v.toFixed(digits);
  const line = (name: string, row: ClassReportRow) =>
    `${name.padStart(width)} ${cells([fmt(row.precision), fmt(row.recall), fmt(row.f1), String(row.support)])}`;
  const out = [`${''.padStart(width)} ${cells(['precision', 'recall', 'f1-score', 'support'])}`, ''];
  for (const [name, row] of Object.entries(r.classes)) out.push(line(name, row));
  out.push('');
  out.push(`${'accuracy'.padStart(width)} ${cells(['', '', fmt(r.accuracy), String(r.macroAvg.support)])}`);
  out.push(line('macro avg', r.macroAvg));
  out.push(line('weighted avg', r.weightedAvg));
  return `${out.join('\n')}\n`;
}
