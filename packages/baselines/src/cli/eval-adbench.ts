/**
 * pnpm --filter @anomalia/baselines eval:adbench -- --data-dir <dir> [--datasets a,b]
 *   [--algorithms IForest,LOF,OCSVM] [--seeds 1,2,3] [--iforest-rng adbench|sklearn|anomalia]
 *
 * Runs the ADBench protocol (see runAdbench) on every `<name>.csv` of the directory that has
 * `splits/<name>_adbench_splits.json`, and prints one JSON line per (dataset, algorithm, seed)
 * on stdout. When the directory has `reference_roc_auc.csv`, a comparison table of the mean
 * ROC-AUCs goes to stderr.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValidationError } from '@anomalia/core';
import {
  ADBENCH_ALGORITHMS,
  type AdbenchAlgorithm,
  IFOREST_RNGS,
  type IForestRng,
  listAdbenchDatasets,
  loadReference,
  meanAucs,
  runAdbench,
} from '../eval/adbench';

function parseArgs(argv: string[]) {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--')) throw new ValidationError('arguments', '--name value pairs', a);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new ValidationError(a, 'a value');
    args[a.slice(2)] = value;
    i++;
  }
  const known = ['data-dir', 'datasets', 'algorithms', 'seeds', 'iforest-rng'];
  for (const k of Object.keys(args))
    if (!known.includes(k)) throw new ValidationError(`--${k}`, `one of --${known.join(', --')}`);
  if (!args['data-dir'])
    throw new ValidationError('--data-dir', 'the directory holding <name>.csv and splits/');
  const list = (v?: string) =>
    v
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const algorithms = list(args.algorithms);
  for (const a of algorithms ?? []) {
    if (!ADBENCH_ALGORITHMS.includes(a as AdbenchAlgorithm))
      throw new ValidationError('--algorithms', ADBENCH_ALGORITHMS.join(', '), a);
  }
  const iforestRng = args['iforest-rng'] ?? 'adbench';
  if (!IFOREST_RNGS.includes(iforestRng as IForestRng))
    throw new ValidationError('--iforest-rng', IFOREST_RNGS.join(', '), iforestRng);
  return {
    iforestRng: iforestRng as IForestRng,
    // pnpm runs scripts in the package directory; a relative path means relative to where pnpm was run.
    dataDir: resolve(process.env.INIT_CWD ?? process.cwd(), args['data-dir']),
    datasets: list(args.datasets),
    algorithms: algorithms as AdbenchAlgorithm[] | undefined,
    seeds: list(args.seeds),
  };
}

async function main() {
  const { dataDir, datasets, algorithms, seeds, iforestRng } = parseArgs(process.argv.slice(2));
  if (!datasets) {
    const { skipped } = await listAdbenchDatasets(dataDir);
    const unexpected = skipped.filter((f) => f !== 'reference_roc_auc.csv');
    if (unexpected.length) {
      process.stderr.write(
        `eval:adbench: skipping ${unexpected.join(', ')} (no splits/<name>_adbench_splits.json)\n`,
      );
    }
  }
  const results = await runAdbench(dataDir, {
    datasets,
    algorithms,
    seeds,
    iforestRng,
    onResult: (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  });
  const referencePath = join(dataDir, 'reference_roc_auc.csv');
  const hasReference = await access(referencePath).then(
    () => true,
    () => false,
  );
  if (!hasReference) return;
  const reference = await loadReference(referencePath);
  const ours = meanAucs(results);
  const lines = ['| dataset | algorithm | ours | reference | difference |', '|---|---|---:|---:|---:|'];
  for (const [key, mean] of ours) {
    const [dataset, algorithm] = key.split('/');
    const ref = reference.find((r) => r.dataset === dataset && r.algorithm === algorithm);
    const diff = ref ? (mean - ref.mean).toFixed(2) : 'n/a';
    lines.push(
      `| ${dataset} | ${algorithm} | ${mean.toFixed(2)} | ${ref ? ref.mean.toFixed(2) : 'n/a'} | ${diff} |`,
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`eval:adbench: ${(e as Error).message}\n`);
  process.exit(1);
});
