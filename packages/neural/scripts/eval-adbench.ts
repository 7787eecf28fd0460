/**
 * ADBench protocol on every `<name>.csv` of a directory (header f0..f{d-1},label) with its
 * `splits/<name>_adbench_splits.json`: MinMax scaling fitted on the train part, the model
 * (default parameters, seeded by the split's seed) fitted on the whole, contaminated train part
 * without labels, ROC-AUC on the test part. One JSON line per (dataset, model, seed); then, per
 * model, a summary line: per data set the mean ± std (population) over the seeds, with PyOD's
 * from `reference_roc_auc.csv` when present; with `--markdown`, the README's table.
 *
 *   pnpm --filter @anomalia/neural eval:adbench -- --data-dir ../../../shared/data/tabular
 *   options: --models ae,vae  --seeds 1,2,3  --datasets cardio,thyroid  --epochs N
 *            --params '{"alpha":0}'  (extra model parameters, JSON)  --markdown
 */
import { readdir } from 'node:fs/promises';
import {
  loadAdbench,
  meanStd,
  NEURAL_MODELS,
  type NeuralModelName,
  PYOD_NAME,
  REPORT_SETS,
  readReference,
  runSplit,
  SELECTION_SETS,
} from '../src/eval/adbench';
import { parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
const dir = args.get('data-dir');
if (!dir) {
  console.error(
    'usage: eval:adbench -- --data-dir <dir> [--models ae,vae] [--seeds 1,2,3] [--datasets a,b] [--epochs N] [--params JSON] [--markdown]',
  );
  process.exit(2);
}
const models = (args.get('models') ?? NEURAL_MODELS.join(',')).split(',') as NeuralModelName[];
for (const m of models) {
  if (!NEURAL_MODELS.includes(m)) throw new Error(`--models: expected ae and/or vae, received "${m}"`);
}
const seedFilter = args.get('seeds')?.split(',');
const datasetFilter = args.get('datasets')?.split(',');
const params: Record<string, unknown> = JSON.parse(args.get('params') ?? '{}');
if (args.has('epochs')) params.epochs = Number(args.get('epochs'));

const names = (await readdir(dir))
  .filter((f) => f.endsWith('.csv') && f !== 'reference_roc_auc.csv')
  .map((f) => f.slice(0, -4))
  .filter((name) => !datasetFilter || datasetFilter.includes(name))
  .sort();
const aucs = new Map<string, number[]>();
for (const name of names) {
  const set = await loadAdbench(dir, name);
  for (const seed of Object.keys(set.splits)) {
    if (seedFilter && !seedFilter.includes(seed)) continue;
    for (const model of models) {
      const r = await runSplit(set, seed, model, params);
      const key = `${name}|${model}`;
      aucs.set(key, [...(aucs.get(key) ?? []), 100 * r.roc_auc]);
      console.log(JSON.stringify(r));
    }
  }
}

const reference = await readReference(dir);
const role = (name: string) =>
  (REPORT_SETS as readonly string[]).includes(name)
    ? 'report'
    : (SELECTION_SETS as readonly string[]).includes(name)
      ? 'selection'
      : 'other';
const fmt = (v: { mean: number; std: number } | undefined) =>
  v ? `${v.mean.toFixed(2)} ± ${v.std.toFixed(2)}` : '–';
const summaries = models.map((model) => {
  const rows = names.map((dataset) => ({
    dataset,
    role: role(dataset),
    ours: meanStd(aucs.get(`${dataset}|${model}`) ?? []),
    pyod: reference?.get(`${dataset}|${PYOD_NAME[model]}`),
  }));
  const meanOf = (part: typeof rows, pick: (r: (typeof rows)[number]) => number | undefined) => {
    const v = part.map(pick);
    return part.length > 0 && v.every((x) => x !== undefined)
      ? v.reduce((a, b) => a! + b!, 0)! / v.length
      : null;
  };
  const groups = { all: rows, report: rows.filter((r) => r.role === 'report') };
  const means = Object.fromEntries(
    Object.entries(groups).map(([g, part]) => [
      g,
      { ours: meanOf(part, (r) => r.ours.mean), pyod: meanOf(part, (r) => r.pyod?.mean) },
    ]),
  );
  console.log(JSON.stringify({ summary: model, datasets: rows, means }));
  return { model, rows, means };
});

if (args.has('markdown')) {
  const header = [
    'dataset',
    'set',
    ...summaries.flatMap((s) => [s.model.toUpperCase(), `PyOD ${PYOD_NAME[s.model]}`]),
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const [i, dataset] of names.entries()) {
    const cells = summaries.flatMap((s) => [fmt(s.rows[i]!.ours), fmt(s.rows[i]!.pyod)]);
    console.log(`| ${dataset} | ${role(dataset)} | ${cells.join(' | ')} |`);
  }
  for (const g of ['report', 'all'] as const) {
    const cells = summaries.flatMap((s) =>
      [s.means[g]!.ours, s.means[g]!.pyod].map((v) => (v === null ? '–' : v.toFixed(2))),
    );
    console.log(`| **mean, ${g === 'report' ? 'report sets' : 'all six'}** | | ${cells.join(' | ')} |`);
  }
}
