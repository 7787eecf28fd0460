import { describe, expect, it } from 'vitest';
import { type Comparison, referenceComparisons } from '../scripts/agreement';

/**
 * Every number in fixtures/reference.json (SciPy 1.10 / statsmodels 0.13 via scripts/reference.py,
 * and Montgomery's published CUSUM table) against this package. Counts, indices and decisions must
 * be equal; values agree to 1e-12 relative unless they pass through a quantile function (stdlib's
 * t quantile agrees with SciPy to about 1e-9, its normal quantile to 5e-7 at p = 1e-12).
 */
function tolerance(c: Comparison): number {
  if (c.family === 'distributions' && c.case.startsWith('normal p=1e-12')) return 1e-6;
  if (c.family === 'distributions' && c.case.startsWith('t p=')) return 1e-8;
  if (c.field.startsWith('ci.')) return 1e-8;
  return 1e-12;
}

const comparisons = referenceComparisons();
const families = [...new Set(comparisons.map((c) => c.family))];

describe('agreement with SciPy / statsmodels / Montgomery', () => {
  it('covers every family of tests', () => {
    expect(families).toEqual([
      'distributions',
      'cusum',
      'ewma',
      'mann-kendall',
      'mann-kendall hamed-rao',
      'sen-slope',
      'welch',
      'one-sample t',
      'benford',
      'runs',
      'multiple testing',
    ]);
    expect(comparisons.length).toBeGreaterThan(4000);
  });

  for (const family of families) {
    it(family, () => {
      const failures = comparisons
        .filter((c) => c.family === family)
        .filter((c) =>
          c.exact ? c.actual !== c.expected : !(c.absDiff <= 1e-14 || c.relDiff <= tolerance(c)),
        )
        .map((c) => `${c.case} ${c.field}: expected ${c.expected}, got ${c.actual}`);
      expect(failures).toEqual([]);
    });
  }
});
