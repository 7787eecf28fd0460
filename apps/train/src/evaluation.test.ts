import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sharedDataPath } from '@anomalia/core/testing';
import { createClinicDatabase } from '@anomalia/db-sqlite';
import { openSource, resolveSource } from '@anomalia/qa-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './config/load';
import type { TrainConfigInput } from './config/schema';
import { prepareData } from './data/prepare';
import type { MatrixData, MatrixParts } from './data/types';
import { runTraining } from './pipeline/run';
import { createProgress } from './progress';
import type { CrossValidationReport } from './report/types';

/**
 * Cross-validation, prospective splits, the unsupervised gate and integer time indexes, end to
 * end on real data (../shared/data) and on a synthetic clinic, on small settings.
 */
const repoRoot = resolve(__dirname, '../../..');
const quiet = createProgress({ quiet: true });
let tmp: string;
let clinic: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'anomalia-evaluation-'));
  clinic = join(tmp, 'clinic.sqlite');
  createClinicDatabase(clinic, { seed: 7, records: 20_000 });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const outputs = () => [`output.runsDir=${join(tmp, 'runs')}`, `promotion.modelsDir=${join(tmp, 'models')}`];
const config = (
  c: Omit<TrainConfigInput, 'output' | 'promotion'> & { promotion?: TrainConfigInput['promotion'] },
) =>
  parseConfig({
    ...c,
    output: { runsDir: join(tmp, 'runs') },
    promotion: { modelsDir: join(tmp, 'models'), ...c.promotion },
  });
const metric = (cv: CrossValidationReport, name: string) => cv.metrics.find((m) => m.name === name);

/** The main job's config (configs/mosaiq-ebm.yaml) on small settings, with `extra` overrides. */
const mosaiqJob = (extra: string[]) =>
  loadConfig(join(repoRoot, 'configs', 'mosaiq-ebm.yaml'), [
    `dataset.source=${clinic}`,
    'dataset.normal=600',
    'dataset.adversarial=600',
    'model.params.epochs=40',
    ...outputs(),
    ...extra,
  ]);

/** Source patient and Create_DtTm of each example (inserted duplicates are not in the source: undefined). */
async function sourceFacts(ids: number[]) {
  const opened = await openSource(resolveSource(clinic));
  try {
    const { records } = await opened.reader.loadRecords([...new Set(ids)]);
    return new Map(
      records.map((r) => [
        r.treatment.TTX_ID,
        { patient: r.treatment.Pat_ID1, time: r.treatment.Create_DtTm },
      ]),
    );
  } finally {
    await opened.close();
  }
}

const idsOf = (p: MatrixParts, names: Array<keyof MatrixParts>) =>
  names.flatMap((n) => (p[n]?.meta ?? []).map((m) => m.ttxId));

describe('Mosaiq: the main job with evaluation.folds = 5 and a time split', () => {
  it('makes folds that keep a patient on one side and a time split that tests the newest examples', async () => {
    const cfg = await mosaiqJob(['dataset.split.by=time']);
    const data = (await prepareData(cfg, tmp, quiet)) as MatrixData;
    try {
      const plan = data.folds!(5);
      expect(plan.folds).toHaveLength(5);
      expect(plan.scheme).toMatch(/grouped by patient/);
      const all = plan.folds.flatMap((p) => idsOf(p, ['train', 'validation', 'calibration', 'test']));
      const facts = await sourceFacts(all);
      // Inserted duplicates are the only examples not in the source.
      expect(all.filter((id) => !facts.has(id)).length).toBeLessThan(all.length / 20);
      const tested = new Map<number, number>();
      for (const p of plan.folds) {
        const test = idsOf(p, ['test']);
        for (const id of test) tested.set(id, (tested.get(id) ?? 0) + 1);
        const patients = (ids: number[]) => new Set(ids.flatMap((id) => facts.get(id)?.patient ?? []));
        const testPatients = patients(test);
        for (const name of ['train', 'validation', 'calibration'] as const) {
          const other = patients(idsOf(p, [name]));
          for (const patient of testPatients)
            expect(other.has(patient), `patient ${patient} in ${name}`).toBe(false);
          expect(p[name]!.X.rows).toBeGreaterThan(0);
        }
        // Every severity band is in every fold's test part.
        expect(new Set(p.test.meta!.map((m) => (m.severity === 0 ? 0 : Math.ceil(m.severity)))).size).toBe(4);
      }
      // Every example (held-out variants aside) is tested in exactly one fold.
      expect([...tested.values()].every((c) => c === 1)).toBe(true);
      expect(tested.size).toBe(
        data.parts.train.X.rows +
          data.parts.validation!.X.rows +
          data.parts.calibration!.X.rows +
          data.parts.test.X.rows,
      );

      // The prospective split: every test example is at least as recent as every older one.
      expect(data.split?.by).toBe('time');
      const time = (id: number) => facts.get(id)?.time?.getTime();
      const testTimes = idsOf(data.parts, ['test']).flatMap((id) => time(id) ?? []);
      const olderTimes = idsOf(data.parts, ['train', 'validation', 'calibration']).flatMap(
        (id) => time(id) ?? [],
      );
      expect(Math.min(...testTimes)).toBeGreaterThanOrEqual(Math.max(...olderTimes));
      expect(data.views?.map((v) => v.name)).toEqual(['random split']);
      const randomTest = data.views![0]!.parts.test.meta!.flatMap((m) => time(m.ttxId) ?? []);
      expect(Math.min(...randomTest)).toBeLessThan(Math.max(...olderTimes));
    } finally {
      await data.finish?.();
    }
  });

  it('reports the metrics and the seed-001 table as mean ± sd over 5 folds, beside the random and prospective splits', async () => {
    const cfg = await mosaiqJob(['evaluation.folds=5', 'dataset.split.by=time']);
    const result = await runTraining(cfg, quiet);
    const run = JSON.parse(await readFile(join(result.runDir, 'run.json'), 'utf8'));
    const cv = run.crossValidation as CrossValidationReport;
    expect(cv.folds).toBe(5);
    for (const name of ['roc_auc', 'severity_mae', 'category_accuracy', 'binary_accuracy', 'ece']) {
      const m = metric(cv, name)!;
      expect(m.values, name).toHaveLength(5);
      expect(
        m.values.every((v) => v !== null && Number.isFinite(v)),
        name,
      ).toBe(true);
      expect(m.sd, name).toBeGreaterThan(0);
      // mean − 1 sd where higher is better, mean + 1 sd for MAE and ECE.
      expect(m.bound, name).toBeCloseTo(m.mean! + (m.higherIsBetter ? -1 : 1) * m.sd!, 12);
    }
    expect(metric(cv, 'roc_auc')!.mean).toBeGreaterThan(0.85);
    expect(cv.severity!.checks.map((c) => c.name)).toEqual([
      'mae',
      'categoryAccuracy',
      'binaryAccuracy',
      'separation.criticalHigh',
      'separation.highMedium',
      'separation.mediumLow',
      'separation.lowNormal',
    ]);
    expect(cv.severity!.bands.map((b) => b.name)).toEqual(['normal', 'low', 'medium', 'high', 'critical']);
    // The fold models differ from the run's model: their test parts are other examples.
    expect(metric(cv, 'roc_auc')!.values).not.toContain(result.metrics.roc_auc);

    // Promotion needs both the test split and the bound over the folds.
    expect(run.gate).toBe('severity');
    expect(typeof cv.gate!.promoted).toBe('boolean');
    if (!cv.gate!.promoted) {
      expect(result.promotion.promoted).toBe(false);
      expect(result.promotion.reasons.some((r) => r.startsWith('cross-validation (mean − 1 sd'))).toBe(true);
    }

    expect(run.splitViews.map((v: { name: string; main: boolean }) => [v.name, v.main])).toEqual([
      ['prospective (time split)', true],
      ['random split', false],
    ]);
    expect(run.splitViews[0].metrics).toEqual(run.metrics);
    expect(run.splitViews[1].metrics.severity_mae).toBeGreaterThan(0);
    expect(
      result.summary.some((l) => /^cross-validation \(5 folds\): roc_auc 0\.\d{3} ± 0\.\d{3}/.test(l)),
    ).toBe(true);
    expect(result.summary.some((l) => l.startsWith('random split: ROC-AUC'))).toBe(true);

    const report = await readFile(result.reportPath, 'utf8');
    for (const id of ['cv-metrics', 'cv-calibration', 'split-views'])
      expect(report).toContain(`data-plot="${id}"`);
    expect(report).toContain('Cross-validation (5 folds)');
    expect(report).toContain('Seed-001 calibration over the folds');
  });
});

describe('time series in the trainer', () => {
  const ims2 = sharedDataPath(import.meta.url, 'ims', 'ims_2nd_test_resmaple_10minutes.csv');
  const imsSeries = (extra: Record<string, unknown> = {}) => ({
    kind: 'timeseries' as const,
    path: ims2,
    timeColumn: '',
    valueColumns: ['Bearing 1', 'Bearing 2', 'Bearing 3', 'Bearing 4'],
    window: { size: 8, stride: 1 },
    trainFraction: 0.5,
    ...extra,
  });

  it('accepts an integer index as the time column and refuses it as timestamps, naming the key', async () => {
    const cfg = config({
      name: 'ims2-index',
      dataset: imsSeries(),
      model: { type: 'isolation_forest', params: { nEstimators: 50 } },
    });
    const data = (await prepareData(cfg, tmp, quiet)) as MatrixData;
    expect(data.notes[0]).toMatch(/ordered by "" \(an integer index\)/);
    expect(data.parts.normalHoldout!.X.rows).toBeGreaterThan(40);
    expect(data.parts.train.X.cols).toBe(32);
    const forced = config({
      name: 'ims2-index',
      dataset: imsSeries({ timeKind: 'timestamp' }),
      model: { type: 'isolation_forest' },
    });
    await expect(prepareData(forced, tmp, quiet)).rejects.toThrow(
      /ims_2nd_test_resmaple_10minutes\.csv: line 2, column "": a timestamp .*with dataset\.timeKind: index or auto, an integer index, got "0"/,
    );
  });

  it('reads text labels through labelMap, and names the line and the key without it', async () => {
    const labelled = {
      kind: 'timeseries' as const,
      path: sharedDataPath(import.meta.url, 'ims', 'ims_2nd_test_selvasundar_labelled.csv'),
      timeColumn: '',
      valueColumns: ['Bearing1_Mean', 'Bearing2_Mean', 'Bearing3_Mean', 'Bearing4_Mean'],
      labelColumn: 'Target',
      window: { size: 8, stride: 1 },
      trainFraction: 0.3,
    };
    const data = (await prepareData(
      config({
        name: 'ims2-labels',
        dataset: { ...labelled, labelMap: { Normal: 0, Anomaly: 1 } },
        model: { type: 'vae' },
      }),
      tmp,
      quiet,
    )) as MatrixData;
    expect(data.notes[0]).toMatch(/ordered by "" \(timestamps\)/);
    const y = data.parts.test.y!;
    expect(y.some((v) => v === 1) && y.some((v) => v === 0)).toBe(true);
    expect(data.parts.normalHoldout).toBeUndefined();
    await expect(
      prepareData(config({ name: 'ims2-labels', dataset: labelled, model: { type: 'vae' } }), tmp, quiet),
    ).rejects.toThrow(
      /line 2, column "Target": a label 0 \(normal\) or 1 \(anomalous\); use dataset\.labelMap for text labels, got "Normal"/,
    );
  });

  it('gates an unlabelled VAE on the alarm rate of held-out normal data, over blocked folds', async () => {
    const cfg = config({
      name: 'ims2-vae',
      dataset: imsSeries(),
      model: { type: 'vae', params: { epochs: 5 } },
      evaluation: { folds: 3 },
    });
    const result = await runTraining(cfg, quiet);
    const run = JSON.parse(await readFile(join(result.runDir, 'run.json'), 'utf8'));
    expect(run.gate).toBe('unsupervised');
    expect(result.metrics.roc_auc).toBeUndefined();
    const alarm = result.metrics.normal_alarm_rate!;
    expect(alarm).toBeGreaterThanOrEqual(0);
    expect(result.promotion.promoted ? [] : result.promotion.reasons).not.toContainEqual(
      expect.stringMatching(/ECE/),
    );
    const cv = result.crossValidation!;
    expect(cv.scheme).toMatch(/^3 contiguous blocks/);
    expect(metric(cv, 'normal_alarm_rate')!.values).toHaveLength(3);
    const mainPass = alarm <= 0.05;
    expect(result.promotion.promoted).toBe(mainPass && cv.gate!.promoted);
    if (!mainPass) expect(result.promotion.reasons[0]).toMatch(/^alarm rate on held-out normal data/);
  });

  it('promotes a VAE on a labelled series on ROC-AUC, where ECE used to block every one', async () => {
    const cfg = config({
      name: 'nab-vae-gate',
      dataset: {
        kind: 'timeseries',
        path: sharedDataPath(
          import.meta.url,
          'timeseries',
          'nab',
          'labeled',
          'machine_temperature_system_failure.csv',
        ),
        valueColumns: ['value'],
        labelColumn: 'label_window',
        window: { size: 32, stride: 1 },
      },
      model: { type: 'vae', params: { epochs: 5 } },
      promotion: { unsupervised: { minRocAuc: 0.6 } },
    });
    const result = await runTraining(cfg, quiet);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.6);
    expect(result.promotion).toMatchObject({ promoted: true, reasons: [] });
    expect(existsSync(join(tmp, 'models', 'current', 'nab-vae-gate'))).toBe(true);
    // The file's one backward clock step is named, not refused.
    const run = JSON.parse(await readFile(join(result.runDir, 'run.json'), 'utf8'));
    expect(run.notes.join('\n')).toMatch(/steps backwards at line 10151/);
    const strict = await runTraining(
      { ...cfg, promotion: { ...cfg.promotion, unsupervised: { minRocAuc: 0.99, maxAlarmRate: 0.05 } } },
      quiet,
    );
    expect(strict.promotion.reasons).toEqual([`ROC-AUC ${strict.metrics.roc_auc!.toFixed(3)} is not ≥ 0.99`]);
  });
});

describe('other data sets', () => {
  it('tabular: a time split by file order beside the random split, and stratified folds', async () => {
    const cfg = config({
      name: 'thyroid-time',
      dataset: {
        kind: 'tabular',
        path: sharedDataPath(import.meta.url, 'tabular', 'thyroid.csv'),
        labelColumn: 'label',
        split: { by: 'time' },
      },
      model: { type: 'isolation_forest', params: { nEstimators: 50 } },
      evaluation: { folds: 3 },
    });
    const data = (await prepareData(cfg, tmp, quiet)) as MatrixData;
    expect(data.split?.description).toMatch(/the 566 most recent rows \(by file order\)/);
    const result = await runTraining(cfg, quiet);
    expect(result.splitViews!.map((v) => v.name)).toEqual(['prospective (time split)', 'random split']);
    expect(result.splitViews![1]!.metrics.roc_auc).toBeGreaterThan(0.8);
    expect(metric(result.crossValidation!, 'roc_auc')!.values).toHaveLength(3);
    expect(result.crossValidation!.scheme).toMatch(/stratified by label/);
  });

  it('tabular: a baseline and index splits refuse a time split', async () => {
    const ims = config({
      name: 'ims-baseline',
      dataset: {
        kind: 'tabular',
        path: sharedDataPath(import.meta.url, 'ims', 'ims_2nd_test_selvasundar_labelled.csv'),
        featureColumns: ['Bearing1_Mean', 'Bearing2_Mean'],
        baseline: { firstRows: 300 },
        split: { by: 'time' },
      },
      model: { type: 'isolation_forest' },
    });
    await expect(prepareData(ims, tmp, quiet)).rejects.toThrow(/dataset\.split\.by: random with a baseline/);
  });

  it('sequences: stratified folds for the classifier; the file protocol folds its evaluation pool', async () => {
    const cfg = config({
      name: 'seq-cv',
      dataset: { kind: 'sequences', numSamples: 600 },
      model: { type: 'ngram', params: { mode: 'classifier', epochs: 3 } },
      evaluation: { folds: 3 },
    });
    const result = await runTraining(cfg, quiet);
    const cv = result.crossValidation!;
    expect(metric(cv, 'ece')!.values).toHaveLength(3);
    expect(metric(cv, 'n_test')!.values.reduce((a, b) => a! + b!, 0)).toBe(600);

    const adfa = sharedDataPath(import.meta.url, 'sequences', 'adfa_ld');
    const files = config({
      name: 'adfa-folds',
      dataset: {
        kind: 'sequences',
        train: join(adfa, 'train_normal.txt'),
        normal: join(adfa, 'validation_normal.txt'),
        anomalous: join(adfa, 'attack.txt'),
        maxTrain: 200,
      },
      model: { type: 'ngram' },
    });
    const data = await prepareData(files, tmp, quiet);
    if (data.kind !== 'sequences') throw new Error('expected sequences');
    const plan = data.folds!(4);
    const pool = data.parts.calibration!.sequences.length + data.parts.test.sequences.length;
    expect(plan.folds.reduce((a, f) => a + f.test.sequences.length, 0)).toBe(pool);
    for (const f of plan.folds) {
      expect(f.calibration!.sequences.length + f.test.sequences.length).toBe(pool);
      expect(f.train.sequences).toBe(data.parts.train.sequences);
    }
  });
});
