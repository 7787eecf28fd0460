import { describe, expect, it } from 'vitest';
import { estimateBaseline } from './baseline';

describe('estimateBaseline', () => {
  it('estimates σ from the mean moving range or the sample standard deviation', () => {
    const x = [10, 12, 11, 13, 12];
    // Moving ranges 2, 1, 2, 1 → mean 1.5 → σ = 1.5 / 1.128.
    expect(estimateBaseline(x)).toMatchObject({ status: 'ok', n: 5, mean: 11.6, method: 'moving-range' });
    const mr = estimateBaseline(x);
    expect(mr.status === 'ok' && mr.sigma).toBeCloseTo(1.5 / 1.128, 12);
    const sd = estimateBaseline(x, { method: 'sample-sd' });
    expect(sd.status === 'ok' && sd.sigma).toBeCloseTo(Math.sqrt(1.3), 12);
  });

  it('uses only the leading values and is less inflated by a drift than the sample SD', () => {
    const drift = Array.from({ length: 30 }, (_, i) => 100 + 0.5 * i + (i % 2 ? 0.3 : -0.3));
    const mr = estimateBaseline(drift, { count: 30 });
    const sd = estimateBaseline(drift, { count: 30, method: 'sample-sd' });
    if (mr.status !== 'ok' || sd.status !== 'ok') throw new Error('insufficient');
    expect(mr.sigma).toBeLessThan(sd.sigma / 3);
    const head = estimateBaseline(drift, { count: 5 });
    expect(head.status === 'ok' && [head.n, head.mean]).toEqual([
      5,
      (99.7 + 100.8 + 100.7 + 101.8 + 101.7) / 5,
    ]);
  });

  it('needs two values and says so', () => {
    expect(estimateBaseline([4])).toMatchObject({ status: 'insufficient-data', required: 2 });
    expect(estimateBaseline([1, 2, 3], { count: 10 })).toMatchObject({
      status: 'insufficient-data',
      n: 3,
      required: 10,
    });
    expect(() => estimateBaseline([1, 2], { count: 1 })).toThrow(/baseline\.count: expected a number ≥ 2/);
  });
});
