import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors';
import { ContaminationSchema, defaultThreshold, fitThreshold } from './thresholds';
import { parseWith } from './validation';

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

  it('defaultThreshold: a contamination fraction on the training scores, else the native cut-off, else none', async () => {
    let calls = 0;
    const training = () => {
      calls++;
      return scores;
    };
    const fromScores = await defaultThreshold(0.2, 0.5, training);
    expect(fromScores).toEqual(
      fitThreshold({ strategy: 'contamination', contamination: 0.2 }, scores, { split: 'train' }),
    );
    expect(calls).toBe(1);
    expect(await defaultThreshold('auto', 0.5, training)).toEqual({
      value: 0.5,
      strategy: { strategy: 'fixed', value: 0.5 },
      split: 'none',
      n: 0,
    });
    expect(await defaultThreshold(undefined, 1.5, training)).toMatchObject({ value: 1.5, split: 'none' });
    expect(await defaultThreshold(undefined, undefined, training)).toBeNull();
    expect(await defaultThreshold('auto', undefined, training)).toBeNull();
    expect(calls).toBe(1);
  });

  it('ContaminationSchema accepts "auto" or a fraction in (0, 0.5]', () => {
    expect(parseWith(ContaminationSchema, 'auto')).toBe('auto');
    expect(parseWith(ContaminationSchema, 0.5)).toBe(0.5);
    const message = (bad: unknown) => {
      try {
        parseWith(ContaminationSchema, bad, 'params.contamination');
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message(0)).toBe('params.contamination: expected a number > 0, received 0');
    expect(message(0.6)).toBe('params.contamination: expected a number ≤ 0.5, received 0.6');
    expect(message('some')).toBe(
      'params.contamination: expected a fraction in (0, 0.5] or "auto", received "some"',
    );
  });
});
