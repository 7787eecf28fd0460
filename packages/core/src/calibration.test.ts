import { describe, expect, it } from 'vitest';
import { Calibrator } from './calibration';
import { brierScore } from './metrics/probabilistic';
import { Rng } from './rng';

function noisyScores(n: number, seed: number) {
  const rng = new Rng(seed);
  const scores: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = rng.uniform(-4, 4);
    scores.push(s);
    // true probability is a logistic in 2·s − 1
    labels.push(rng.random() < 1 / (1 + Math.exp(-(2 * s - 1))) ? 1 : 0);
  }
  return { scores, labels };
}

describe('calibration', () => {
  it('Platt recovers the logistic slope and intercept', () => {
    const { scores, labels } = noisyScores(20_000, 1);
    const c = Calibrator.fit('platt', scores, labels);
    const s = c.toJSON() as { a: number; b: number };
    expect(s.a).toBeCloseTo(-2, 0);
    expect(s.b).toBeCloseTo(1, 0);
    expect(brierScore(c.predict(scores), labels)).toBeLessThan(0.16);
  });

  it('isotonic is monotone, within [0, 1], and follows the data', () => {
    const { scores, labels } = noisyScores(5_000, 2);
    const c = Calibrator.fit('isotonic', scores, labels);
    const grid = Array.from({ length: 81 }, (_, i) => -4 + i * 0.1);
    const p = c.predict(grid);
    for (let i = 1; i < p.length; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]!);
    expect(p[0]!).toBeLessThan(0.05);
    expect(p[80]!).toBeGreaterThan(0.95);
    expect(c.predict([-100, 100])).toEqual(Float64Array.from([p[0]!, c.predict([4])[0]!]));
  });

  it('isotonic pools violators exactly', () => {
    // PAV on labels [1, 0, 0, 1] over increasing scores pools the first three into 1/3.
    const c = Calibrator.fit('isotonic', [1, 2, 3, 4], [1, 0, 0, 1]);
    expect(Array.from(c.predict([1, 2, 3, 4]))).toEqual([1 / 3, 1 / 3, 1 / 3, 1]);
  });

  it('round-trips through JSON and rejects bad state and one-class labels', () => {
    const c = Calibrator.fit('platt', [0, 1, 2, 3], [0, 0, 1, 1]);
    expect(Calibrator.fromJSON(JSON.parse(JSON.stringify(c.toJSON()))).predict([1.5])).toEqual(
      c.predict([1.5]),
    );
    expect(() => Calibrator.fromJSON({ method: 'beta' })).toThrow(/calibrator\.method/);
    expect(() => Calibrator.fromJSON({ method: 'isotonic', x: [1, 2], y: [0.5] })).toThrow(/calibrator\.y/);
    expect(() => Calibrator.fit('platt', [0, 1], [0, 0])).toThrow(/both classes/);
  });
});
