import {
  ArtifactError,
  type CalibrationMethod,
  Calibrator,
  CalibratorStateSchema,
  type FitSplit,
  fitThreshold,
  NotFittedError,
  parseParams,
  stratifiedKFold,
  type Threshold,
  ThresholdSchema,
  type ThresholdStrategy,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { fitLogistic, logit, sigmoid } from './logistic';
import { readModelFile, writeModelFile } from './model-file';
import { NGramTableSchema, trieFromJson, trieToJson, vocabularyFromJson } from './ngram-table-json';
import { ClassTables, extractSignals, SIGNAL_COUNT, SIGNAL_NAMES, type SignalName } from './signals';
import { assertSequence, type Sequence } from './validate';
import { Vocabulary } from './vocabulary';

export const NGramClassifierParamsSchema = z.object({
  /** N-gram length of the rarity signal. */
  n: z.number().int().min(1).max(16).default(3),
  /** Initial decision threshold on the anomaly probability (label 1 when p > threshold). */
  anomalyThreshold: z.number().min(0).max(1).default(0.3),
  /**
   * How the four signals are combined: "logistic" (default) fits a logistic regression on
   * out-of-fold signals; "original" is v1's rule w_k ∝ max(0, μA_k − μN_k) + 0.01 followed by
   * Platt scaling of the weighted sum.
   */
  weighting: z.enum(['logistic', 'original']).default('logistic'),
  /** Folds of the cross-fitting that produces unbiased training signals. */
  folds: z.number().int().min(2).max(20).default(5),
  learningRate: z.number().positive().default(0.05),
  l2: z.number().nonnegative().default(1e-3),
  seed: z.number().int().default(42),
});
export type NGramClassifierParams = z.infer<typeof NGramClassifierParamsSchema>;
export type NGramClassifierParamsInput = z.input<typeof NGramClassifierParamsSchema>;

export const NGRAM_CLASSIFIER_KIND = 'ngram-classifier';

/** A labelled sequence: 0 = normal, 1 = anomalous. */
export interface LabelledSequence {
  sequence: Sequence;
  label: 0 | 1;
}

export interface Prediction {
  /** 1 = anomalous (score above the threshold), 0 = normal. */
  label: 0 | 1;
  /** Calibrated probability that the sequence is anomalous. */
  score: number;
  /** Probability that `label` is right: score for label 1, 1 − score for label 0. */
  confidence: number;
}

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
}

export interface TrainReport {
  seconds: number;
  samples: number;
  /** Weight of each signal in the combination (logistic coefficients, or v1's normalised weights). */
  weights: Record<SignalName, number>;
  bias: number;
  /** Logistic log-loss per epoch (empty for the original rule). */
  history: Array<{ epoch: number; loss: number }>;
}

const CombinerSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('logistic'),
    weights: z.array(z.number()).length(SIGNAL_COUNT),
    bias: z.number(),
  }),
  z.object({
    kind: z.literal('original'),
    weights: z.array(z.number().nonnegative()).length(SIGNAL_COUNT),
    platt: CalibratorStateSchema,
  }),
]);
type Combiner = z.infer<typeof CombinerSchema>;

const NGramClassifierJsonSchema = z.object({
  params: NGramClassifierParamsSchema,
  vocabulary: z.array(z.string()),
  normalNgrams: NGramTableSchema,
  anomalousNgrams: NGramTableSchema,
  normalActions: z.array(z.number().nonnegative()),
  anomalousActions: z.array(z.number().nonnegative()),
  combiner: CombinerSchema,
  calibrator: CalibratorStateSchema.nullable(),
  threshold: ThresholdSchema,
  training: z.object({ samples: z.number().int().nonnegative(), timestamp: z.string() }),
});
export type NGramClassifierJson = z.infer<typeof NGramClassifierJsonSchema>;

/**
 * Supervised sequence classifier built on the four signals of the original v1 model
 * (n-gram rarity, action-frequency ratio, entropy, pattern diversity), with weights learned
 * from labelled data and calibrated probabilities.
 */
export class NGramClassifier {
  readonly kind = NGRAM_CLASSIFIER_KIND;
  readonly params: Readonly<NGramClassifierParams>;
  private tables: ClassTables | null = null;
  private combiner: Combiner | null = null;
  /** v1 rule only: the Platt map of the weighted sum, kept built. */
  private platt: Calibrator | null = null;
  private currentCalibrator: Calibrator | null = null;
  private currentThreshold: Threshold;
  private training = { samples: 0, timestamp: '' };

  constructor(params: NGramClassifierParamsInput = {}) {
    this.params = Object.freeze(parseParams(NGramClassifierParamsSchema, params));
    this.currentThreshold = fixedThreshold(this.params.anomalyThreshold);
  }

  get isTrained(): boolean {
    return this.combiner !== null;
  }
  get threshold(): Threshold {
    return this.currentThreshold;
  }
  /** Signal weights of the fitted combination. */
  get weights(): Record<SignalName, number> {
    return namedWeights(this.requireCombiner().weights);
  }

  /**
   * Learns the per-class tables and the signal weights. Signals used to fit the weights are
   * computed out of fold (each sample against tables built without it), so the weights and the
   * probabilities are not fitted to signals the final tables make look too easy.
   */
  train(samples: readonly LabelledSequence[], options: TrainOptions = {}): TrainReport {
    const start = performance.now();
    const { epochs = 10, batchSize = 32 } = options;
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new ValidationError('epochs', 'a positive integer', epochs);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new ValidationError('batchSize', 'a positive integer', batchSize);
    const labels = validateSamples(samples);
    const counts = [0, 0];
    for (const y of labels) counts[y]!++;
    if (counts[0]! < 2 || counts[1]! < 2) {
      throw new ValidationError(
        'samples',
        'at least two normal (label 0) and two anomalous (label 1) sequences',
        `${counts[0]} normal, ${counts[1]} anomalous`,
      );
    }
    const vocab = new Vocabulary();
    const ids = samples.map((s) => vocab.encode(s.sequence, true));
    // Out-of-fold signals.
    const k = Math.min(this.params.folds, counts[0]!, counts[1]!);
    const signals: Float64Array[] = new Array(samples.length);
    for (const fold of stratifiedKFold(labels, k, this.params.seed)) {
      const t = new ClassTables(this.params.n, vocab);
      for (const i of fold.train) t.add(ids[i]!, labels[i]!);
      for (const i of fold.test) signals[i] = extractSignals(t, samples[i]!.sequence, ids[i]!);
    }
    let history: TrainReport['history'] = [];
    if (this.params.weighting === 'logistic') {
      const fit = fitLogistic(signals, labels, {
        epochs,
        batchSize,
        learningRate: this.params.learningRate,
        l2: this.params.l2,
        seed: this.params.seed,
      });
      this.combiner = { kind: 'logistic', ...fit.model };
      history = fit.history;
    } else {
      const weights = originalWeights(signals, labels);
      const raw = signals.map((f) => weightedSum(weights, f));
      this.combiner = { kind: 'original', weights, platt: Calibrator.fit('platt', raw, labels).toJSON() };
    }
    this.platt = this.combiner.kind === 'original' ? Calibrator.fromJSON(this.combiner.platt) : null;
    const tables = new ClassTables(this.params.n, vocab);
    for (let i = 0; i < samples.length; i++) tables.add(ids[i]!, labels[i]!);
    this.tables = tables;
    this.currentCalibrator = null;
    this.training = { samples: samples.length, timestamp: new Date().toISOString() };
    return {
      seconds: (performance.now() - start) / 1000,
      samples: samples.length,
      weights: namedWeights(this.combiner.weights),
      bias: this.combiner.kind === 'logistic' ? this.combiner.bias : 0,
      history,
    };
  }

  /** The four signals of a sequence against the trained tables. */
  signals(sequence: Sequence): Record<SignalName, number> {
    assertSequence(sequence);
    const f = extractSignals(this.requireTables(), sequence);
    return namedWeights(Array.from(f));
  }

  /** Calibrated probabilities of being anomalous. */
  predictProba(sequences: readonly Sequence[]): Float64Array {
    const out = new Float64Array(sequences.length);
    for (let i = 0; i < sequences.length; i++) {
      assertSequence(sequences[i], `sequences[${i}]`);
      out[i] = this.probability(sequences[i]!);
    }
    return out;
  }

  /** Label, anomaly probability and confidence of one sequence (or of a `{ sequence }` sample). */
  predict(input: Sequence | { sequence: Sequence }): Prediction {
    const sequence = Array.isArray(input) ? (input as Sequence) : (input as { sequence: Sequence }).sequence;
    assertSequence(sequence);
    const score = this.probability(sequence);
    const label = score > this.currentThreshold.value ? 1 : 0;
    return { label, score, confidence: label === 1 ? score : 1 - score };
  }

  predictBatch(sequences: readonly Sequence[]): Prediction[] {
    return sequences.map((s) => this.predict(s));
  }

  /** Re-fits the probability map on held-out labelled samples (Platt or isotonic on the model's logit). */
  calibrate(samples: readonly LabelledSequence[], method: CalibrationMethod = 'platt'): Calibrator {
    const labels = validateSamples(samples);
    const raw = samples.map((s) => this.rawScore(s.sequence));
    this.currentCalibrator = Calibrator.fit(method, raw, labels);
    return this.currentCalibrator;
  }

  /** Chooses the threshold on predicted probabilities with one of core's strategies (never on test). */
  fitThreshold(
    strategy: ThresholdStrategy,
    samples: readonly LabelledSequence[],
    split: FitSplit,
  ): Threshold {
    const labels = validateSamples(samples);
    const p = this.predictProba(samples.map((s) => s.sequence));
    this.currentThreshold = fitThreshold(strategy, p, { labels, split });
    return this.currentThreshold;
  }

  setThreshold(threshold: Threshold): void {
    this.currentThreshold = ThresholdSchema.parse(threshold);
  }

  toJSON(): NGramClassifierJson {
    const tables = this.requireTables();
    return {
      params: { ...this.params },
      vocabulary: [...tables.vocab.list],
      normalNgrams: trieToJson(tables.ngrams[0]),
      anomalousNgrams: trieToJson(tables.ngrams[1]),
      normalActions: Array.from(tables.actions[0].subarray(0, tables.vocab.size)),
      anomalousActions: Array.from(tables.actions[1].subarray(0, tables.vocab.size)),
      combiner: structuredClone(this.requireCombiner()),
      calibrator: this.currentCalibrator?.toJSON() ?? null,
      threshold: this.currentThreshold,
      training: { ...this.training },
    };
  }

  static fromJSON(json: NGramClassifierJson, file = '(model)'): NGramClassifier {
    const c = new NGramClassifier(json.params);
    const vocab = vocabularyFromJson(json.vocabulary, file);
    const n = c.params.n;
    const normal = trieFromJson(json.normalNgrams, vocab.size, n, 'model.normalNgrams', file);
    const anomalous = trieFromJson(json.anomalousNgrams, vocab.size, n, 'model.anomalousNgrams', file);
    const tables = new ClassTables(n, vocab, [normal, anomalous]);
    for (const [label, field] of [
      [0, 'normalActions'],
      [1, 'anomalousActions'],
    ] as const) {
      const a = json[field];
      if (a.length !== vocab.size)
        throw new ArtifactError(
          file,
          `model.${field}`,
          `expected ${vocab.size} counts (one per vocabulary id), found ${a.length}`,
        );
      tables.actions[label] = Float64Array.from(a);
      tables.actionTotals[label] = a.reduce((s, v) => s + v, 0);
    }
    c.tables = tables;
    c.combiner = json.combiner;
    c.platt = json.combiner.kind === 'original' ? Calibrator.fromJSON(json.combiner.platt) : null;
    c.currentCalibrator = json.calibrator ? Calibrator.fromJSON(json.calibrator) : null;
    c.currentThreshold = json.threshold;
    c.training = json.training;
    return c;
  }

  async save(path: string): Promise<void> {
    await writeModelFile(path, this.kind, this.toJSON());
  }

  static async load(path: string): Promise<NGramClassifier> {
    const json = await readModelFile(path, NGRAM_CLASSIFIER_KIND, NGramClassifierJsonSchema);
    return NGramClassifier.fromJSON(json, path);
  }

  /** The combination before any re-calibration: the logistic logit, or v1's weighted sum. */
  private rawScore(sequence: Sequence): number {
    const f = extractSignals(this.requireTables(), sequence);
    const c = this.requireCombiner();
    return c.kind === 'logistic' ? logit(c, f) : weightedSum(c.weights, f);
  }

  private probability(sequence: Sequence): number {
    const raw = this.rawScore(sequence);
    if (this.currentCalibrator) return this.currentCalibrator.predict([raw])[0]!;
    return this.platt ? this.platt.predict([raw])[0]! : sigmoid(raw);
  }

  private requireTables(): ClassTables {
    if (!this.tables) throw new NotFittedError(this.kind, 'call train() first');
    return this.tables;
  }
  private requireCombiner(): Combiner {
    if (!this.combiner) throw new NotFittedError(this.kind, 'call train() first');
    return this.combiner;
  }
}

function fixedThreshold(value: number): Threshold {
  return { value, strategy: { strategy: 'fixed', value }, split: 'none', n: 0 };
}

function validateSamples(samples: readonly LabelledSequence[]): Array<0 | 1> {
  if (!Array.isArray(samples))
    throw new ValidationError('samples', 'an array of { sequence, label }', samples);
  if (samples.length === 0) throw new ValidationError('samples', 'at least one labelled sequence', 0);
  return samples.map((s, i) => {
    if (typeof s !== 'object' || s === null)
      throw new ValidationError(`samples[${i}]`, 'an object { sequence, label }', s);
    assertSequence(s.sequence, `samples[${i}].sequence`);
    if (s.label !== 0 && s.label !== 1)
      throw new ValidationError(`samples[${i}].label`, '0 (normal) or 1 (anomalous)', s.label);
    return s.label;
  });
}

function namedWeights(w: readonly number[]): Record<SignalName, number> {
  return Object.fromEntries(SIGNAL_NAMES.map((n, k) => [n, w[k]!])) as Record<SignalName, number>;
}

function weightedSum(w: readonly number[], f: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < w.length; k++) s += w[k]! * f[k]!;
  return Math.min(1, Math.max(0, s));
}

/** v1's rule: power_k = max(0, μA_k − μN_k) + 0.01 over class means of each signal, normalised to sum 1. */
export function originalWeights(signals: readonly ArrayLike<number>[], labels: ArrayLike<number>): number[] {
  const sums = [new Float64Array(SIGNAL_COUNT), new Float64Array(SIGNAL_COUNT)];
  const n = [0, 0];
  signals.forEach((f, i) => {
    const y = labels[i]! as 0 | 1;
    n[y]!++;
    for (let k = 0; k < SIGNAL_COUNT; k++) sums[y]![k]! += f[k]!;
  });
  const power = Array.from(
    { length: SIGNAL_COUNT },
    (_, k) => Math.max(0, sums[1]![k]! / n[1]! - sums[0]![k]! / n[0]!) + 0.01,
  );
  const total = power.reduce((a, b) => a + b, 0);
  return power.map((p) => p / total);
}
