/**
 * ADBench protocol on every `<name>.csv` of a directory (header f0..f{d-1},label) with its
 * `splits/<name>_adbench_splits.json`: MinMax scaling fitted on the train part, the model fitted
 * on the whole (contaminated) train part without labels, ROC-AUC on the test part. One JSON
 * line per (dataset, model, seed); then, when `reference_roc_auc.csv` is present, one summary
 * line per model comparing the mean over datasets with PyOD's.
 *
 *   pnpm --filter @anomalia/neural eval:adbench -- --data-dir ../../../shared/data/tabular
 *   options: --models ae,vae  --seeds 1,2,3  --datasets cardio,thyroid  --epochs N
 *            --params '{"alpha":0}'  (extra model parameters, JSON)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCsvDataset, loadIndexSplits, MinMaxScaler, rocAuc } from '@anomalia/core';
import { AutoEncoder, VariationalAutoEncoder } from '../src/index';
import { parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
const dir = args.get('data-dir');
if (!dir) {
  console.error(
    'usage: eval:adbench -- --data-dir <dir> [--models ae,vae] [--seeds 1,2,3] [--datasets a,b] [--epochs N]',
  );
  process.exit(2);
}
const models = (args.get('models') ?? 'ae,vae').split(',');
const seedFilter = args.get('seeds')?.split(',');
const datasetFilter = args.get('datasets')?.split(',');
const epochs = args.has('epochs') ? Number(args.get('epochs')) : undefined;
const extra = JSON.parse(args.get('params') ?? '{}') as Record<string, unknown>;
const PYOD_NAME: Record<string, string> = { ae: 'AutoEncoder', vae: 'VAE' };

const files = (await readdir(dir))
  .filter((f) => f.endsWith('.csv') && f !== 'reference_roc_auc.csv')
  .map((f) => f.slice(0, -4))
  .filter((name) => !datasetFilter || datasetFilter.includes(name))
  .sort();
const results = new Map<string, number[]>();
for (const name of files) {
  const data = await loadCsvDataset(join(dir, `${name}.csv`), { labelColumn: 'label' });
  const splits = await loadIndexSplits(join(dir, 'splits', `${name}_adbench_splits.json`), data.X.rows);
  for (const [seed, split] of Object.entries(splits)) {
    if (seedFilter && !seedFilter.includes(seed)) continue;
    const scaler = new MinMaxScaler().fit(data.X.selectRows(split.train));
    const Xtr = scaler.transform(data.X.selectRows(split.train));
    const Xte = scaler.transform(data.X.selectRows(split.test));
    const yte = Float64Array.from(split.test, (i) => data.y![i]!);
    for (const model of models) {
      const common = { seed: Number(seed), ...(epochs ? { epochs } : {}), ...extra };
      const m =
        model === 'ae'
          ? new AutoEncoder(common)
          : model === 'vae'
            ? new VariationalAutoEncoder(common)
            : null;
      if (!m) throw new Error(`--models: expected ae and/or vae, received "${model}"`);
      const report = await m.fit(Xtr);
      const auc = rocAuc(yte, await m.score(Xte));
      m.releaseDevice();
      const key = `${name}|${model}`;
      results.set(key, [...(results.get(key) ?? []), auc]);
      console.log(
        JSON.stringify({
          dataset: name,
          model,
          seed: Number(seed),
          roc_auc: auc,
          fit_s: report.seconds,
          epochs: report.epochsRun,
          n_train: Xtr.rows,
          n_test: Xte.rows,
          d: Xtr.cols,
          backend: report.backend,
        }),
      );
    }
  }
}

let reference: Map<string, number> | null = null;
try {
  const text = await readFile(join(dir, 'reference_roc_auc.csv'), 'utf8');
  reference = new Map();
  for (const line of text.trim().split('\n').slice(1)) {
    const [dataset, algorithm, mean] = line.split(',');
    reference.set(`${dataset}|${algorithm}`, Number(mean) / 100);
  }
} catch {
  reference = null;
}
for (const model of models) {
  const per = files.map((name) => {
    const v = results.get(`${name}|${model}`) ?? [];
    return { dataset: name, ours: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length) };
  });
  const mean = per.reduce((a, b) => a + b.ours, 0) / Math.max(1, per.length);
  const refs = per.map((p) => reference?.get(`${p.dataset}|${PYOD_NAME[model]}`));
  const refMean = refs.every((r) => r !== undefined)
    ? refs.reduce((a, b) => a! + b!, 0)! / refs.length
    : null;
  console.log(
    JSON.stringify({
      summary: model,
      datasets: per.map((p, i) => ({ dataset: p.dataset, roc_auc: p.ours, pyod: refs[i] ?? null })),
      mean_roc_auc: mean,
      pyod_mean_roc_auc: refMean,
    }),
  );
}
