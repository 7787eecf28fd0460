import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAdbenchDatasets, loadReference, meanAucs, runAdbench } from './adbench';

/** The shared data, read in place. */
const TABULAR = `${sharedDataPath(import.meta.url, 'tabular')}/`;

/** The acceptance tolerances in ROC-AUC points (percent). */
const TOLERANCE: Record<string, number> = { LOF: 0.5, OCSVM: 1, IForest: 2 };

describe('ADBench evaluation on breastw', () => {
  it('matches the scikit-learn reference means (seeds 1–3, all three detectors)', async () => {
    // All three seeds, since the reference gives the mean over seeds 1–3; breastw is small (700 train rows).
    const results = await runAdbench(TABULAR, { datasets: ['breastw'] });
    expect(results).toHaveLength(9);
    const reference = await loadReference(join(TABULAR, 'reference_roc_auc.csv'));
    for (const [key, ours] of meanAucs(results)) {
      const [dataset, algorithm] = key.split('/') as [string, string];
      const ref = reference.find((r) => r.dataset === dataset && r.algorithm === algorithm)!;
      expect(Math.abs(ours - ref.mean), `${key}: ours ${ours.toFixed(2)} vs ${ref.mean}`).toBeLessThanOrEqual(
        TOLERANCE[algorithm]!,
      );
    }
  }, 60_000);
});

describe('ADBench evaluation: IForest on all six data sets', () => {
  it("reproduces the reference CSV's IForest means and spreads (PyOD's seeding, to its two decimals)", async () => {
    // ADBench ran PyOD's IForest with random_state = None after np.random.seed(seed); with that
    // seeding the forests are scikit-learn's own, so the means agree to the CSV's rounding.
    const results = await runAdbench(TABULAR, { algorithms: ['IForest'] });
    expect(results).toHaveLength(18);
    const reference = await loadReference(join(TABULAR, 'reference_roc_auc.csv'));
    const means = meanAucs(results);
    expect(means.size).toBe(6);
    for (const [key, ours] of means) {
      const [dataset] = key.split('/') as [string, string];
      const ref = reference.find((r) => r.dataset === dataset && r.algorithm === 'IForest')!;
      expect(Math.abs(ours - ref.mean), `${key}: ours ${ours.toFixed(3)} vs ${ref.mean}`).toBeLessThanOrEqual(
        0.005 + 1e-9,
      );
      const aucs = results.filter((r) => r.dataset === dataset).map((r) => r.roc_auc * 100);
      const std = Math.sqrt(aucs.reduce((s, a) => s + (a - ours) ** 2, 0) / aucs.length);
      expect(Math.abs(std - ref.std), `${key} spread: ${std.toFixed(3)} vs ${ref.std}`).toBeLessThanOrEqual(
        0.005 + 1e-9,
      );
    }
  }, 60_000);
});

describe('ADBench data directories', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adbench-'));
    await mkdir(join(dir, 'splits'));
    const csv = [
      'f0,f1,label',
      ...Array.from({ length: 20 }, (_, i) => `${i},${(i * 7) % 5},${i % 10 === 0 ? 1 : 0}`),
    ];
    await writeFile(join(dir, 'tiny.csv'), `${csv.join('\n')}\n`);
    await writeFile(join(dir, 'nosplit.csv'), `${csv.join('\n')}\n`);
    await writeFile(join(dir, 'broken.csv'), `${csv.join('\n')}\n`);
    await writeFile(join(dir, 'outside.csv'), `${csv.join('\n')}\n`);
    const train = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14];
    const test = [10, 15, 16, 17, 18, 19];
    await writeFile(
      join(dir, 'splits', 'tiny_adbench_splits.json'),
      JSON.stringify({ splits: { 1: { train, test } } }),
    );
    await writeFile(join(dir, 'splits', 'broken_adbench_splits.json'), '{"splits": {"1": {"train": [0, 1');
    await writeFile(
      join(dir, 'splits', 'outside_adbench_splits.json'),
      JSON.stringify({ splits: { 1: { train: [0, 99], test } } }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists the CSV files that have a split file', async () => {
    expect(await listAdbenchDatasets(dir)).toEqual({
      datasets: ['broken', 'outside', 'tiny'],
      skipped: ['nosplit.csv'],
    });
  });

  it('runs on any directory laid out the same way', async () => {
    const lines: unknown[] = [];
    const results = await runAdbench(dir, { datasets: ['tiny'], onResult: (r) => lines.push(r) });
    expect(results).toHaveLength(3);
    expect(lines).toEqual(results);
    for (const r of results) {
      expect(r).toMatchObject({ dataset: 'tiny', seed: 1, n_train: 14, n_test: 6, d: 2 });
      expect(r.roc_auc).toBeGreaterThanOrEqual(0);
      expect(r.roc_auc).toBeLessThanOrEqual(1);
    }
  });

  it('names the file when a split file is missing, malformed or out of range', async () => {
    await expect(runAdbench(dir, { datasets: ['nosplit'] })).rejects.toThrow(/nosplit_adbench_splits\.json/);
    await expect(runAdbench(dir, { datasets: ['broken'] })).rejects.toThrow(/broken_adbench_splits\.json/);
    await expect(runAdbench(dir, { datasets: ['outside'] })).rejects.toThrow(
      /outside_adbench_splits\.json.*train/,
    );
    await expect(runAdbench(dir, { datasets: ['tiny'], seeds: ['7'] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(runAdbench(join(dir, 'nowhere'))).rejects.toMatchObject({ field: 'dataDir' });
  });
});
