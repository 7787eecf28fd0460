import { describe, expect, it } from 'vitest';
import { SeverityValidationError } from './errors';
import { allocateLargestRemainder, DEFAULT_SAMPLING_MIX, STRATA, samplingPlan } from './sampling';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('samplingPlan', () => {
  it('reproduces the seed distribution for N = 2000', () => {
    expect(samplingPlan(2000)).toEqual({
      normal: 1000,
      low: 300,
      medium: 300,
      high: 200,
      critical_accidental: 100,
      critical_malicious: 100,
    });
  });

  it('sums exactly to N for every N from 0 to 1000 and some large ones', () => {
    for (const n of [...Array.from({ length: 1001 }, (_, i) => i), 9_999, 123_457, 1_000_003]) {
      const plan = samplingPlan(n);
      expect(sum(Object.values(plan))).toBe(n);
      for (const s of STRATA) {
        const quota = n * DEFAULT_SAMPLING_MIX[s];
        expect(Math.abs(plan[s] - quota)).toBeLessThan(1); // largest remainder stays within 1 of the quota
      }
    }
  });

  it('handles small N deterministically (ties go to the earlier stratum)', () => {
    expect(samplingPlan(1)).toEqual({
      normal: 1,
      low: 0,
      medium: 0,
      high: 0,
      critical_accidental: 0,
      critical_malicious: 0,
    });
    expect(samplingPlan(7)).toEqual({
      normal: 4,
      low: 1,
      medium: 1,
      high: 1,
      critical_accidental: 0,
      critical_malicious: 0,
    });
  });

  it('normalises a custom mix and treats missing strata as 0', () => {
    expect(samplingPlan(10, { normal: 1, high: 1 })).toEqual({
      normal: 5,
      low: 0,
      medium: 0,
      high: 5,
      critical_accidental: 0,
      critical_malicious: 0,
    });
  });

  it('rejects bad N and bad mixes', () => {
    expect(() => samplingPlan(-1)).toThrow(/^n: /);
    expect(() => samplingPlan(2.5)).toThrow(/^n: /);
    expect(() => samplingPlan(10, { normal: -1 })).toThrow(/^mix.normal: /);
    expect(() => samplingPlan(10, { normal: 0 })).toThrow(/^mix: expected at least one positive weight/);
    expect(() => samplingPlan(10, { severe: 1 } as never)).toThrow(SeverityValidationError);
  });
});

describe('allocateLargestRemainder', () => {
  it('gives leftover units to the largest remainders', () => {
    expect(allocateLargestRemainder(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocateLargestRemainder(100, [0.29, 0.71])).toEqual([29, 71]);
    expect(allocateLargestRemainder(5, [0.1, 0.45, 0.45])).toEqual([1, 2, 2]); // quotas 0.5, 2.25, 2.25
    expect(allocateLargestRemainder(3, [0, 1])).toEqual([0, 3]);
  });

  it('never gives a unit to a zero weight, and sums to n for random weights', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 300; trial++) {
      const weights = Array.from({ length: 1 + Math.floor(next() * 8) }, () => (next() < 0.2 ? 0 : next()));
      if (sum(weights) === 0) weights[0] = 1;
      const n = Math.floor(next() * 500);
      const counts = allocateLargestRemainder(n, weights);
      expect(sum(counts)).toBe(n);
      weights.forEach((w, i) => {
        if (w === 0) expect(counts[i]).toBe(0);
      });
    }
  });

  it('rejects bad weights', () => {
    expect(() => allocateLargestRemainder(3, [])).toThrow(/^weights: /);
    expect(() => allocateLargestRemainder(3, [1, Number.NaN])).toThrow(/^weights\[1\]: /);
    expect(() => allocateLargestRemainder(3, [0, 0])).toThrow(/at least one positive weight/);
  });
});

describe('validation messages', () => {
  it("say what was expected once, not zod's message inside ours", () => {
    expect(() => samplingPlan(-3)).toThrow(/^n: expected a number ≥ 0, received -3$/);
    expect(() => samplingPlan(1.5)).toThrow(/^n: expected an integer, received 1\.5$/);
    expect(() => samplingPlan(10, { normal: 'x' } as never)).toThrow(
      /^mix\.normal: expected a number, received "x"$/,
    );
  });
});
