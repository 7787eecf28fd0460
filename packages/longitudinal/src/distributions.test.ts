import { describe, expect, it } from 'vitest';
import { chiSquareSf, normalPValue, standardNormalSf, studentTPValue } from './distributions';

describe('distribution tails', () => {
  it('keeps p-values far below machine epsilon instead of rounding them to 0 (SciPy norm.sf(20) = 2.7536241186061556e-89)', () => {
    expect(standardNormalSf(20) / 2.7536241186061556e-89).toBeCloseTo(1, 10);
    expect(chiSquareSf(1000, 8)).toBeGreaterThan(0);
    expect(chiSquareSf(1000, 8)).toBeLessThan(1e-200);
    expect(studentTPValue(60, 10, 'two-sided')).toBeGreaterThan(0);
  });

  it('splits the alternatives consistently', () => {
    for (const z of [-2.5, -0.3, 0, 1.7]) {
      expect(normalPValue(z, 'greater') + normalPValue(z, 'less')).toBeCloseTo(1, 14);
      expect(normalPValue(z, 'two-sided')).toBeCloseTo(
        2 * Math.min(normalPValue(z, 'greater'), normalPValue(z, 'less')),
        14,
      );
      expect(studentTPValue(z, 7, 'greater') + studentTPValue(z, 7, 'less')).toBeCloseTo(1, 14);
    }
    expect(chiSquareSf(0, 8)).toBe(1);
  });
});
