import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { averageRanks, mannKendall, mannKendallS } from './mann-kendall';

function ar1(rng: Rng, n: number, phi: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) {
    prev = phi * prev + rng.normal();
    out.push(prev);
  }
  return out;
}

describe('mannKendall', () => {
  it('counts S, tied groups and the tie-corrected variance by hand', () => {
    // Pairs: (1,2)+ (1,2)+ (1,3)+ (2,2)0 (2,3)+ (2,3)+ → S = 5 with one tied pair.
    const x = [1, 2, 2, 3];
    expect(mannKendallS(x)).toBe(5);
    const r = mannKendall(x);
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.tieGroups).toBe(1);
    expect(r.varS).toBeCloseTo((4 * 3 * 13 - 2 * 1 * 9) / 18, 12);
    expect(r.z).toBeCloseTo(4 / Math.sqrt(r.varS), 12);
    expect(r.tau).toBeCloseTo(5 / 6, 12);
  });

  it('says why it cannot run on fewer than 3 points', () => {
    expect(mannKendall([1, 2])).toEqual({
      status: 'insufficient-data',
      n: 2,
      required: 3,
      reason: 'insufficient data: need ≥ 3 values, got 2',
    });
  });

  it('reports a constant series as no trend with p = 1 and a note, never NaN', () => {
    for (const autocorrelation of ['none', 'hamed-rao'] as const) {
      const r = mannKendall(new Array(12).fill(7.5), { autocorrelation });
      if (r.status !== 'ok') throw new Error(r.reason);
      expect([r.s, r.varS, r.z, r.pValue, r.trend]).toEqual([0, 0, 0, 1, 'none']);
      expect(r.note).toMatch(/constant series/);
    }
  });

  it('names the index of a NaN and the field of a bad option', () => {
    expect(() => mannKendall([1, 2, Number.NaN, 4])).toThrow(
      /values\[2\]: expected a finite number, received NaN/,
    );
    expect(() => mannKendall([1, 2, 3], { alpha: 2 })).toThrow(/mannKendall\.alpha: expected a number < 1/);
    expect(() => mannKendall([1, 2, 3], { autocorrelation: 'yue-wang' as never })).toThrow(
      /mannKendall\.autocorrelation: expected one of "none", "hamed-rao"/,
    );
    expect(() => mannKendall([1, 2, 3], { alpha: Number.NaN })).toThrow(/mannKendall\.alpha/);
    expect(() => mannKendall([1, 2, 3], { lags: 0 })).toThrow(/mannKendall\.lags/);
    expect(() => mannKendall([1, 2, 3], { lags: 1.5 })).toThrow(/mannKendall\.lags/);
    expect(() => mannKendall([1, 2, 3], { alternative: 'up' as never })).toThrow(/mannKendall\.alternative/);
    expect(() => mannKendall([1, 2, 3], { lag: 1 } as never)).toThrow(
      /mannKendall\.lag: expected no such key/,
    );
    expect(() => mannKendall([1, 2, 3], JSON.parse('{"__proto__":{}}'))).toThrow(/__proto__/);
  });

  it('fills the defaults of the options it was not given', () => {
    const series = Array.from({ length: 25 }, (_, i) => i * 0.1 + Math.sin(i * 3));
    const r = mannKendall(series, { lags: undefined });
    expect(r).toEqual(
      mannKendall(series, { alpha: 0.05, alternative: 'two-sided', autocorrelation: 'none' }),
    );
    expect(r).toMatchObject({ alpha: 0.05, alternative: 'two-sided', varianceCorrection: 1 });
  });

  it('names the direction of a significant trend', () => {
    const up = Array.from({ length: 30 }, (_, i) => i + Math.sin(i * 7));
    const down = up.map((v) => -v);
    expect(mannKendall(up)).toMatchObject({ trend: 'increasing' });
    expect(mannKendall(down)).toMatchObject({ trend: 'decreasing' });
    expect(mannKendall(up, { alternative: 'less' })).toMatchObject({ trend: 'none' });
  });

  it('holds its false-alarm rate on independent noise; Hamed–Rao cuts the excess on autocorrelated noise', () => {
    const rng = new Rng(17);
    const trials = 1500;
    let iid = 0;
    let plain = 0;
    let corrected = 0;
    for (let t = 0; t < trials; t++) {
      const noise = Array.from({ length: 30 }, () => rng.normal());
      if ((mannKendall(noise) as { pValue: number }).pValue < 0.05) iid++;
      const series = ar1(rng, 60, 0.7);
      if ((mannKendall(series) as { pValue: number }).pValue < 0.05) plain++;
      if ((mannKendall(series, { autocorrelation: 'hamed-rao' }) as { pValue: number }).pValue < 0.05)
        corrected++;
    }
    // Binomial(1500, 0.05) stays within 0.035–0.065 with probability > 0.99.
    expect(iid / trials).toBeGreaterThan(0.035);
    expect(iid / trials).toBeLessThan(0.065);
    // AR(1) with φ = 0.7 fools the plain test into several times its nominal rate.
    // Hamed–Rao removes a large part of the excess but, at n = 60, not all of it (about 0.23 vs 0.38).
    expect(plain / trials).toBeGreaterThan(0.3);
    expect(corrected / trials).toBeLessThan(0.7 * (plain / trials));
  });
});

describe('averageRanks', () => {
  it('gives ties their mean rank, as scipy.stats.rankdata', () => {
    expect([...averageRanks([10, 20, 10, 30, 20, 20])]).toEqual([1.5, 4, 1.5, 6, 4, 4]);
  });
});
