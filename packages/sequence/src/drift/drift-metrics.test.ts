import { describe, expect, it } from 'vitest';
import {
  binOf,
  driftMetrics,
  histogram,
  jensenShannonDistance,
  klDivergence,
  populationStabilityIndex,
} from './drift-metrics';

describe('drift metrics', () => {
  it('bins risk scores into 10 bins on [0, 1], 1.0 in the last', () => {
    expect([0, 0.05, 0.1, 0.55, 0.99, 1].map((s) => binOf(s))).toEqual([0, 0, 1, 5, 9, 9]);
    expect(Array.from(histogram([0.1, 0.15, 0.9]))).toEqual([0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(() => histogram([0.5, 1.5])).toThrow(/scores\[1\]/);
  });

  it('PSI, KL and JS match hand computations', () => {
    const b = [0.5, 0.5];
    const c = [0.9, 0.1];
    expect(populationStabilityIndex(b, c)).toBeCloseTo(0.4 * Math.log(1.8) - 0.4 * Math.log(0.2), 12);
    expect(klDivergence(c, b)).toBeCloseTo(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2), 12);
    const m = [0.7, 0.3];
    const js = Math.sqrt(0.5 * klDivergence(c, m) + 0.5 * klDivergence(b, m));
    expect(jensenShannonDistance(b, c)).toBeCloseTo(js, 12);
  });

  it('identical histograms do not drift; disjoint ones drift on every measure', () => {
    const same = driftMetrics([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], [10, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Not exactly 0: ε smoothing weighs differently on 10 and 20 counts.
    expect(same.psi).toBeCloseTo(0, 5);
    expect(same.kl).toBeCloseTo(0, 5);
    expect(same.js).toBeLessThan(1e-3); // a square root magnifies the ε difference
    const apart = driftMetrics([10, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    expect(apart.psi).toBeGreaterThan(10);
    expect(apart.kl).toBeGreaterThan(10);
    expect(apart.js).toBeCloseTo(Math.sqrt(Math.log(2)), 4);
  });
});
