/**
 * Real-data evaluation of the unsupervised sequence detector.
 *   pnpm --filter @anomalia/sequence eval -- --train <file> --normal <file> --anomalous <file>
 *     [--mode language-model|stide] [--order 8] [--smoothing witten-bell|kneser-ney|add-k]
 *     [--aggregate mean|max] [--window 7] [--seed 42]
 * Files: one sequence per line, tokens separated by spaces. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { ValidationError } from '@anomalia/core';
import { evaluateUnsupervised } from '../src/evaluate';
import { readSequencesFile } from '../src/io';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      train: { type: 'string' },
      normal: { type: 'string' },
      anomalous: { type: 'string' },
      mode: { type: 'string' },
      order: { type: 'string' },
      smoothing: { type: 'string' },
      aggregate: { type: 'string' },
      window: { type: 'string' },
      seed: { type: 'string', default: '42' },
    },
    strict: true,
  });
  for (const flag of ['train', 'normal', 'anomalous'] as const) {
    if (!values[flag]) throw new ValidationError(`--${flag}`, 'a file path (one sequence per line)');
  }
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ValidationError(`--${name}`, 'a number', v);
    return n;
  };
  const [train, normal, anomalous] = await Promise.all([
    readSequencesFile(values.train!, '--train'),
    readSequencesFile(values.normal!, '--normal'),
    readSequencesFile(values.anomalous!, '--anomalous'),
  ]);
  const params = Object.fromEntries(
    Object.entries({
      mode: values.mode,
      order: num('order', values.order),
      smoothing: values.smoothing,
      aggregate: values.aggregate,
      window: num('window', values.window),
    }).filter(([, v]) => v !== undefined),
  );
  const start = performance.now();
  const { detector: _, ...result } = await evaluateUnsupervised({
    train,
    normal,
    anomalous,
    params,
    seed: num('seed', values.seed),
  });
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  console.log(
    JSON.stringify({
      roc_auc: round(result.roc_auc),
      average_precision: round(result.average_precision),
      best_f1: round(result.best_f1),
      f1_at_fpr_1pct: round(result.f1_at_fpr_1pct),
      n_train: result.n_train,
      n_test: result.n_test,
      seconds: round((performance.now() - start) / 1000),
    }),
  );
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
