import { describe, expect, it } from 'vitest';
import { NumpyRandomState, sampleWithoutReplacement } from './numpy-random';

/*
 * numpy 1.24.2 / scikit-learn 1.2.1 (Debian):
 *   r = np.random.RandomState(1); r.randint(0, 2**32, size=2, dtype=np.uint32); [r.randint(2147483647) for _ in range(5)]
 *   np.random.RandomState(2).permutation(10); np.random.RandomState(3).uniform(size=3)
 *   sklearn.utils.random.sample_without_replacement(n, k, random_state=np.random.RandomState(4))
 */
describe('NumpyRandomState', () => {
  it("reproduces numpy's legacy RandomState", () => {
    const r = new NumpyRandomState(1);
    expect([r.nextUint32(), r.nextUint32()]).toEqual([1791095845, 4282876139]);
    expect(Array.from({ length: 5 }, () => r.randint(0, 2147483647))).toEqual([
      946286476, 1857819720, 491263, 550290313, 1298508491,
    ]);
    expect(Array.from(new NumpyRandomState(2).permutation(10))).toEqual([4, 1, 5, 0, 7, 2, 3, 6, 9, 8]);
    expect(Array.from(new NumpyRandomState(3).uniform(3))).toEqual([
      0.5507979025745755, 0.7081478226181048, 0.2909047389129443,
    ]);
  });

  it("reproduces scikit-learn's sample_without_replacement (tracking, permutation and reservoir)", () => {
    expect(Array.from(sampleWithoutReplacement(1000, 5, new NumpyRandomState(4)))).toEqual([
      122, 174, 439, 709, 897,
    ]);
    expect(Array.from(sampleWithoutReplacement(10, 4, new NumpyRandomState(4)))).toEqual([3, 8, 4, 9]);
    const reservoir = Array.from({ length: 99 }, (_, i) => (i === 46 ? 99 : i));
    expect(Array.from(sampleWithoutReplacement(100, 99, new NumpyRandomState(4)))).toEqual(reservoir);
  });
});
