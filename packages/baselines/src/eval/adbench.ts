import { access, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type Detector,
  loadCsvDataset,
  loadIndexSplits,
  MinMaxScaler,
  parseCsvTable,
  rocAuc,
  ValidationError,
} from '@anomalia/core';
import { IsolationForest } from '../isolation-forest/isolation-forest';
import { LocalOutlierFactor } from '../lof/local-outlier-factor';
import { OneClassSVM } from '../ocsvm/one-class-svm';

export const ADBENCH_ALGORITHMS = ['IForest', 'LOF', 'OCSVM'] as const;
export type AdbenchAlgorithm = (typeof ADBENCH_ALGORITHMS)[number];

/**
 * Which random numbers IForest uses. "adbench" grows exactly the trees of PyOD's IForest as
 * ADBench ran it: random_state = None after np.random.seed(seed), i.e. one numpy stream through
 * the fit (the reference CSV was computed that way). "sklearn" grows scikit-learn's trees for
 * random_state = seed (as ../shared/reference/sklearn_baselines.py runs them). "anomalia" uses
 * core's generator: a different but equally distributed forest.
 */
export const IFOREST_RNGS = ['adbench', 'sklearn', 'anomalia'] as const;
export type IForestRng = (typeof IFOREST_RNGS)[number];

/**
 * The detectors with PyOD's defaults, as ADBench runs them: IForest with 100 trees and
 * max_samples "auto", LOF with 20 neighbours in novelty mode, OCSVM with an rbf kernel,
 * gamma = 1/d ("auto") and nu = 0.5. The split's seed seeds the forest.
 */
export function adbenchDetector(
  algorithm: AdbenchAlgorithm,
  seed: number,
  iforestRng: IForestRng = 'adbench',
): Detector {
  switch (algorithm) {
    case 'IForest':
      return new IsolationForest({
        nEstimators: 100,
        maxSamples: 'auto',
        seed,
        sklearnCompatible: iforestRng !== 'anomalia',
        sklearnRandomState: iforestRng === 'adbench' ? 'generator' : 'seed',
      });
    case 'LOF':
      return new LocalOutlierFactor({ nNeighbors: 20, novelty: true });
    case 'OCSVM':
      return new OneClassSVM({ kernel: 'rbf', gamma: 'auto', nu: 0.5 });
  }
}

export interface AdbenchResult {
  dataset: string;
  algorithm: AdbenchAlgorithm;
  seed: number;
  roc_auc: number;
  fit_s: number;
  score_s: number;
  n_train: number;
  n_test: number;
  d: number;
}

export interface AdbenchOptions {
  /** Data sets to run (default: every `<name>.csv` with a split file). */
  datasets?: string[];
  algorithms?: readonly AdbenchAlgorithm[];
  /** Split keys to run (default: every split in the file, e.g. "1", "2", "3"). */
  seeds?: string[];
  /** Random numbers of IForest (default "adbench"). */
  iforestRng?: IForestRng;
  /** Called with each result as soon as it is ready. */
  onResult?: (result: AdbenchResult) => void;
}

/** Path of the split file of a data set: `splits/<name>_adbench_splits.json`. */
export function splitPath(dataDir: string, name: string): string {
  return join(dataDir, 'splits', `${name}_adbench_splits.json`);
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The data sets of a directory: every `<name>.csv` that has a split file. `skipped` lists the
 * other CSV files (such as reference_roc_auc.csv), so a forgotten split file can be reported.
 */
export async function listAdbenchDatasets(
  dataDir: string,
): Promise<{ datasets: string[]; skipped: string[] }> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (e) {
    throw new ValidationError(
      'dataDir',
      'a readable directory',
      `${dataDir} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const datasets: string[] = [];
  const skipped: string[] = [];
  for (const file of entries.sort()) {
    if (!file.endsWith('.csv')) continue;
    const name = basename(file, '.csv');
    if (await exists(splitPath(dataDir, name))) datasets.push(name);
    else skipped.push(file);
  }
  return { datasets, skipped };
}

/**
 * The ADBench unsupervised protocol on every data set of a directory laid out as
 * `<name>.csv` (features…, `label` with 1 = anomaly) and `splits/<name>_adbench_splits.json`:
 * for each split, min-max scaling fitted on the train rows, the detector fitted on the whole
 * (contaminated) train part, ROC-AUC of its scores on the test rows.
 */
export async function runAdbench(dataDir: string, options: AdbenchOptions = {}): Promise<AdbenchResult[]> {
  const datasets = options.datasets ?? (await listAdbenchDatasets(dataDir)).datasets;
  if (datasets.length === 0) {
    throw new ValidationError(
      'dataDir',
      'at least one <name>.csv with splits/<name>_adbench_splits.json',
      dataDir,
    );
  }
  const algorithms = options.algorithms ?? ADBENCH_ALGORITHMS;
  const results: AdbenchResult[] = [];
  for (const name of datasets) {
    const csvPath = join(dataDir, `${name}.csv`);
    const split = splitPath(dataDir, name);
    if (!(await exists(csvPath))) throw new ValidationError('dataset', `a file ${csvPath}`, name);
    if (!(await exists(split)))
      throw new ValidationError(`${name}: split file`, `a file ${split}`, 'missing');
    const { X, y } = await loadCsvDataset(csvPath, { labelColumn: 'label' });
    const splits = await loadIndexSplits(split, X.rows);
    const keys = options.seeds ?? Object.keys(splits);
    for (const algorithm of algorithms) {
      for (const key of keys) {
        const s = splits[key];
        if (!s)
          throw new ValidationError(
            `${split}.splits`,
            `a split named "${key}"`,
            Object.keys(splits).join(', '),
          );
        const seed = Number(key);
        if (!Number.isInteger(seed))
          throw new ValidationError(`${split}.splits`, 'integer seeds as keys', key);
        const scaler = new MinMaxScaler();
        const Xtrain = scaler.fitTransform(X.selectRows(s.train));
        const Xtest = scaler.transform(X.selectRows(s.test));
        const yTest = Float64Array.from(s.test, (i) => y![i]!);
        const detector = adbenchDetector(algorithm, seed, options.iforestRng);
        const t0 = performance.now();
        await detector.fit(Xtrain);
        const t1 = performance.now();
        const scores = await detector.score(Xtest);
        const t2 = performance.now();
        const result: AdbenchResult = {
          dataset: name,
          algorithm,
          seed,
          roc_auc: rocAuc(yTest, scores),
          fit_s: (t1 - t0) / 1000,
          score_s: (t2 - t1) / 1000,
          n_train: s.train.length,
          n_test: s.test.length,
          d: X.cols,
        };
        results.push(result);
        options.onResult?.(result);
      }
    }
  }
  return results;
}

export interface ReferenceRow {
  dataset: string;
  algorithm: string;
  /** ROC-AUC in percent. */
  mean: number;
  std: number;
}

/** Reads `reference_roc_auc.csv` (dataset, algorithm, roc_auc_mean, roc_auc_std in percent, …). */
export async function loadReference(path: string): Promise<ReferenceRow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValidationError(
      'reference',
      'a readable reference_roc_auc.csv',
      `${path} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const table = parseCsvTable(text, { source: path });
  const col = (name: string) => {
    const j = table.header.indexOf(name);
    if (j < 0) throw new ValidationError(`${path}: header`, `a column "${name}"`, table.header.join(','));
    return j;
  };
  const [d, a, m, s] = [col('dataset'), col('algorithm'), col('roc_auc_mean'), col('roc_auc_std')];
  return table.rows.map((r, i) => {
    const mean = Number(r[m]);
    const std = Number(r[s]);
    if (!Number.isFinite(mean) || !Number.isFinite(std)) {
      throw new ValidationError(
        `${path}: line ${i + 2}`,
        'numeric roc_auc_mean and roc_auc_std',
        `${r[m]}, ${r[s]}`,
      );
    }
    return { dataset: r[d]!, algorithm: r[a]!, mean, std };
  });
}

/** Mean ROC-AUC (in percent) per data set and algorithm. */
export function meanAucs(results: readonly AdbenchResult[]): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const r of results) {
    const key = `${r.dataset}/${r.algorithm}`;
    const e = sums.get(key) ?? { sum: 0, n: 0 };
    e.sum += r.roc_auc * 100;
    e.n++;
    sums.set(key, e);
  }
  return new Map([...sums].map(([k, { sum, n }]) => [k, sum / n]));
}
