import { describe, expect, it } from 'vitest';
import { senSlope } from './sen-slope';

describe('senSlope', () => {
  it('recovers an exact line and brackets it', () => {
    const y = Array.from({ length: 20 }, (_, i) => 3 + 0.25 * i);
    const r = senSlope(y);
    expect(r).toMatchObject({
      status: 'ok',
      slope: 0.25,
      intercept: 3,
      lower: 0.25,
      upper: 0.25,
      pairs: 190,
    });
  });

  it('ignores one wild value that would drag a least-squares line', () => {
    const y = Array.from({ length: 15 }, (_, i) => 0.5 * i);
    y[14] = 500;
    const r = senSlope(y);
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.slope).toBe(0.5);
    expect(r.lower).toBeLessThanOrEqual(0.5);
    expect(r.upper).toBeGreaterThanOrEqual(0.5);
  });

  it('uses the given times, skipping pairs at the same time', () => {
    const r = senSlope([1, 2, 5, 6], {}, [0, 0, 2, 2]);
    // Pairs with distinct times: (1→5)/2, (1→6)/2, (2→5)/2, (2→6)/2 → median 2.
    expect(r).toMatchObject({ status: 'ok', slope: 2, pairs: 4 });
    expect(senSlope([1, 2], {}, [3, 3])).toMatchObject({ status: 'insufficient-data', required: 1 });
  });

  it('reports too few points, a constant series and bad inputs explicitly', () => {
    expect(senSlope([4])).toEqual({
      status: 'insufficient-data',
      n: 1,
      required: 2,
      reason: 'insufficient data: need ≥ 2 values, got 1',
    });
    expect(senSlope([2, 2, 2, 2])).toMatchObject({
      status: 'ok',
      slope: 0,
      intercept: 2,
      lower: 0,
      upper: 0,
    });
    expect(() => senSlope([1, 2, 3], {}, [0, 1])).toThrow(/times: expected 3 times, one per value/);
    expect(() => senSlope([1, 2, 3], { confidence: 95 })).toThrow(
      /senSlope\.confidence: expected a number < 1/,
    );
  });
});
