import { ValidationError } from '../errors';
import { assertBinaryLabels, assertSameLength } from './validate';

function assertProbabilities(p: ArrayLike<number>, name = 'probabilities'): void {
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (!(v >= 0 && v <= 1)) throw new ValidationError(`${name}[${i}]`, 'a probability in [0, 1]', v);
  }
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted value (probability of class 1, or confidence) in the bin. */
  meanPredicted: number;
  /** Observed frequency of class 1 (or accuracy, in confidence mode) in the bin. */
  observed: number;
}

export interface EceResult {
  ece: number;
  bins: CalibrationBin[];
}

/**
 * Expected calibration error with equal-width bins over [0, 1] (10 by default):
 * ECE = Σ_b |B_b|/n · |observed_b − meanPredicted_b|. A value equal to a bin's upper edge goes
 * to that bin (1.0 lands in the last bin).
 *
 * mode "confidence" (default; Guo et al., 2017): bins on max(p, 1 − p) and compares with the
 * accuracy of the predicted label at 0.5. mode "probability": bins on p(class 1) and compares
 * with the frequency of class 1 (a reliability diagram).
 */
export function expectedCalibrationError(
  probabilities: ArrayLike<number>,
  yTrue: ArrayLike<number>,
  options: { bins?: number; mode?: 'confidence' | 'probability' } = {},
): EceResult {
  assertSameLength(probabilities, yTrue, ['probabilities', 'yTrue']);
  assertProbabilities(probabilities);
  assertBinaryLabels(yTrue);
  const nb = options.bins ?? 10;
  if (!Number.isInteger(nb) || nb < 1) throw new ValidationError('bins', 'a positive integer', nb);
  const mode = options.mode ?? 'confidence';
  const count = new Float64Array(nb);
  const sumPred = new Float64Array(nb);
  const sumObs = new Float64Array(nb);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    const y = yTrue[i]!;
    const pred = mode === 'confidence' ? Math.max(p, 1 - p) : p;
    const obs = mode === 'confidence' ? Number((p >= 0.5 ? 1 : 0) === y) : y;
    let b = Math.min(nb - 1, Math.max(0, Math.ceil(pred * nb) - 1));
    if (b > 0 && pred <= b / nb) b--; // 0.3 * 10 is 3.0000000000000004 in floating point
    count[b]!++;
    sumPred[b]! += pred;
    sumObs[b]! += obs;
  }
  const n = probabilities.length;
  let ece = 0;
  const bins: CalibrationBin[] = [];
  for (let b = 0; b < nb; b++) {
    const c = count[b]!;
    const mp = c ? sumPred[b]! / c : 0;
    const ob = c ? sumObs[b]! / c : 0;
    if (c) ece += (c / n) * Math.abs(ob - mp);
    bins.push({ lower: b / nb, upper: (b + 1) / nb, count: c, meanPredicted: mp, observed: ob });
  }
  return { ece, bins };
}

/** Brier score: mean squared difference between p(class 1) and the 0/1 label. */
export function brierScore(probabilities: ArrayLike<number>, yTrue: ArrayLike<number>): number {
  assertSameLength(probabilities, yTrue, ['probabilities', 'yTrue']);
  assertProbabilities(probabilities);
  assertBinaryLabels(yTrue);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (probabilities[i]! - yTrue[i]!) ** 2;
  return s / yTrue.length;
}
