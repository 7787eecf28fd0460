import { readFileSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { binomialTest, poissonRateTest } from './rate-tests';

/** SciPy 1.10 `binomtest` p-values from scripts/rate-reference.py. */
const reference = JSON.parse(
  readFileSync(new URL('../fixtures/rate-reference.json', import.meta.url), 'utf8'),
) as {
  binomial: { successes: number; trials: number; probability: number; greater: number; less: number }[];
  poisson: {
    count: number;
    exposure: number;
    otherCount: number;
    otherExposure: number;
    greater: number;
    less: number;
  }[];
};

const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(
    1e-12 * Math.max(1e-300, Math.abs(expected)) + 1e-300,
  );

describe('binomialTest against SciPy', () => {
  for (const c of reference.binomial) {
    it(`${c.successes} of ${c.trials} at p = ${c.probability}`, () => {
      for (const alternative of ['greater', 'less'] as const) {
        const r = binomialTest(c.successes, c.trials, c.probability, { alternative });
        close(r.pValue, c[alternative]);
      }
    });
  }

  it('keeps tiny upper tails (no 1 − cdf cancellation)', () => {
    expect(binomialTest(8, 8, 0.05).pValue).toBeCloseTo(0.05 ** 8, 20);
    expect(binomialTest(8, 8, 0.05).pValue).toBeGreaterThan(0);
  });

  it('refuses impossible counts, naming the field', () => {
    expect(() => binomialTest(5, 4, 0.5)).toThrow(ValidationError);
    expect(() => binomialTest(5, 4, 0.5)).toThrow(/binomialTest\.successes/);
    expect(() => binomialTest(1.5, 4, 0.5)).toThrow(/successes/);
    expect(() => binomialTest(1, 4, 1.5)).toThrow(/probability/);
  });
});

describe('poissonRateTest against SciPy (conditional binomial test)', () => {
  for (const c of reference.poisson) {
    it(`${c.count}/${c.exposure} vs ${c.otherCount}/${c.otherExposure}`, () => {
      for (const alternative of ['greater', 'less'] as const) {
        const r = poissonRateTest(c.count, c.exposure, c.otherCount, c.otherExposure, { alternative });
        close(r.pValue, c[alternative]);
      }
    });
  }

  it('reports the rates, their ratio and the count expected at the pooled rate', () => {
    const r = poissonRateTest(4, 50, 12, 400);
    expect(r.rate).toBe(0.08);
    expect(r.otherRate).toBe(0.03);
    expect(r.rateRatio).toBeCloseTo(8 / 3, 12);
    expect(r.expected).toBeCloseTo((16 * 50) / 450, 12);
  });

  it('refuses a zero exposure', () => {
    expect(() => poissonRateTest(1, 0, 1, 10)).toThrow(/poissonRateTest\.exposure/);
  });
});
