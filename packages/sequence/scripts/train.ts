/**
 * Trains the supervised n-gram classifier and applies the promotion gate, like the original
 * `train_any_model.py --model-type anomaly`:
 *   pnpm --filter @anomalia/sequence train -- [--data <file.jsonl>] [--num-samples 10000]
 *     [--epochs 10] [--batch-size 32] [--seed 42] [--output models] [--weighting logistic|original]
 *     [--max-ece 0.08] [--min-accuracy 0.85]
 * Without --data, labelled sequences come from the synthetic generator. A data file holds one
 * JSON object per line: {"sequence": ["read", "write"], "label": 0}. The split is 80/20, stratified.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stratifiedTrainTestSplit, ValidationError } from '@anomalia/core';
import { promoteModel } from '../src/gate';
import { type LabelledSequence, NGramClassifier, unzipLabelled } from '../src/ngram-classifier';
import { generateSyntheticSamples } from '../src/synthetic';
import { assertSequence } from '../src/validate';

const log = (msg: string) => console.error(`[INFO] ${msg}`);

async function readLabelled(path: string): Promise<LabelledSequence[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValidationError('--data', `a readable JSONL file (${(e as NodeJS.ErrnoException).code})`, path);
  }
  const out: LabelledSequence[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let row: { sequence?: unknown; label?: unknown };
    try {
      row = JSON.parse(line);
    } catch {
      throw new ValidationError(
        `--data line ${i + 1}`,
        'a JSON object {"sequence": [...], "label": 0|1}',
        line,
      );
    }
    assertSequence(row.sequence, `--data line ${i + 1}: sequence`);
    if (row.label !== 0 && row.label !== 1)
      throw new ValidationError(`--data line ${i + 1}: label`, '0 or 1', row.label);
    out.push({ sequence: row.sequence, label: row.label });
  });
  if (out.length === 0) throw new ValidationError('--data', 'at least one labelled sequence', path);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      data: { type: 'string' },
      'num-samples': { type: 'string', default: '10000' },
      epochs: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: '32' },
      seed: { type: 'string', default: '42' },
      output: { type: 'string', default: 'models' },
      weighting: { type: 'string', default: 'logistic' },
      'max-ece': { type: 'string', default: '0.08' },
      'min-accuracy': { type: 'string', default: '0.85' },
    },
    strict: true,
  });
  const int = (flag: string) => {
    const v = Number(values[flag as keyof typeof values]);
    if (!Number.isInteger(v) || v < 1)
      throw new ValidationError(`--${flag}`, 'a positive integer', values[flag as keyof typeof values]);
    return v;
  };
  const num = (flag: string) => {
    const v = Number(values[flag as keyof typeof values]);
    if (!Number.isFinite(v))
      throw new ValidationError(`--${flag}`, 'a number', values[flag as keyof typeof values]);
    return v;
  };
  const seed = num('seed');
  const samples = values.data
    ? await readLabelled(values.data)
    : generateSyntheticSamples(int('num-samples'), { seed });
  log(`Loading ${samples.length} anomaly detection samples...`);
  const { train, test } = stratifiedTrainTestSplit(
    samples.map((s) => s.label),
    { testSize: 0.2, seed },
  );
  const trainSet = Array.from(train, (i) => samples[i]!);
  const validation = Array.from(test, (i) => samples[i]!);
  log(`Train samples: ${trainSet.length}, Validation samples: ${validation.length}`);
  const epochs = int('epochs');
  const batchSize = int('batch-size');
  log(`Training anomaly model for ${epochs} epochs, batch size ${batchSize}...`);
  const model = new NGramClassifier({
    weighting: values.weighting as 'logistic' | 'original',
    seed,
    epochs,
    batchSize,
  });
  const { sequences, y } = unzipLabelled(trainSet);
  const report = await model.fit(sequences, { y });
  log(`Signal weights: ${JSON.stringify(report.weights)}`);
  const gate = { maxEce: num('max-ece'), minAccuracy: num('min-accuracy') };
  const result = await promoteModel(model, validation, {
    outputRoot: values.output,
    name: 'anomaly',
    gate,
    extra: { train: { samples: trainSet.length, epochs, batchSize, seed } },
  });
  log('Validation Metrics:');
  for (const k of ['precision', 'recall', 'accuracy', 'f1', 'ece'] as const)
    log(`  ${k}: ${result.metrics[k].toFixed(4)}`);
  log(`Promotion Gate: ECE <= ${gate.maxEce}, Accuracy >= ${gate.minAccuracy}`);
  log(`Promotion result: ${result.passed ? 'PASS' : `FAIL (${result.reasons.join('; ')})`}`);
  log(`Model saved to ${result.modelPath}`);
  console.log(
    JSON.stringify({
      passed: result.passed,
      destination: result.destination,
      model: result.modelPath,
      metrics: result.metricsPath,
      ...result.metrics,
    }),
  );
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
