import { describe, expect, it } from 'vitest';
import { parseConfig } from './load';

const sequences = { name: 'x', dataset: { kind: 'sequences', numSamples: 100 }, model: { type: 'ngram' } };
const tabular = (split: unknown) => ({
  name: 'x',
  dataset: { kind: 'tabular', path: 'a.csv', labelColumn: 'y', split },
  model: { type: 'ocsvm' },
});

describe('evaluation config', () => {
  it('leaves cross-validation off and the split random by default', () => {
    const c = parseConfig(sequences);
    expect(c.evaluation.folds).toBeUndefined();
    expect(c.promotion.gate).toBe('auto');
    expect(c.promotion.crossValidation).toEqual({ bound: 'mean-sd', sds: 1 });
    expect(c.promotion.unsupervised).toEqual({ minRocAuc: 0.8, maxAlarmRate: 0.05 });
    expect(c.dataset.kind === 'sequences' && c.dataset.split).toEqual({
      by: 'random',
      train: 0.6,
      validation: 0.15,
      calibration: 0.1,
      test: 0.15,
    });
  });

  it('reads `evaluation: { folds }`, `split: { by: time }` and the gate settings', () => {
    const c = parseConfig({
      ...tabular({ by: 'time', timeColumn: 'when', test: 0.2, train: 0.55 }),
      evaluation: { folds: 5 },
      promotion: {
        gate: 'unsupervised',
        unsupervised: { minAveragePrecision: 0.3 },
        crossValidation: { bound: 'worst-fold' },
      },
    });
    expect(c.evaluation.folds).toBe(5);
    expect(c.dataset.kind === 'tabular' && c.dataset.split).toEqual({
      by: 'time',
      timeColumn: 'when',
      timeKind: 'auto',
      train: 0.55,
      validation: 0.15,
      calibration: 0.1,
      test: 0.2,
    });
    expect(c.promotion.unsupervised).toEqual({
      minRocAuc: 0.8,
      minAveragePrecision: 0.3,
      maxAlarmRate: 0.05,
    });
    expect(c.promotion.crossValidation).toEqual({ bound: 'worst-fold', sds: 1 });
  });

  it('names the key of a bad evaluation setting', () => {
    expect(() => parseConfig({ ...sequences, evaluation: { folds: 1 } })).toThrow(/evaluation\.folds: /);
    expect(() => parseConfig({ ...sequences, evaluation: { folds: 2.5 } })).toThrow(/evaluation\.folds: /);
    expect(() => parseConfig({ ...sequences, evaluation: { fold: 5 } })).toThrow(/evaluation\.fold: /);
    expect(() =>
      parseConfig({ ...sequences, dataset: { ...sequences.dataset, split: { by: 'time' } } }),
    ).toThrow(/dataset\.split\.by: .*sequences carry no time/);
    expect(() => parseConfig(tabular({ by: 'clock' }))).toThrow(/dataset\.split\.by: .*"random".*"time"/);
    expect(() => parseConfig(tabular({ timeColumn: 'when' }))).toThrow(
      /dataset\.split\.timeColumn: .*set by: time as well/,
    );
    expect(() => parseConfig(tabular({ by: 'time', test: 0.5 }))).toThrow(/sum to 1/);
    expect(() => parseConfig({ ...sequences, promotion: { crossValidation: { bound: 'median' } } })).toThrow(
      /promotion\.crossValidation\.bound: .*"mean-sd"/,
    );
    expect(() => parseConfig({ ...sequences, promotion: { gate: 'ece' } })).toThrow(/promotion\.gate: /);
    expect(() =>
      parseConfig({
        name: 'x',
        dataset: { kind: 'timeseries', path: 'a.csv', timeKind: 'seconds' },
        model: { type: 'vae' },
      }),
    ).toThrow(/dataset\.timeKind: .*"index"/);
  });
});
