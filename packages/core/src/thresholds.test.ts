import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors';
import { fitThreshold } from './thresholds';

const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
const labels = [0, 0, 0, 0, 0, 0, 1, 0, 1, 1];

describe('thresholds', () => {
  it('contamination is the (1 − c) quantile with linear interpolation (scikit-learn semantics)', () => {
    // numpy.percentile(scores, 80) = 0.8200000000000001
    const t = fitThreshold({ strategy: 'contamination', contamination: 0.2 }, scores, { split: 'train' });
    expect(t.value).toBeCloseTo(0.82, 12);
    expect(scores.filter((s) => s > t.value).length).toBe(2);
    expect(t.split).toBe('train');
  });

  it('target-fpr keeps the false-positive rate at or below the target on normal rows', () => {
    const t = fitThreshold({ strategy: 'target-fpr', fpr: 0.15 }, scores, { labels, split: 'calibration' });
    // 7 normal rows; at most floor(0.15·7) = 1 may score above → threshold 0.6 (0.8 above)
    expect(t.value).toBe(0.6);
    expect(t.achieved!.fpr).toBeCloseTo(1 / 7, 12);
    const zero = fitThreshold({ strategy: 'target-fpr', fpr: 0 }, scores, { labels, split: 'calibration' });
    expect(zero.value).toBe(0.8);
  });

  it('max-f1 finds the best cut between distinct scores', () => {
    const t = fitThreshold({ strategy: 'max-f1' }, scores, { labels, split: 'validation' });
    // flag {0.7, 0.8, 0.9, 1.0}: P = 3/4, R = 1, F1 = 6/7 (flagging {0.9, 1.0} gives F1 = 0.8)
    expect(t.value).toBeCloseTo(0.65, 12);
    expect(t.achieved!.f1).toBeCloseTo(6 / 7, 12);
  });

  it('midpoint is halfway between the class means; fixed is fixed', () => {
    const t = fitThreshold({ strategy: 'midpoint' }, scores, { labels, split: 'validation' });
    // normal mean (0.1 + … + 0.6 + 0.8) / 7 = 2.9 / 7; anomalous mean (0.7 + 0.9 + 1.0) / 3
    expect(t.value).toBeCloseTo((2.9 / 7 + 2.6 / 3) / 2, 12);
    expect(fitThreshold({ strategy: 'fixed', value: 0.4 }, [], { split: 'none' }).value).toBe(0.4);
  });

  it('refuses the test split, missing labels and bad parameters', () => {
    expect(() => fitThreshold({ strategy: 'max-f1' }, scores, { labels, split: 'test' })).toThrow(
      /threshold\.split/,
    );
    expect(() => fitThreshold({ strategy: 'max-f1' }, scores, { split: 'validation' })).toThrow(/labels/);
    expect(() =>
      fitThreshold({ strategy: 'contamination', contamination: 0.9 }, scores, { split: 'train' }),
    ).toThrow(/threshold\.contamination/);
    expect(() =>
      fitThreshold({ strategy: 'max-f1' }, scores, { labels: labels.map(() => 2), split: 'validation' }),
    ).toThrow(ValidationError);
  });
});
