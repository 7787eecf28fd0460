import { describe, expect, it } from 'vitest';
import { mannKendall } from './mann-kendall';
import { adjustPValues, adjustTestOutcomes, benjaminiHochberg, bonferroni, holm } from './multiple-testing';

describe('adjustPValues', () => {
  const p = [0.01, 0.04, 0.03, 0.005];

  it('computes BH, Holm and Bonferroni by hand', () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 (m = 4).
    // BH: 4·p/rank = 0.02, 0.02, 0.04, 0.04 (then running minimum from the top).
    expect([...benjaminiHochberg(p).adjusted]).toEqual([0.02, 0.04, 0.04, 0.02]);
    // Holm: (m − rank + 1)·p = 0.02, 0.03, 0.06, 0.04 → running max 0.02, 0.03, 0.06, 0.06.
    const h = holm(p);
    expect([...h.adjusted].map((v) => Number(v.toFixed(12)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(h.rejectedIndices).toEqual([0, 3]);
    expect([...bonferroni(p).adjusted].map((v) => Number(v.toFixed(12)))).toEqual([0.04, 0.16, 0.12, 0.02]);
    expect(benjaminiHochberg(p).rejected).toEqual([true, true, true, true]);
  });

  it('BY is BH times the harmonic number', () => {
    const bh = adjustPValues(p, { method: 'bh' }).adjusted;
    const by = adjustPValues(p, { method: 'by' }).adjusted;
    const c = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    by.forEach((v, i) => {
      expect(v).toBeCloseTo(Math.min(1, bh[i]! * c), 14);
    });
  });

  it('rejects nothing on an empty list and names a bad p-value', () => {
    expect(adjustPValues([])).toMatchObject({ m: 0, rejectedIndices: [] });
    expect(() => adjustPValues([0.1, Number.NaN])).toThrow(
      /pValues\[1\]: expected a p-value in \[0, 1\], received NaN/,
    );
    expect(() => adjustPValues([1.2])).toThrow(/pValues\[0\]/);
    expect(() => adjustPValues([0.1], { method: 'sidak' as never })).toThrow(/multipleTesting\.method/);
  });
});

describe('adjustTestOutcomes', () => {
  it('adjusts only the outcomes that are tests and maps the rejections back', () => {
    const series = [
      Array.from({ length: 20 }, (_, i) => i), // strong trend
      [1, 2], // too short
      Array.from({ length: 20 }, (_, i) => Math.sin(i * 2.1)), // noise
      Array.from({ length: 20 }, (_, i) => -i + Math.cos(i)), // strong trend down
    ];
    const outcomes = series.map((s) => mannKendall(s));
    const r = adjustTestOutcomes(outcomes);
    expect(r.m).toBe(3);
    expect(r.adjustedByOutcome[1]).toBeNull();
    expect(r.rejectedOutcomes).toEqual([0, 3]);
  });
});
