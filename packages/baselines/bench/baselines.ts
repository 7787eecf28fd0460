/**
 * Speed of the three detectors: fit on the first N rows (min-max scaled), score the same rows.
 *
 *   pnpm --filter @anomalia/baselines bench                       quick default: synthetic rows
 *   pnpm --filter @anomalia/baselines bench -- --csv FILE --algorithm iforest|lof|ocsvm --rows N
 *                                                               [--score same|next]
 *
 * FILE is a CSV with a header, numeric feature columns and a 0/1 `label` column (e.g. from
 * ../shared/reference/make_scale_csv.py). `--score next` scores the next N rows of the file (scaled
 * by the same scaler) instead of the fitted rows: new points, for which the LOF cannot reuse the
 * neighbours found in the fit. Prints one JSON line per run:
 * {"name","algorithm","n","d","fit_s","score_s","seconds","rows_per_s","roc_auc"}; timings are
 * in-process wall-clock seconds around fit() and score().
 */
import { resolve } from 'node:path';
import {
  type Detector,
  loadCsvDataset,
  type Matrix,
  MinMaxScaler,
  rocAuc,
  ValidationError,
} from '@anomalia/core';
import { plantedAnomalies } from '@anomalia/core/testing';
import { IsolationForest, LocalOutlierFactor, OneClassSVM } from '../src/index';

const ALGORITHMS = ['iforest', 'lof', 'ocsvm'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

/** The configurations compared with scikit-learn: PyOD's defaults (as in the ADBench evaluation). */
function create(algorithm: Algorithm, d: number): Detector {
  switch (algorithm) {
    case 'iforest':
      return new IsolationForest({ nEstimators: 100, seed: 1 });
    case 'lof':
      return new LocalOutlierFactor({ nNeighbors: 20, novelty: true });
    case 'ocsvm':
      return new OneClassSVM({ kernel: 'rbf', gamma: 1 / d, nu: 0.5 });
  }
}

function parseArgs(argv: string[]) {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--') || argv[i + 1] === undefined)
      throw new ValidationError(a, '--csv, --algorithm, --rows or --score with a value');
    args[a.slice(2)] = argv[++i]!;
  }
  const algorithms = (args.algorithm ?? ALGORITHMS.join(',')).split(',') as Algorithm[];
  for (const a of algorithms)
    if (!ALGORITHMS.includes(a)) throw new ValidationError('--algorithm', ALGORITHMS.join(', '), a);
  const rows = args.rows === undefined ? undefined : Number(args.rows);
  if (rows !== undefined && !(Number.isInteger(rows) && rows >= 2))
    throw new ValidationError('--rows', 'an integer ≥ 2', args.rows);
  const csv = args.csv && resolve(process.env.INIT_CWD ?? process.cwd(), args.csv);
  const score = (args.score ?? 'same') as 'same' | 'next';
  if (!['same', 'next'].includes(score)) throw new ValidationError('--score', 'same or next', score);
  if (score === 'next' && !csv) throw new ValidationError('--score', 'same (next needs --csv)', score);
  return { csv, algorithms, rows, score };
}

/** The rows to fit on and the rows to score (the same ones, or the next ones of the file). */
async function data(
  csv: string | undefined,
  rows: number | undefined,
  score: 'same' | 'next',
): Promise<{ X: Matrix; Xs: Matrix; y: Float64Array }> {
  if (!csv) {
    const planted = plantedAnomalies(rows ?? 3000, 16, 1, 0.05);
    return { X: planted.X, Xs: planted.X, y: planted.y };
  }
  const ds = await loadCsvDataset(csv, { labelColumn: 'label' });
  const n = Math.min(rows ?? ds.X.rows, score === 'next' ? Math.floor(ds.X.rows / 2) : ds.X.rows);
  const from = score === 'next' ? n : 0;
  const fitRows = Int32Array.from({ length: n }, (_, i) => i);
  const X = ds.X.selectRows(fitRows);
  if (score === 'same') return { X, Xs: X, y: ds.y!.slice(0, n) };
  const scoreRows = Int32Array.from({ length: n }, (_, i) => from + i);
  return { X, Xs: ds.X.selectRows(scoreRows), y: ds.y!.slice(from, from + n) };
}

async function main() {
  const { csv, algorithms, rows, score } = parseArgs(process.argv.slice(2));
  const { X: raw, Xs: rawScored, y } = await data(csv, rows, score);
  const scaler = new MinMaxScaler().fit(raw);
  const X = scaler.transform(raw);
  const Xs = score === 'same' ? X : scaler.transform(rawScored);
  for (const algorithm of algorithms) {
    const detector = create(algorithm, X.cols);
    const t0 = performance.now();
    await detector.fit(X);
    const t1 = performance.now();
    const scores = await detector.score(Xs);
    const t2 = performance.now();
    const seconds = (t2 - t0) / 1000;
    console.log(
      JSON.stringify({
        name: `baselines/${algorithm}`,
        algorithm,
        n: X.rows,
        d: X.cols,
        scored: score,
        fit_s: (t1 - t0) / 1000,
        score_s: (t2 - t1) / 1000,
        seconds,
        rows_per_s: X.rows / seconds,
        roc_auc: rocAuc(y, scores),
      }),
    );
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
