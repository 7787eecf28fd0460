import { Rng, stratifiedKFold, stratifiedSplit } from '@anomalia/core';
import { generateSyntheticSamples, readSequencesFile, type Sequence } from '@anomalia/sequence';
import { ConfigError } from '../config/load';
import { fractionsOf, type TrainConfig } from '../config/schema';
import { pooledFolds } from './folds';
import type { SequenceData, SequencePart } from './types';

type SequencesConfig = Extract<TrainConfig['dataset'], { kind: 'sequences' }>;

const labelled = (sequences: readonly Sequence[], label: 0 | 1): SequencePart => ({
  sequences,
  y: new Float64Array(sequences.length).fill(label),
});

function concatParts(a: SequencePart, b: SequencePart): SequencePart {
  return {
    sequences: [...a.sequences, ...b.sequences],
    y: Float64Array.from([...(a.y ?? []), ...(b.y ?? [])]),
  };
}

function pick(seqs: readonly Sequence[], idx: ArrayLike<number>): readonly Sequence[] {
  return Array.from(idx as ArrayLike<number>, (i) => seqs[i]!);
}

/**
 * Token sequences, one per line. Two layouts:
 * - files (`train` normal-only, `normal`, `anomalous`): the unsupervised protocol. The model fits on
 *   `train`; `normal` and `anomalous` are each split 50/50 (seeded) into calibration and test, so
 *   both splits have the same class ratio and calibrated probabilities transfer. The threshold
 *   uses only the calibration split's normal rows (a 1 % false-positive rate).
 * - `numSamples`: labelled synthetic sequences, stratified into the four splits, for the
 *   supervised classifier.
 */
export async function prepareSequences(cfg: SequencesConfig, seed: number): Promise<SequenceData> {
  if (cfg.numSamples !== undefined) {
    const samples = generateSyntheticSamples(cfg.numSamples, { seed });
    const seqs = samples.map((s) => s.sequence);
    const y = Float64Array.from(samples, (s) => s.label);
    const fractions = fractionsOf(cfg.split);
    const s = stratifiedSplit(y, fractions, seed);
    const part = (idx: Int32Array): SequencePart => ({
      sequences: pick(seqs, idx),
      y: Float64Array.from(idx, (i) => y[i]!),
    });
    return {
      kind: 'sequences',
      labelledTrain: true,
      parts: {
        train: part(s.train),
        validation: part(s.validation),
        calibration: part(s.calibration),
        test: part(s.test),
      },
      split: { by: 'random', description: 'stratified by label' },
      folds: (k) => ({
        scheme: `${k} folds stratified by label; the other folds are split into train / validation / calibration`,
        folds: pooledFolds(y, k, seed, fractions).map((f) => ({
          train: part(f.train),
          validation: part(f.validation),
          calibration: part(f.calibration),
          test: part(f.test),
        })),
      }),
      notes: [`${cfg.numSamples} synthetic labelled sequences (seed ${seed}), stratified split.`],
    };
  }
  if (!cfg.train || !cfg.normal || !cfg.anomalous) {
    throw new ConfigError(
      'dataset',
      'either numSamples, or all of train, normal and anomalous (files with one sequence per line)',
    );
  }
  const [trainAll, normal, anomalous] = await Promise.all([
    readSequencesFile(cfg.train, 'dataset.train'),
    readSequencesFile(cfg.normal, 'dataset.normal'),
    readSequencesFile(cfg.anomalous, 'dataset.anomalous'),
  ]);
  const rng = new Rng(seed);
  const train =
    cfg.maxTrain && cfg.maxTrain < trainAll.length
      ? pick(trainAll, rng.sampleIndices(trainAll.length, cfg.maxTrain))
      : trainAll;
  const nh = stratifiedSplit(new Float64Array(normal.length), { calibration: 0.5, test: 0.5 }, seed);
  const ah = stratifiedSplit(new Float64Array(anomalous.length), { calibration: 0.5, test: 0.5 }, seed + 1);
  // The evaluation pool for folds: every normal, then every anomalous sequence.
  const pool = concatParts(labelled(normal, 0), labelled(anomalous, 1));
  const fromPool = (idx: Int32Array): SequencePart => ({
    sequences: pick(pool.sequences, idx),
    y: Float64Array.from(idx, (i) => pool.y![i]!),
  });
  return {
    kind: 'sequences',
    labelledTrain: false,
    parts: {
      train: { sequences: train },
      calibration: concatParts(
        labelled(pick(normal, nh.calibration), 0),
        labelled(pick(anomalous, ah.calibration), 1),
      ),
      test: concatParts(labelled(pick(normal, nh.test), 0), labelled(pick(anomalous, ah.test), 1)),
    },
    split: {
      by: 'random',
      description: `half of ${cfg.normal} and of ${cfg.anomalous} calibrate, the other halves test`,
    },
    folds: (k) => ({
      scheme: `${k} folds of ${cfg.normal} + ${cfg.anomalous}, stratified by label: each fold is tested once and the other folds calibrate; the model is fitted on ${cfg.train} in every fold, so the spread is that of the evaluation and calibration`,
      folds: stratifiedKFold(pool.y!, k, seed).map((f) => ({
        train: { sequences: train },
        calibration: fromPool(f.train),
        test: fromPool(f.test),
      })),
    }),
    notes: [
      `Fitted on ${train.length} normal sequences from ${cfg.train}${train.length < trainAll.length ? ` (a seeded sample of ${trainAll.length})` : ''}.`,
      `Calibration: half of ${cfg.normal} and half of ${cfg.anomalous}; test: the other halves.`,
    ],
  };
}
