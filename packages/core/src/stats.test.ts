import { describe, expect, it } from 'vitest';
import { digitize, mean, median, quantile, std } from './stats';

describe('stats', () => {
  it('quantile matches numpy linear interpolation', () => {
    // numpy.percentile([1, 2, 3, 4, 10], [0, 25, 50, 90, 100]) → [1, 2, 3, 7.6, 10]
    const v = [4, 1, 10, 3, 2];
    expect([0, 0.25, 0.5, 0.9, 1].map((q) => quantile(v, q))).toEqual([1, 2, 3, 7.6000000000000005, 10]);
    expect(median([5])).toBe(5);
    expect(() => quantile([], 0.5)).toThrow();
    expect(() => quantile([1], 1.5)).toThrow();
  });
  it('mean, std and digitize', () => {
    expect(mean([1, 2, 3])).toBe(2);
    expect(std([1, 2, 3, 4])).toBeCloseTo(1.118033988749895, 12);
    expect(std([1, 2, 3, 4], 1)).toBeCloseTo(1.2909944487358056, 12);
    // numpy.digitize([0.1, 0.4, 1.0, 2.9, 3.0], [0.4, 1.0, 1.8, 2.5]) → [0, 1, 2, 4, 4]
    expect(Array.from(digitize([0.1, 0.4, 1.0, 2.9, 3.0], [0.4, 1.0, 1.8, 2.5]))).toEqual([0, 1, 2, 4, 4]);
  });
});
