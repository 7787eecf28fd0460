import { describe, expect, it } from 'vitest';
import { foldStatistic, summarizeFolds } from './fold-summary';

const MEAN_SD = { bound: 'mean-sd' as const, sds: 1 };

describe('fold summaries', () => {
  it('gives mean, sample sd and the pessimistic bound on the right side', () => {
    const auc = foldStatistic('roc_auc', [0.9, 0.95, 1.0], true, MEAN_SD);
    expect(auc.mean).toBeCloseTo(0.95, 12);
    expect(auc.sd).toBeCloseTo(0.05, 12);
    expect(auc.bound).toBeCloseTo(0.9, 12);
    const mae = foldStatistic('severity_mae', [0.1, 0.2, 0.3], false, { bound: 'mean-sd', sds: 2 });
    expect(mae.bound).toBeCloseTo(0.2 + 2 * 0.1, 12);
    expect(foldStatistic('roc_auc', [0.9, 0.95, 1.0], true, { bound: 'worst-fold', sds: 1 }).bound).toBe(0.9);
    expect(foldStatistic('ece', [0.01, 0.09, 0.05], false, { bound: 'worst-fold', sds: 1 }).bound).toBe(0.09);
    expect(foldStatistic('ece', [0.01, 0.09, 0.05], false, { bound: 'mean', sds: 1 }).bound).toBeCloseTo(
      0.05,
      12,
    );
    expect(foldStatistic('ece', [0.01, 0.09], false, { bound: 'none', sds: 1 }).bound).toBeNull();
    expect(foldStatistic('n_test', [10, 12], true, MEAN_SD).bound).toBeNull();
    const sparse = foldStatistic('x', [0.5, null], true, MEAN_SD);
    expect([sparse.mean, sparse.sd, sparse.bound]).toEqual([0.5, 0, 0.5]);
    expect(foldStatistic('x', [null, null], true, MEAN_SD).mean).toBeNull();
  });

  it('summarises the calibration table; a check empty in one fold does not pass', () => {
    const fold = (mae: number, sep: number | null) => ({
      metrics: { severity_mae: mae, roc_auc: 0.9 },
      severity: {
        checks: [
          { name: 'mae', value: mae, target: 0.3, comparison: '<' as const },
          { name: 'separation.mediumLow', value: sep, target: 0.3, comparison: '>' as const },
        ],
        bands: [{ band: 'low', meanEnergy: mae * 3 }],
      },
    });
    const s = summarizeFolds([fold(0.1, 0.5), fold(0.2, 0.4), fold(0.15, 0.45)], MEAN_SD);
    expect(s.metrics.map((m) => m.name)).toEqual(['severity_mae', 'roc_auc']);
    const [mae, sep] = s.severity!.checks;
    expect(mae!.pass).toBe(true);
    expect(mae!.bound).toBeCloseTo(0.2, 12);
    expect(sep!.bound).toBeCloseTo(0.4, 12);
    expect(sep!.pass).toBe(true);
    expect(s.severity!.bands[0]!.mean).toBeCloseTo(0.45, 12);
    // 0.3 is not > 0.3 at the bound: strict, as in seed 001.
    expect(
      summarizeFolds([fold(0.1, 0.35), fold(0.1, 0.25)], { bound: 'mean', sds: 1 }).severity!.checks[1]!.pass,
    ).toBe(false);
    const empty = summarizeFolds([fold(0.1, 0.5), fold(0.1, null)], MEAN_SD).severity!.checks[1]!;
    expect(empty.values).toEqual([0.5, null]);
    expect(empty.pass).toBeNull();
  });
});
