import { describe, expect, it } from 'vitest';
import { runsDistribution, runsTest } from './runs-test';

describe('runsTest', () => {
  it('finds too few runs in a drifting series and too many in an alternating one', () => {
    const drift = Array.from({ length: 30 }, (_, i) => i + 3 * Math.sin(i));
    const alternating = Array.from({ length: 30 }, (_, i) => (i % 2 ? 1 : -1) * (1 + i / 100));
    const d = runsTest(drift, { alternative: 'less' });
    const a = runsTest(alternating, { alternative: 'greater' });
    expect(d.status === 'ok' && d.runs < d.expectedRuns && d.pValue < 0.001).toBe(true);
    expect(a.status === 'ok' && a.runs === 30 && a.pValue < 0.001).toBe(true);
  });

  it('drops values equal to the median by default, or counts them above', () => {
    const x = [1, 2, 2, 3, 2, 4, 0];
    const drop = runsTest(x);
    const above = runsTest(x, { ties: 'above' });
    expect(drop).toMatchObject({ status: 'ok', cutoff: 2, dropped: 3, nAbove: 2, nBelow: 2, n: 4 });
    expect(above).toMatchObject({ status: 'ok', dropped: 0, nAbove: 5, nBelow: 2, n: 7 });
  });

  it('applies the continuity correction below 50 values and not above', () => {
    const small = runsTest(Array.from({ length: 20 }, (_, i) => Math.sin(i * 2.3)));
    const large = runsTest(Array.from({ length: 60 }, (_, i) => Math.sin(i * 2.3)));
    expect(small.status === 'ok' && small.continuityCorrection).toBe(true);
    expect(large.status === 'ok' && large.continuityCorrection).toBe(false);
  });

  it('gives z = 0 (p = 1) when R is within ½ of its expectation under the correction', () => {
    // + + − − + − − − + about 0: n₁ = 4, n₂ = 5, E[R] = 49/9 ≈ 5.44, R = 5. statsmodels would
    // shift R − E[R] = −0.44 by +½ and report z > 0; the correction only ever moves toward 0.
    const r = runsTest([1, 2, -1, -2, 3, -3, -4, -5, 4], { cutoff: 0 });
    expect(r).toMatchObject({ status: 'ok', runs: 5, nAbove: 4, nBelow: 5, statistic: 0, pValue: 1 });
    expect(r.status === 'ok' && r.expectedRuns).toBeCloseTo(49 / 9, 12);
  });

  it('says why a constant or one-sided series cannot be tested', () => {
    expect(runsTest([3, 3, 3, 3, 3])).toEqual({
      status: 'insufficient-data',
      n: 0,
      required: 3,
      reason: 'insufficient data: need ≥ 3 values different from the cutoff (every value equals it), got 0',
    });
    expect(runsTest([1, 2, 3, 4], { cutoff: 0 })).toMatchObject({ status: 'insufficient-data', n: 4 });
    expect(runsTest([1, 2])).toMatchObject({ status: 'insufficient-data', n: 2 });
    expect(() => runsTest([1, Number.NaN, 3])).toThrow(/values\[1\]/);
  });
});

describe('runsDistribution', () => {
  it('is a probability distribution with the textbook mean and variance', () => {
    for (const [n1, n2] of [
      [5, 5],
      [3, 12],
      [40, 60],
    ] as const) {
      const p = runsDistribution(n1, n2);
      const n = n1 + n2;
      let total = 0;
      let mean = 0;
      let second = 0;
      p.forEach((v, r) => {
        total += v;
        mean += r * v;
        second += r * r * v;
      });
      expect(total).toBeCloseTo(1, 12);
      expect(mean).toBeCloseTo((2 * n1 * n2) / n + 1, 9);
      expect(second - mean * mean).toBeCloseTo((2 * n1 * n2 * (2 * n1 * n2 - n)) / (n * n * (n - 1)), 9);
    }
  });
});
