import { describe, expect, it } from 'vitest';
import { numpySum } from './numpy-sum';

describe('numpySum', () => {
  it("adds in numpy's pairwise order, to the last bit", () => {
    // a = np.array([((i*2654435761) % 1000003) / 7.0 * (1e-7 if i % 3 == 0 else 1.0) for i in range(n)])
    // float(np.add.reduce(a)) with numpy 1.24 (Debian).
    const expected: Record<number, number> = {
      3: 183342.42857142858,
      8: 446880.86928831425,
      20: 1047190.3278752142,
      37: 1972665.0872097714,
      130: 6427724.458428372,
    };
    for (const [n, sum] of Object.entries(expected)) {
      const a = Array.from(
        { length: Number(n) },
        (_, i) => (((i * 2654435761) % 1000003) / 7.0) * (i % 3 === 0 ? 1e-7 : 1.0),
      );
      expect(numpySum(a, 0, a.length)).toBe(sum);
    }
  });

  it('sums a window of a longer array', () => {
    expect(numpySum([9, 1, 2, 3, 9], 1, 3)).toBe(6);
    expect(numpySum([], 0, 0)).toBe(0);
  });
});
