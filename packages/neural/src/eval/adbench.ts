import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Dataset, loadCsvDataset, loadIndexSplits, MinMaxScaler, rocAuc } from '@anomalia/core';
import { AutoEncoder, type AutoEncoderInput } from '../autoencoder';
import { VariationalAutoEncoder, type VariationalAutoEncoderInput } from '../vae';

/**
 * The ADBench protocol for the neural detectors (used by scripts/ and the ADBench tests, not
 * exported): MinMax scaling fitted on the train part (as ADBench does before PyOD, whose models
 * then standardise again inside), the model fitted on the whole, contaminated train part
 * without labels, ROC-AUC on the test part.
 */

/**
 * How the six ADBench sets are used (fixed before any run: alphabetical order, every other one).
 * The defaults were chosen on the selection sets only (scripts/select-defaults.ts); the report
 * sets were not looked at until they were fixed.
 */
export const SELECTION_SETS = ['breastw', 'pendigits', 'thyroid'] as const;
export const REPORT_SETS = ['cardio', 'satellite', 'vowels'] as const;

export const NEURAL_MODELS = ['ae', 'vae'] as const;
export type NeuralModelName = (typeof NEURAL_MODELS)[number];
/** The algorithm names of the reference CSV. */
export const PYOD_NAME: Record<NeuralModelName, string> = { ae: 'AutoEncoder', vae: 'VAE' };

export interface AdbenchData {
  name: string;
  data: Dataset;
  splits: Record<string, { train: Int32Array; test: Int32Array }>;
}

export async function loadAdbench(dir: string, name: string): Promise<AdbenchData> {
  const data = await loadCsvDataset(join(dir, `${name}.csv`), { labelColumn: 'label' });
  const splits = await loadIndexSplits(join(dir, 'splits', `${name}_adbench_splits.json`), data.X.rows);
  return { name, data, splits };
}

export interface RunResult {
  dataset: string;
  model: NeuralModelName;
  seed: number;
  roc_auc: number;
  fit_s: number;
  epochs: number;
  n_train: number;
  n_test: number;
  d: number;
  backend: string;
}

/** One model on one split: the split's seed seeds the model; `params` override the defaults. */
export async function runSplit(
  set: AdbenchData,
  seed: string,
  model: NeuralModelName,
  params: Record<string, unknown> = {},
): Promise<RunResult> {
  const split = set.splits[seed];
  if (!split) throw new Error(`${set.name}: no split "${seed}"`);
  const { X, y } = set.data;
  const scaler = new MinMaxScaler().fit(X.selectRows(split.train));
  const Xtr = scaler.transform(X.selectRows(split.train));
  const Xte = scaler.transform(X.selectRows(split.test));
  const yte = Float64Array.from(split.test, (i) => y![i]!);
  const common = { seed: Number(seed), ...params };
  const m =
    model === 'ae'
      ? new AutoEncoder(common as AutoEncoderInput)
      : new VariationalAutoEncoder(common as VariationalAutoEncoderInput);
  const report = await m.fit(Xtr);
  const auc = rocAuc(yte, await m.score(Xte));
  m.releaseDevice();
  return {
    dataset: set.name,
    model,
    seed: Number(seed),
    roc_auc: auc,
    fit_s: report.seconds,
    epochs: report.epochsRun,
    n_train: Xtr.rows,
    n_test: Xte.rows,
    d: Xtr.cols,
    backend: report.backend,
  };
}

/** PyOD's ROC-AUC (%) per `<dataset>|<algorithm>`: mean and std over the seeds. */
export async function readReference(dir: string): Promise<Map<string, { mean: number; std: number }> | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'reference_roc_auc.csv'), 'utf8');
  } catch {
    return null;
  }
  const out = new Map<string, { mean: number; std: number }>();
  for (const line of text.trim().split('\n').slice(1)) {
    const [dataset, algorithm, mean, std] = line.split(',');
    out.set(`${dataset}|${algorithm}`, { mean: Number(mean), std: Number(std) });
  }
  return out;
}

/** Mean and (population, as numpy's default) standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = Math.max(1, values.length);
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { mean, std };
}
