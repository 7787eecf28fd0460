import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IsolationForest } from '@anomalia/baselines';
import { loadArtifact, Matrix } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { createClinicDatabase, tableChecksum } from '@anomalia/db-sqlite';
import { FEATURE_SETS } from '@anomalia/features';
import { EnergyModel } from '@anomalia/neural';
import { loadOnnxDetector } from '@anomalia/onnx';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, parseConfig } from './config/load';
import type { TrainConfigInput } from './config/schema';
import { parityRows } from './export-command';
import { main } from './main';
import { runTraining } from './pipeline/run';
import { createProgress } from './progress';

/**
 * ONNX in the train app, end to end on a synthetic clinic: the EBM exported beside its tfjs
 * artifact with a parity check, that export evaluated again without fitting, and the PyTorch EBM
 * fixture of @anomalia/onnx (74 inputs) evaluated on the clinic's qa74 features.
 */
const repoRoot = resolve(__dirname, '../../..');
const torchFixture = join(repoRoot, 'packages', 'onnx', 'fixtures', 'torch-ebm.onnx');
const quiet = createProgress({ quiet: true });
const QA74 = FEATURE_SETS.qa74.features.map((f) => f.name);

let tmp: string;
let clinic: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'anomalia-train-onnx-'));
  clinic = join(tmp, 'clinic.sqlite');
  createClinicDatabase(clinic, { seed: 7, records: 20_000 });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const outputs = () => [`output.runsDir=${join(tmp, 'runs')}`, `promotion.modelsDir=${join(tmp, 'models')}`];
const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
/** max |a − b| / max(1, |a|) over the rows. */
const maxScaledDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(b.length).toBe(a.length);
  let max = 0;
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return max;
};

/** Runs the CLI in-process: exit code and what it wrote. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** The main job (configs/mosaiq-ebm.yaml) on small settings. */
const mosaiqJob = (extra: string[]) =>
  loadConfig(join(repoRoot, 'configs', 'mosaiq-ebm.yaml'), [
    `dataset.source=${clinic}`,
    'dataset.normal=600',
    'dataset.adversarial=600',
    'model.params.epochs=40',
    ...outputs(),
    ...extra,
  ]);

/** The PyTorch fixture on the clinic's qa74 features. */
const torchOnClinic = (model: Record<string, unknown>, extra: Partial<TrainConfigInput> = {}) =>
  parseConfig({
    name: 'torch-ebm',
    seed: 42,
    dataset: { kind: 'mosaiq', source: clinic, normal: 300, adversarial: 300, features: 'qa74' },
    model: { type: 'onnx', path: torchFixture, ...model },
    output: { runsDir: join(tmp, 'runs') },
    promotion: { modelsDir: join(tmp, 'models') },
    ...extra,
  });

describe('export: { onnx: true }', () => {
  let exported: Awaited<ReturnType<typeof runTraining>>;

  it('writes the EBM as ONNX beside its artifact, checks parity on the test split, and promotes both', async () => {
    exported = await runTraining(await mosaiqJob(['export.onnx=true']), quiet);
    const run = await readJson(join(exported.runDir, 'run.json'));
    const record = run.onnx.export;
    expect(record.path).toBe('onnx');
    expect(record.inputType).toBe('float64');
    expect(record.opset).toBe(17);
    // The test split, every row, within the bound @anomalia/onnx documents (1e-5 · max(1, |score|)).
    expect(record.parity.rows).toBe('the test split');
    expect(record.parity.n).toBeGreaterThan(100);
    expect(record.parity.maxScaledDiff).toBeLessThanOrEqual(1e-5);
    expect(record.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, record.parity.maxScore));
    expect(record.parity.decisionsDiffer).toBe(0);
    expect(record.parity.probabilityMaxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(record.parity.pass).toBe(true);
    expect(exported.summary.join('\n')).toMatch(/ONNX parity on the test split \(\d+ rows\).*: PASS/);

    // The run's ONNX artifact: the model's threshold, calibrator and feature names.
    const tfjs = await loadArtifact(join(exported.runDir, 'model'));
    const onnx = await loadArtifact(join(exported.runDir, 'onnx'));
    expect(onnx.kind).toBe('onnx');
    expect(onnx.featureNames).toEqual(tfjs.featureNames);
    expect(onnx.threshold).toEqual(tfjs.threshold);
    expect(onnx.calibrator).toEqual(tfjs.calibrator);
    expect(onnx.threshold?.split).toBe('validation');

    // Promoted (or kept as a candidate) with both, and the export's checksum in promotion.json.
    const dest = exported.promotion.destination;
    expect(existsSync(join(dest, 'model', 'manifest.json'))).toBe(true);
    expect(existsSync(join(dest, 'onnx', 'model.onnx'))).toBe(true);
    const promotion = await readJson(join(dest, 'promotion.json'));
    expect(promotion.onnx).toEqual({
      dir: 'onnx',
      sha256: record.sha256,
      scoresAreSeverities: true,
      parity: record.parity,
    });

    // Independently of the run's check: the promoted ONNX scores as the promoted tfjs model.
    const model = await EnergyModel.load(join(dest, 'model'));
    const detector = await loadOnnxDetector(join(dest, 'onnx'));
    try {
      const X = parityRows(tfjs, 500, 3);
      expect(maxScaledDiff(await model.score(X), await detector.score(X))).toBeLessThanOrEqual(1e-5);
    } finally {
      model.releaseDevice();
      await detector.close();
    }
    const html = await readFile(exported.reportPath, 'utf8');
    expect(html).toContain('data-section="onnx-export"');
    expect(html).toMatch(/Parity over \d+ rows: <span class="pass">pass<\/span>/);
  });

  it("evaluating that export without fitting reproduces the trained model's evaluation", async () => {
    const again = await runTraining(
      await mosaiqJob([
        'name=mosaiq-ebm-onnx',
        `model={type: onnx, path: ${exported.promotion.destination}}`,
      ]),
      quiet,
    );
    const run = await readJson(join(again.runDir, 'run.json'));
    expect(run.onnx.evaluated).toMatchObject({
      path: join(exported.promotion.destination, 'onnx'),
      form: 'artifact',
      source: 'energy-model',
      featureNamesFrom: 'model',
      scoresAreSeverities: true,
    });
    expect(run.gate).toBe('severity');
    expect(run.backend).toBe('onnxruntime-node');
    expect(run.timings.fit).toBeUndefined();
    // Same data, same splits, the same scores to 1e-5: the same threshold and the same metrics.
    const first = await readJson(join(exported.runDir, 'run.json'));
    expect(run.threshold.strategy).toBe(first.threshold.strategy);
    expect(run.threshold.value).toBeCloseTo(first.threshold.value, 4);
    for (const name of ['roc_auc', 'severity_mae', 'category_accuracy', 'binary_accuracy', 'accuracy']) {
      expect(again.metrics[name], name).toBeCloseTo(exported.metrics[name]!, 4);
    }
    expect(again.promotion.promoted).toBe(exported.promotion.promoted);
    // Its saved model is an onnx artifact (the monitor loads it by that kind).
    expect((await loadArtifact(join(again.runDir, 'model'))).kind).toBe('onnx');
  });

  it('anomalia-train export-onnx converts a saved model, keeping the export only when parity passes', async () => {
    const runRecord = (await readJson(join(exported.runDir, 'run.json'))).onnx.export;
    const out = join(tmp, 'cli-export');
    let r = await cli(['export-onnx', exported.runDir, '--out', out, '--rows', '500']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^exported: .*cli-export \(\d+ bytes, sha256 [0-9a-f]{64}\)\nONNX parity on rows drawn across the range of the model's scaler \(seed 0\) \(500 rows\): .*: PASS\n$/,
    );
    // The same model, the same bytes as the run's own export.
    expect((await loadArtifact(out)).state.modelSha256).toBe(runRecord.sha256);

    r = await cli(['export-onnx', exported.runDir, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: .*cli-export exists: pass --force to replace it/);
    // A tolerance no float32 network meets: reported, and the existing export is left as it was.
    r = await cli(['export-onnx', exported.runDir, '--out', out, '--force', '--tolerance', '1e-12']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^NOT exported: .*\n.*: FAIL\n$/);
    expect((await loadArtifact(out)).state.modelSha256).toBe(runRecord.sha256);
    expect((await readdir(tmp)).filter((f) => f.includes('staging'))).toEqual([]);

    // A bare file with a float32 input.
    const file = join(tmp, 'ebm-float32.onnx');
    r = await cli(['export-onnx', join(exported.runDir, 'model'), '--out', file, '--input-type', 'float32']);
    expect(r.code).toBe(0);
    const f32 = await loadOnnxDetector(file);
    try {
      expect(f32.params.inputType).toBe('float32');
      expect(f32.threshold).toEqual((await loadArtifact(join(exported.runDir, 'model'))).threshold);
    } finally {
      await f32.close();
    }

    // A promoted model without an export gains onnx/ beside model/, recorded in promotion.json.
    const copy = join(tmp, 'promoted-copy');
    await cp(exported.promotion.destination, copy, { recursive: true });
    await rm(join(copy, 'onnx'), { recursive: true });
    r = await cli(['export-onnx', copy]);
    expect(r.code).toBe(0);
    expect((await loadArtifact(join(copy, 'onnx'))).kind).toBe('onnx');
    const promotion = await readJson(join(copy, 'promotion.json'));
    expect(promotion.onnx).toMatchObject({
      dir: 'onnx',
      sha256: runRecord.sha256,
      scoresAreSeverities: true,
    });
    expect(promotion.onnx.parity.pass).toBe(true);
    expect(promotion.runId).toBe(exported.runId);

    // What cannot be exported is refused, naming it.
    const forest = new IsolationForest({ nEstimators: 10 });
    await forest.fit(
      Matrix.fromRows([
        [0, 1],
        [1, 0],
        [1, 1],
        [0, 0],
      ]),
    );
    await forest.save(join(tmp, 'forest'));
    r = await cli(['export-onnx', join(tmp, 'forest')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /forest\/manifest\.json is of kind "isolation-forest": ONNX export covers energy-model, autoencoder, variational-autoencoder/,
    );
    r = await cli(['export-onnx', join(exported.runDir, 'onnx'), '--out', join(tmp, 'again')]);
    expect(r.stderr).toMatch(/is of kind "onnx".*this one is ONNX already/);
    r = await cli(['export-onnx', exported.runDir, '--rows', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --rows: /);
    r = await cli(['export-onnx', tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds no model/);
  });
});

describe('export and evaluation only with the autoencoders, on ADBench cardio', () => {
  const cardio = (name: string, model: Record<string, unknown>, extra: Partial<TrainConfigInput> = {}) =>
    parseConfig({
      name,
      seed: 1,
      dataset: {
        kind: 'tabular',
        path: sharedDataPath(import.meta.url, 'tabular', 'cardio.csv'),
        labelColumn: 'label',
        indexSplits: {
          path: sharedDataPath(import.meta.url, 'tabular', 'splits', 'cardio_adbench_splits.json'),
        },
      },
      model,
      output: { runsDir: join(tmp, 'runs') },
      promotion: { modelsDir: join(tmp, 'models') },
      ...extra,
    });

  it.each(['autoencoder', 'vae'])(
    '%s: exported with parity, then evaluated unfitted with the same results',
    async (type) => {
      const trained = await runTraining(
        cardio(`cardio-${type}`, { type, params: { epochs: 10 } }, { export: { onnx: true } }),
        quiet,
      );
      const first = await readJson(join(trained.runDir, 'run.json'));
      expect(first.onnx.export.parity).toMatchObject({
        rows: 'the test split',
        pass: true,
        decisionsDiffer: 0,
      });
      expect(first.onnx.export.parity.maxScaledDiff).toBeLessThanOrEqual(1e-5);
      expect(first.gate).toBe('unsupervised');

      const again = await runTraining(
        cardio(`cardio-${type}-onnx`, { type: 'onnx', path: trained.runDir }),
        quiet,
      );
      const run = await readJson(join(again.runDir, 'run.json'));
      expect(run.onnx.evaluated).toMatchObject({
        path: join(trained.runDir, 'onnx'),
        source: type === 'vae' ? 'variational-autoencoder' : 'autoencoder',
        scoresAreSeverities: false,
        featureNamesFrom: 'model',
      });
      expect(run.gate).toBe('unsupervised');
      expect(run.threshold.value).toBeCloseTo(first.threshold.value, 4);
      for (const name of ['roc_auc', 'average_precision', 'f1', 'accuracy'])
        expect(again.metrics[name], name).toBeCloseTo(trained.metrics[name]!, 4);
      expect(again.promotion.promoted).toBe(trained.promotion.promoted);
    },
  );
});

describe('model: { type: onnx } with the PyTorch EBM fixture on the Mosaiq qa74 features', () => {
  it('evaluates it without fitting: names matched in order, threshold on validation, report, gate', async () => {
    const names = join(tmp, 'qa74-features.txt');
    await writeFile(names, `${QA74.join('\n')}\n`);
    const before = tableChecksum(clinic);
    const result = await runTraining(
      torchOnClinic({ featureNames: names, scoresAreSeverities: true, session: { intraOpNumThreads: 1 } }),
      quiet,
    );
    expect(tableChecksum(clinic)).toBe(before);
    const run = await readJson(join(result.runDir, 'run.json'));
    const fixture = await readFile(torchFixture);
    const { createHash } = await import('node:crypto');
    expect(run.onnx.evaluated).toMatchObject({
      form: 'file',
      source: 'external',
      sha256: createHash('sha256').update(fixture).digest('hex'),
      opset: 17,
      input: { name: 'features', type: 'float32' },
      scoreOutput: 'energy',
      featureNames: QA74,
      featureNamesFrom: 'config',
      carried: { threshold: null, calibrator: null },
    });
    expect(run.threshold.strategy).toBe('max-f1 on the validation split');
    expect(run.gate).toBe('severity');
    expect(run.notes.join(' ')).toMatch(/Evaluation only: .*torch-ebm\.onnx .*not fitted/);
    // The gate decided: a model trained on synthetic rows is no severity model of this clinic.
    expect(result.promotion.promoted).toBe(false);
    expect(result.promotion.reasons.some((r) => /severity MAE/.test(r))).toBe(true);
    expect(result.promotion.destination).toBe(join(tmp, 'models', 'candidates', result.runId));
    // What a loader of promoted models needs: the ONNX model is model/, its scores are severities.
    expect((await readJson(join(result.promotion.destination, 'promotion.json'))).onnx).toEqual({
      dir: 'model',
      sha256: run.onnx.evaluated.sha256,
      source: 'external',
      scoresAreSeverities: true,
    });
    expect(result.metrics.roc_auc).toBeGreaterThanOrEqual(0);
    const html = await readFile(result.reportPath, 'utf8');
    expect(html).toContain('data-section="onnx-model"');
    expect(html).toContain('Severity calibration');

    // The candidate is an onnx artifact of the same graph, with the clinic's names and threshold:
    // it scores the fixture's rows as PyTorch did.
    const saved = await loadOnnxDetector(join(result.promotion.destination, 'model'));
    try {
      expect(saved.featureNames).toEqual(QA74);
      expect(saved.threshold?.value).toBe(run.threshold.value);
      expect(saved.calibrator).not.toBeNull();
      const ref = await readJson(join(repoRoot, 'packages', 'onnx', 'fixtures', 'torch-ebm.json'));
      expect(maxScaledDiff(ref.energies, await saved.score(Matrix.fromRows(ref.rows)))).toBeLessThanOrEqual(
        1e-5,
      );
    } finally {
      await saved.close();
    }
  });

  it('evaluates it over folds and beside a time split: each fold re-chooses threshold and calibration only', async () => {
    const result = await runTraining(
      torchOnClinic(
        { featureNames: QA74, scoresAreSeverities: true },
        {
          dataset: {
            kind: 'mosaiq',
            source: clinic,
            normal: 300,
            adversarial: 300,
            features: 'qa74',
            split: { by: 'time' },
          },
          evaluation: { folds: 3 },
        },
      ),
      quiet,
    );
    const cv = result.crossValidation!;
    expect(cv.folds).toBe(3);
    const auc = cv.metrics.find((m) => m.name === 'roc_auc')!;
    expect(auc.values).toHaveLength(3);
    for (const v of auc.values) expect(v).toBeGreaterThanOrEqual(0);
    expect(result.splitViews?.map((v) => v.name)).toEqual(['prospective (time split)', 'random split']);
    expect(result.promotion.promoted).toBe(false);
  });

  it("refuses feature names that differ from the data set's, naming the feature, before touching the data", async () => {
    const runs = existsSync(join(tmp, 'runs')) ? await readdir(join(tmp, 'runs')) : [];
    const swapped = [...QA74];
    [swapped[3], swapped[7]] = [swapped[7]!, swapped[3]!];
    await expect(runTraining(torchOnClinic({ featureNames: swapped }), quiet)).rejects.toThrow(
      `model.featureNames[3]: expected the data set's features in the same order: column 3 is "${QA74[7]}" in model.featureNames and "${QA74[3]}" in the data set`,
    );
    const renamed = [...QA74];
    renamed[10] = 'gantry_speed';
    await expect(runTraining(torchOnClinic({ featureNames: renamed }), quiet)).rejects.toThrow(
      `model.featureNames[10]: expected the data set's 74 features in order (model.featureNames has 74): the data set lacks gantry_speed; model.featureNames lacks ${QA74[10]}`,
    );
    // The cohort set has more columns than the model takes.
    await expect(
      runTraining(
        torchOnClinic(
          { featureNames: QA74 },
          { dataset: { kind: 'mosaiq', source: clinic, features: 'qa74-cohort' } },
        ),
        quiet,
      ),
    ).rejects.toThrow(
      /model\.featureNames: expected the data set's \d+ features in order \(model\.featureNames has 74\): model\.featureNames lacks /,
    );
    // Names the model cannot take (its input is 74 wide), or none at all.
    await expect(runTraining(torchOnClinic({ featureNames: QA74.slice(0, 70) }), quiet)).rejects.toThrow(
      /model\.featureNames: expected 74 names \(the width of input "features"\)/,
    );
    await expect(runTraining(torchOnClinic({}), quiet)).rejects.toThrow(
      /model\.featureNames: .*torch-ebm\.onnx carries no feature names: list the 74 columns it was trained on/,
    );
    // Refused before a run directory exists or the clinic is read.
    expect(existsSync(join(tmp, 'runs')) ? await readdir(join(tmp, 'runs')) : []).toEqual(runs);
  });

  it('refuses what the model cannot give and files that are not models, naming the key', async () => {
    await expect(
      runTraining(torchOnClinic({ featureNames: QA74 }, { threshold: { strategy: 'model' } }), quiet),
    ).rejects.toThrow(/threshold\.strategy: "model" keeps the model's own threshold, and .* carries none/);
    await expect(
      runTraining(torchOnClinic({ featureNames: QA74 }, { calibration: 'model' }), quiet),
    ).rejects.toThrow(/calibration: "model" keeps the model's own calibrator, and .* carries none/);
    await expect(
      runTraining(torchOnClinic({ featureNames: QA74, sha256: '0'.repeat(64) }), quiet),
    ).rejects.toThrow(/model\.path: .*torch-ebm\.onnx: .*sha256: checksum mismatch/);
    const notOnnx = join(tmp, 'not-a-model.onnx');
    await writeFile(notOnnx, 'hello');
    await expect(runTraining(torchOnClinic({ path: notOnnx, featureNames: QA74 }), quiet)).rejects.toThrow(
      /model\.path: .*not-a-model\.onnx: /,
    );
    await expect(runTraining(torchOnClinic({ path: join(tmp, 'missing.onnx') }), quiet)).rejects.toThrow(
      /model\.path: cannot read .*missing\.onnx \(ENOENT\)/,
    );
    await expect(
      runTraining(
        parseConfig({
          name: 'x',
          dataset: { kind: 'sequences', numSamples: 50 },
          model: { type: 'onnx', path: torchFixture, featureNames: QA74 },
          output: { runsDir: join(tmp, 'runs') },
        }),
        quiet,
      ),
    ).rejects.toThrow(/dataset\.kind: mosaiq, tabular or timeseries for model\.type "onnx"/);
  });
});
