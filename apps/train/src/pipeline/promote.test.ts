import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import type { CrossValidationReport } from '../report/types';
import { crossValidationGate } from './cross-validation';
import { foldStatistic } from './fold-summary';
import { classifierGate, gateKind, promote, severityGate, unsupervisedGate } from './promote';

const SEVERITY_GATE = {
  maxMae: 0.3,
  minCategoryAccuracy: 0.9,
  minBinaryAccuracy: 0.95,
  requireSeparations: true,
};

async function modelDir(root: string, content: string): Promise<string> {
  const dir = join(root, `model-${content}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), content);
  return dir;
}

describe('promotion', () => {
  it('applies the seed-001 targets to severity models, naming every miss', () => {
    const ok = severityGate(
      { severity_mae: 0.1, category_accuracy: 0.93, binary_accuracy: 0.96 },
      true,
      SEVERITY_GATE,
    );
    expect(ok).toEqual({ promoted: true, reasons: [] });
    const bad = severityGate(
      { severity_mae: 0.31, category_accuracy: 0.9, binary_accuracy: 0.96 },
      false,
      SEVERITY_GATE,
    );
    expect(bad.promoted).toBe(false);
    expect(bad.reasons).toEqual([
      'severity MAE 0.310 is not < 0.3',
      'category accuracy 0.900 is not > 0.9',
      'a band separation target is not met (see the calibration table)',
    ]);
  });

  it('needs calibrated probabilities and accuracy for classifiers', () => {
    const gate = { maxEce: 0.08, minAccuracy: 0.85 };
    expect(classifierGate({ ece: 0.05, accuracy: 0.9 }, gate).promoted).toBe(true);
    expect(classifierGate({ accuracy: 0.9 }, gate).reasons[0]).toMatch(/ECE cannot be checked/);
    expect(classifierGate({ ece: 0.09, accuracy: 0.8 }, gate).reasons).toEqual([
      'ECE 0.090 is not ≤ 0.08',
      'accuracy 0.800 is not ≥ 0.85',
    ]);
  });

  it('holds unsupervised detectors to ROC-AUC with labels and to the alarm rate of held-out normal data without', () => {
    const gate = { minRocAuc: 0.8, maxAlarmRate: 0.05 };
    expect(unsupervisedGate({ roc_auc: 0.85, average_precision: 0.2 }, gate)).toEqual({
      promoted: true,
      reasons: [],
    });
    expect(unsupervisedGate({ roc_auc: 0.75 }, gate).reasons).toEqual(['ROC-AUC 0.750 is not ≥ 0.8']);
    expect(
      unsupervisedGate({ roc_auc: 0.85, average_precision: 0.2 }, { ...gate, minAveragePrecision: 0.3 })
        .reasons,
    ).toEqual(['average precision 0.200 is not ≥ 0.3']);
    expect(unsupervisedGate({ flagged_fraction: 0.3, normal_alarm_rate: 0.01 }, gate).promoted).toBe(true);
    expect(unsupervisedGate({ normal_alarm_rate: 0.12 }, gate).reasons).toEqual([
      'alarm rate on held-out normal data 0.120 is not ≤ 0.05',
    ]);
    expect(unsupervisedGate({ flagged_fraction: 0.3 }, gate).reasons[0]).toMatch(
      /neither detection nor alarm rate/,
    );
  });

  it('picks the gate by what the model is, unless one is configured', () => {
    expect(gateKind('auto', { graded: true, supervised: true })).toBe('severity');
    expect(gateKind('auto', { graded: false, supervised: true })).toBe('classifier');
    expect(gateKind('auto', { graded: false, supervised: false })).toBe('unsupervised');
    expect(gateKind('classifier', { graded: false, supervised: false })).toBe('classifier');
  });

  it('applies the gate to the cross-validation bound, so one lucky split cannot promote', () => {
    const promotion = parseConfig({
      name: 'x',
      dataset: { kind: 'sequences', numSamples: 10 },
      model: { type: 'ngram' },
    }).promotion;
    const cv = (bound: 'mean-sd' | 'worst-fold' | 'none'): CrossValidationReport => {
      const b = { bound, sds: 1 };
      return {
        folds: 3,
        scheme: 's',
        bound: { kind: bound, sds: 1, label: bound },
        metrics: [
          foldStatistic('severity_mae', [0.2, 0.25, 0.27], false, b),
          foldStatistic('category_accuracy', [0.95, 0.93, 0.91], true, b),
          foldStatistic('binary_accuracy', [0.97, 0.97, 0.97], true, b),
        ],
        severity: {
          checks: [
            {
              ...foldStatistic('separation.mediumLow', [0.4, 0.35, 0.33], true, b),
              target: 0.3,
              comparison: '>',
              pass: true,
            },
          ],
          bands: [],
        },
        seconds: 1,
      };
    };
    // Mean MAE 0.24 passes, but mean + 1 sd (0.276) still does; the worst fold's category accuracy 0.91 too.
    expect(crossValidationGate(cv('mean-sd'), 'severity', promotion)).toEqual({
      promoted: true,
      reasons: [],
    });
    const strict = crossValidationGate(cv('mean-sd'), 'severity', {
      ...promotion,
      severity: { ...promotion.severity, maxMae: 0.27, minCategoryAccuracy: 0.92 },
    })!;
    expect(strict.promoted).toBe(false);
    expect(strict.reasons).toEqual([
      'cross-validation (mean-sd over 3 folds): severity MAE 0.276 is not < 0.27',
      'cross-validation (mean-sd over 3 folds): category accuracy 0.910 is not > 0.92',
    ]);
    const failing = cv('worst-fold');
    failing.severity!.checks[0]!.pass = false;
    expect(crossValidationGate(failing, 'severity', promotion)!.reasons).toEqual([
      'cross-validation (worst-fold over 3 folds): a band separation target is not met (see the calibration table)',
    ]);
    expect(crossValidationGate(cv('none'), 'severity', promotion)).toBeUndefined();
  });

  it('replaces current/<name> by renames and leaves no staging directory behind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'anomalia-promote-'));
    const models = join(root, 'models');
    const pass = { promoted: true, reasons: [] };
    const first = await promote(await modelDir(root, 'first'), 'ebm', 'run-1', models, pass, { mae: 0.2 });
    const second = await promote(await modelDir(root, 'second'), 'ebm', 'run-2', models, pass, { mae: 0.1 });
    expect(second).toBe(first);
    expect(await readFile(join(second, 'model', 'weights.bin'), 'utf8')).toBe('second');
    expect(JSON.parse(await readFile(join(second, 'promotion.json'), 'utf8'))).toMatchObject({
      runId: 'run-2',
      promoted: true,
      metrics: { mae: 0.1 },
    });
    expect(await readdir(join(models, 'current'))).toEqual(['ebm']);

    const candidate = await promote(
      await modelDir(root, 'third'),
      'ebm',
      'run-3',
      models,
      { promoted: false, reasons: ['x'] },
      {},
    );
    expect(candidate).toBe(join(models, 'candidates', 'run-3'));
    expect(await readFile(join(second, 'model', 'weights.bin'), 'utf8')).toBe('second');
    expect(existsSync(join(candidate, 'model', 'weights.bin'))).toBe(true);
  });
});
