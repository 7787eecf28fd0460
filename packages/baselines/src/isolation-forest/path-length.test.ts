import { describe, expect, it } from 'vitest';
import { averagePathLength } from './path-length';

describe('averagePathLength c(n)', () => {
  it("equals scikit-learn's _average_path_length", () => {
    // sklearn.ensemble._iforest._average_path_length(np.array([...])) with scikit-learn 1.2.1.
    const n = [0, 1, 2, 3, 5, 10, 100, 256, 1000, 100000];
    const expected = [
      0.0, 0.0, 1.0, 1.207392357589623, 2.327020052042847, 3.748880484475504, 8.364671030072245,
      10.244770920119917, 12.969940887100172, 22.180282259643523,
    ];
    for (const [i, v] of Array.from(n).entries()) expect(averagePathLength(v)).toBeCloseTo(expected[i]!, 12);
  });

  it('is 2·H(n − 1) − 2(n − 1)/n with H the harmonic number (to the ln + γ approximation)', () => {
    let h = 0;
    for (let i = 1; i < 5000; i++) h += 1 / i;
    // H(4999) ≈ ln(4999) + γ + 1/(2·4999): the approximation error is O(1/n).
    expect(averagePathLength(5000)).toBeCloseTo(2 * h - (2 * 4999) / 5000, 3);
  });
});
