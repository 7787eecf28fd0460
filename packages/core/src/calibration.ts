import { z } from 'zod';
import { ValidationError } from './errors';
import { assertBinaryLabels, assertFiniteScores, assertSameLength } from './metrics/validate';
import { parseWith } from './validation';

export const CalibratorStateSchema = z.discriminatedUnion('method', [
  /** p = 1 / (1 + exp(a·score + b)). */
  z.object({ method: z.literal('platt'), a: z.number(), b: z.number() }),
  /** Non-decreasing step knots; predictions interpolate linearly between knots and clip outside. */
  z.object({ method: z.literal('isotonic'), x: z.array(z.number()), y: z.array(z.number().min(0).max(1)) }),
]);
export type CalibratorState = z.infer<typeof CalibratorStateSchema>;
export type CalibrationMethod = CalibratorState['method'];

/** Maps anomaly scores to calibrated probabilities of being anomalous. */
export class Calibrator {
  private constructor(private readonly state: CalibratorState) {}

  get method(): CalibrationMethod {
    return this.state.method;
  }

  /**
   * Fits on a held-out split (validation or calibration): never on the data the detector was
   * trained on, or probabilities come out over-confident.
   */
  static fit(method: CalibrationMethod, scores: ArrayLike<number>, labels: ArrayLike<number>): Calibrator {
    assertSameLength(scores, labels, ['scores', 'labels']);
    assertFiniteScores(scores);
    assertBinaryLabels(labels, 'labels', true);
    if (method === 'platt') return new Calibrator({ method, ...fitPlatt(scores, labels) });
    if (method === 'isotonic') return new Calibrator({ method, ...fitIsotonic(scores, labels) });
    throw new ValidationError('calibration.method', '"platt" or "isotonic"', method);
  }

  static fromJSON(json: unknown): Calibrator {
    const s = parseWith(CalibratorStateSchema, json, 'calibrator');
    if (s.method === 'isotonic' && (s.x.length !== s.y.length || s.x.length === 0)) {
      throw new ValidationError(
        'calibrator.y',
        `as many knots as calibrator.x (${s.x.length}), at least one`,
        s.y.length,
      );
    }
    return new Calibrator(s);
  }

  toJSON(): CalibratorState {
    return structuredClone(this.state);
  }

  predict(scores: ArrayLike<number>): Float64Array {
    const out = new Float64Array(scores.length);
    const s = this.state;
    if (s.method === 'platt') {
      for (let i = 0; i < scores.length; i++) out[i] = sigmoidOfNeg(s.a * scores[i]! + s.b);
      return out;
    }
    const { x, y } = s;
    for (let i = 0; i < scores.length; i++) out[i] = interpolate(x, y, scores[i]!);
    return out;
  }
}

/** 1 / (1 + exp(f)) without overflow. */
function sigmoidOfNeg(f: number): number {
  return f >= 0 ? Math.exp(-f) / (1 + Math.exp(-f)) : 1 / (1 + Math.exp(f));
}

/**
 * Platt scaling with the regularised targets and the Newton method with backtracking line search
 * of Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for support vector machines".
 */
function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): { a: number; b: number } {
  const n = scores.length;
  let prior1 = 0;
  for (let i = 0; i < n; i++) prior1 += labels[i]!;
  const prior0 = n - prior1;
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = labels[i] === 1 ? hiTarget : loTarget;
  const sigma = 1e-12;
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  const objective = (A: number, B: number) => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const fApB = scores[i]! * A + B;
      f +=
        fApB >= 0
          ? t[i]! * fApB + Math.log1p(Math.exp(-fApB))
          : (t[i]! - 1) * fApB + Math.log1p(Math.exp(fApB));
    }
    return f;
  };
  let fval = objective(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const fApB = scores[i]! * a + b;
      const p = fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
      const q = 1 - p;
      const d2 = p * q;
      const d1 = t[i]! - p;
      const s = scores[i]!;
      h11 += s * s * d2;
      h22 += d2;
      h21 += s * d2;
      g1 += s * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < 1e-5 && Math.abs(g2) < 1e-5) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= 1e-10) {
      const na = a + step * dA;
      const nb = b + step * dB;
      const nf = objective(na, nb);
      if (nf < fval + 1e-4 * step * gd) {
        a = na;
        b = nb;
        fval = nf;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) break;
  }
  return { a, b };
}

/** Pool-adjacent-violators on scores sorted ascending; ties in score are pooled first. */
function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): { x: number[]; y: number[] } {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((p, q) => scores[p]! - scores[q]!);
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const s = scores[i]!;
    if (xs.length && xs[xs.length - 1] === s) {
      sums[sums.length - 1]! += labels[i]!;
      weights[weights.length - 1]!++;
    } else {
      xs.push(s);
      sums.push(labels[i]!);
      weights.push(1);
    }
  }
  // Blocks: [start index, sum, weight]; merge while a block's mean exceeds the next block's.
  const blocks: Array<[number, number, number]> = [];
  xs.forEach((_, k) => {
    blocks.push([k, sums[k]!, weights[k]!]);
    while (blocks.length > 1) {
      const [, s2, w2] = blocks[blocks.length - 1]!;
      const [st1, s1, w1] = blocks[blocks.length - 2]!;
      if (s1 / w1 <= s2 / w2) break;
      blocks.splice(blocks.length - 2, 2, [st1, s1 + s2, w1 + w2]);
    }
  });
  const fittedY = new Float64Array(xs.length);
  blocks.forEach(([start, s, w], bi) => {
    const end = blocks[bi + 1]?.[0] ?? xs.length;
    for (let k = start; k < end; k++) fittedY[k] = s / w;
  });
  // Keep only the knots where the value changes (both ends of each flat run) to stay compact.
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < xs.length; k++) {
    const prev = fittedY[k - 1];
    const next = fittedY[k + 1];
    if (k === 0 || k === xs.length - 1 || prev !== fittedY[k] || next !== fittedY[k]) {
      x.push(xs[k]!);
      y.push(fittedY[k]!);
    }
  }
  return { x, y };
}

function interpolate(x: readonly number[], y: readonly number[], v: number): number {
  if (v <= x[0]!) return y[0]!;
  const last = x.length - 1;
  if (v >= x[last]!) return y[last]!;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= v) lo = mid;
    else hi = mid;
  }
  const t = (v - x[lo]!) / (x[hi]! - x[lo]!);
  return y[lo]! + t * (y[hi]! - y[lo]!);
}
