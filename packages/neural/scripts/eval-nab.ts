/**
 * NAB (Numenta Anomaly Benchmark) with the VAE over sliding windows: for each
 * `<dir>/*.csv` (columns timestamp,value,label_window,label_point), windows of `--window`
 * points (stride 1); the model is trained on the windows inside the first 15 % of the series
 * and scores every window; a window's score goes to its last point. Reported on the points
 * after the training part: ROC-AUC and best F1 against the labelled anomaly windows
 * (label_window), and ROC-AUC against the single labelled points (label_point).
 *
 *   pnpm --filter @anomalia/neural eval:nab -- --data-dir ../../../shared/data/timeseries/nab/labeled
 *   options: --window 32  --train-fraction 0.15  --epochs N  --seed 1
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCsvDataset, Matrix, rocAuc } from '@anomalia/core';
import { VariationalAutoEncoder } from '../src/index';
import { numberArg, parseArgs } from './args';

/** Sliding windows (stride 1) of a series: row t holds values[t .. t + size − 1]. */
function slidingWindows(values: Float64Array, size: number): Matrix {
  const rows = values.length - size + 1;
  const out = new Matrix(Math.max(0, rows), size);
  for (let t = 0; t < rows; t++) out.data.set(values.subarray(t, t + size), t * size);
  return out;
}

/** The best F1 over all thresholds (a ranking metric, as NAB papers report; not a deployable threshold). */
function bestF1(y: Float64Array, s: Float64Array): number {
  const order = Array.from(s.keys()).sort((a, b) => s[b]! - s[a]!);
  const P = y.reduce((a, b) => a + b, 0);
  let tp = 0;
  let best = 0;
  for (let k = 0; k < order.length; k++) {
    tp += y[order[k]!]!;
    const next = order[k + 1];
    if (next !== undefined && s[next] === s[order[k]!]) continue;
    const precision = tp / (k + 1);
    const recall = tp / P;
    if (precision + recall > 0) best = Math.max(best, (2 * precision * recall) / (precision + recall));
  }
  return best;
}

const args = parseArgs(process.argv.slice(2));
const dir = args.get('data-dir');
if (!dir) {
  console.error(
    'usage: eval:nab -- --data-dir <dir> [--window 32] [--train-fraction 0.15] [--epochs N] [--seed 1]',
  );
  process.exit(2);
}
const window = numberArg(args, 'window', 32);
const trainFraction = numberArg(args, 'train-fraction', 0.15);
const seed = numberArg(args, 'seed', 1);
const epochs = args.has('epochs') ? numberArg(args, 'epochs', 50) : undefined;

const files = (await readdir(dir)).filter((f) => f.endsWith('.csv')).sort();
const rows: Array<{ roc_auc: number | null; best_f1: number | null }> = [];
for (const file of files) {
  const data = await loadCsvDataset(join(dir, file), {
    featureColumns: ['value', 'label_window', 'label_point'],
  });
  const values = data.X.getColumn(0);
  const labelWindow = data.X.getColumn(1);
  const labelPoint = data.X.getColumn(2);
  const n = values.length;
  const W = slidingWindows(values, window);
  const trainEnd = Math.floor(n * trainFraction);
  const trainWindows = W.selectRows(
    Int32Array.from({ length: Math.max(0, trainEnd - window + 1) }, (_, i) => i),
  );
  const model = new VariationalAutoEncoder({ seed, ...(epochs ? { epochs } : {}) });
  const report = await model.fit(trainWindows);
  const scores = await model.score(W);
  model.releaseDevice();
  // Point t gets the score of the window ending at t; evaluation on the points after training.
  const evalStart = Math.max(trainEnd, window - 1);
  const s = scores.subarray(evalStart - window + 1);
  const yw = labelWindow.subarray(evalStart);
  const yp = labelPoint.subarray(evalStart);
  const hasPositives = (y: Float64Array) => y.some((v) => v === 1) && y.some((v) => v === 0);
  const f1 = hasPositives(yw) ? bestF1(yw, s) : null;
  const row = {
    series: file.slice(0, -4),
    model: 'vae',
    window,
    n_points: n,
    n_train_windows: trainWindows.rows,
    n_eval_points: s.length,
    roc_auc: hasPositives(yw) ? rocAuc(yw, s) : null,
    best_f1: f1,
    roc_auc_point: hasPositives(yp) ? rocAuc(yp, s) : null,
    fit_s: report.seconds,
    epochs: report.epochsRun,
    backend: report.backend,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const mean = (k: 'roc_auc' | 'best_f1') => {
  const v = rows.map((r) => r[k]).filter((x): x is number => x !== null);
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
};
console.log(
  JSON.stringify({
    summary: 'vae',
    series: rows.length,
    mean_roc_auc: mean('roc_auc'),
    mean_best_f1: mean('best_f1'),
  }),
);
