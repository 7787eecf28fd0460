import { describe, expect, it } from 'vitest';
import {
  binaryMetrics,
  classificationReport,
  confusionMatrix,
  metricsAtThreshold,
  predictAtThreshold,
} from './classification';
import { brierScore, expectedCalibrationError } from './probabilistic';
import { averagePrecision, prCurve, rocAuc, rocCurve } from './ranking';
import { meanAbsoluteError, meanSquaredError, rootMeanSquaredError } from './regression';

// Expected values produced with scikit-learn 1.2.1 (Debian python3-sklearn) on the same vectors.
const y = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1];
const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.9, 0.05, 0.6, 0.35];
const yTies = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const sTies = [3, 1, 1, 1, 3, 3, 2, 2, 1, 1];
// numpy RandomState(0): y = randint(0, 2, 40); s = round(rand(40)·2 + 0.5·y, 1) (heavy ties)
const yR = [
  0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1,
  0, 1, 1, 0,
];
const sR = [
  2.0, 2.1, 1.4, 1.6, 0.7, 1.8, 0.8, 2.4, 1.5, 1.3, 1.0, 1.5, 0.9, 1.6, 0.0, 1.2, 1.2, 1.2, 1.9, 1.9, 0.7,
  1.4, 1.9, 0.1, 1.3, 1.8, 0.9, 0.8, 1.1, 0.7, 1.6, 0.9, 2.5, 0.2, 0.9, 0.8, 1.3, 1.0, 1.4, 0.5,
];

describe('ranking metrics equal scikit-learn to 1e-9', () => {
  it('roc_auc_score with ties averaged', () => {
    expect(Math.abs(rocAuc(y, s) - 0.7083333333333334)).toBeLessThan(1e-9);
    expect(Math.abs(rocAuc(yTies, sTies) - 0.7142857142857142)).toBeLessThan(1e-9);
    expect(Math.abs(rocAuc(yR, sR) - 0.6815856777493606)).toBeLessThan(1e-9);
  });
  it('average_precision_score', () => {
    expect(Math.abs(averagePrecision(y, s) - 0.6369047619047619)).toBeLessThan(1e-9);
    expect(Math.abs(averagePrecision(yTies, sTies) - 0.5444444444444444)).toBeLessThan(1e-9);
    expect(Math.abs(averagePrecision(yR, sR) - 0.740468617770408)).toBeLessThan(1e-9);
  });
  it('perfect, inverted and constant scorers', () => {
    expect(rocAuc([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [4, 3, 2, 1])).toBe(0);
    expect(rocAuc([0, 0, 1, 1], [1, 1, 1, 1])).toBe(0.5);
    expect(averagePrecision([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
  });
  it('curves start and end where scikit-learn puts them', () => {
    const roc = rocCurve(y, s);
    expect([roc.fpr[0], roc.tpr[0], roc.fpr.at(-1), roc.tpr.at(-1)]).toEqual([0, 0, 1, 1]);
    const pr = prCurve(y, s);
    expect([pr.precision.at(-1), pr.recall.at(-1), pr.recall[0]]).toEqual([1, 0, 1]);
    expect(pr.thresholds.length).toBe(pr.precision.length - 1);
  });
  it('rejects one-class labels, non-binary labels and NaN scores', () => {
    expect(() => rocAuc([0, 0], [1, 2])).toThrow(/both classes/);
    expect(() => rocAuc([0, 2], [1, 2])).toThrow(/yTrue\[1\]/);
    expect(() => rocAuc([0, 1], [1, Number.NaN])).toThrow(/scores\[1\]/);
    expect(() => rocAuc([0, 1], [1])).toThrow(/scores\.length/);
  });
});

describe('classification metrics', () => {
  const pred = predictAtThreshold(s, 0.35);
  it('precision / recall / F1 / accuracy at a threshold (score > threshold)', () => {
    const m = metricsAtThreshold(y, s, 0.35);
    expect(m.precision).toBeCloseTo(0.5714285714285714, 12);
    expect(m.recall).toBeCloseTo(0.6666666666666666, 12);
    expect(m.f1).toBeCloseTo(0.6153846153846153, 12);
    expect(m.accuracy).toBeCloseTo(0.5833333333333334, 12);
    expect(binaryMetrics([0, 0], [0, 0])).toMatchObject({ precision: 0, recall: 0, f1: 0, accuracy: 1 });
  });
  it('confusion matrix and classification report as scikit-learn', () => {
    expect(confusionMatrix(y, pred).counts).toEqual([
      [3, 3],
      [2, 4],
    ]);
    const r = classificationReport(y, pred);
    expect(r.classes['0']!.f1).toBeCloseTo(0.5454545454545454, 12);
    expect(r.accuracy).toBeCloseTo(0.5833333333333334, 12);
    expect(r.text).toContain('           0       0.60      0.50      0.55         6');
    expect(r.text).toContain('    accuracy                           0.58        12');
    expect(r.text).toContain('weighted avg       0.59      0.58      0.58        12');
    expect(
      classificationReport(y, pred, { targetNames: ['normal', 'anomaly'] }).classes.anomaly!.support,
    ).toBe(6);
    expect(() => classificationReport(y, pred, { targetNames: ['x'] })).toThrow(/targetNames/);
  });
});

describe('probabilistic and regression metrics', () => {
  const p = [0.1, 0.9, 0.8, 0.3, 0.55, 0.45, 0.99, 0.0, 1.0, 0.3, 0.7, 0.35];
  it('Brier score equals brier_score_loss', () => {
    expect(brierScore(p, y)).toBeCloseTo(0.2948, 12);
    expect(() => brierScore([1.2], [1])).toThrow(/probabilities\[0\]/);
  });
  it('ECE with 10 equal-width bins, in both modes', () => {
    // probability mode by hand (bins closed on the right): {0.0, 0.1} |0 − 0.05|, {0.3, 0.3} |0.5 − 0.3|,
    // {0.35} 0.65, {0.45} 0.55, {0.55} 0.55, {0.7} 0.3, {0.8} 0.2, {0.9} 0.9, {0.99, 1.0} |0.5 − 0.995|
    const r = expectedCalibrationError(p, y, { mode: 'probability' });
    expect(r.bins.map((b) => b.count)).toEqual([2, 0, 2, 1, 1, 1, 1, 1, 1, 2]);
    const byHand = (0.05 * 2 + 0.2 * 2 + 0.65 + 0.55 + 0.55 + 0.3 + 0.2 + 0.9 + 0.495 * 2) / 12;
    expect(r.ece).toBeCloseTo(byHand, 12);
    const perfect = expectedCalibrationError([0, 1, 1, 0], [0, 1, 1, 0]);
    expect(perfect.ece).toBe(0);
    // confidence mode: confidence 0.9 everywhere, accuracy 1/2 → ECE 0.4
    expect(expectedCalibrationError([0.9, 0.1, 0.9, 0.1], [1, 0, 0, 1]).ece).toBeCloseTo(0.4, 12);
  });
  it('MAE / MSE / RMSE equal scikit-learn', () => {
    const t = [0, 1, 2.5, 3];
    const q = [0.2, 0.7, 2.0, 3.1];
    expect(meanAbsoluteError(t, q)).toBeCloseTo(0.275, 12);
    expect(meanSquaredError(t, q)).toBeCloseTo(0.0975, 12);
    expect(rootMeanSquaredError(t, q)).toBeCloseTo(Math.sqrt(0.0975), 12);
  });
});
