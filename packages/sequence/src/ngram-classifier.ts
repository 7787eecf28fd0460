import {
  ArtifactError,
  BaseDetector,
  type CalibrationMethod,
  Calibrator,
  type FitOptions,
  type FitReport,
  type LoadedArtifact,
  type ModelExport,
  NotFittedError,
  parseArtifactWith,
  requireTensor,
  restoreFromArtifact,
  stratifiedKFold,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { loadSequenceArtifact } from './artifact-dir';
import { fitLogistic, logit, sigmoid } from './logistic';
import { assertNgramOrder, trieFromTensors, trieTensors, vocabularyFromState } from './ngram-table';
import { ClassTables, extractSignals, SIGNAL_COUNT, SIGNAL_NAMES, type SignalName } from './signals';
import { assertSequence, checkSequences, type Sequence, type Sequences } from './validate';
import { Vocabulary } from './vocabulary';

export const NGramClassifierParamsSchema = z.object({
  /** N-gram length of the rarity signal. */
  n: z.number().int().min(1).max(16).default(3),
  /** Decision threshold on the anomaly probability (label 1 when p > threshold): the default threshold after fit. */
  anomalyThreshold: z.number().min(0).max(1).default(0.3),
  /**
   * How the four signals are combined: "logistic" (default) fits a logistic regression on
   * out-of-fold signals; "original" weighs signal k by max(0, μA_k − μN_k) + 0.01 (its class
   * means, normalised to sum 1) and Platt-scales the weighted sum, as the Nethical classifier did.
   */
  weighting: z.enum(['logistic', 'original']).default('logistic'),
  /** Folds of the cross-fitting that produces unbiased training signals. */
  folds: z.number().int().min(2).max(20).default(5),
  /** Passes of the logistic regression over the training signals. */
  epochs: z.number().int().positive().default(10),
  batchSize: z.number().int().positive().default(32),
  learningRate: z.number().positive().default(0.05),
  l2: z.number().nonnegative().default(1e-3),
  seed: z.number().int().default(42),
});
export type NGramClassifierParams = z.infer<typeof NGramClassifierParamsSchema>;
export type NGramClassifierParamsInput = z.input<typeof NGramClassifierParamsSchema>;

const KIND = 'ngram-classifier';

/** A labelled sequence: 0 = normal, 1 = anomalous. */
export interface LabelledSequence {
  sequence: Sequence;
  label: 0 | 1;
}

/** Splits labelled sequences into the `fit` input and its labels: `clf.fit(sequences, { y })`. */
export function unzipLabelled(samples: readonly LabelledSequence[]): {
  sequences: Sequence[];
  y: Float64Array;
} {
  return { sequences: samples.map((s) => s.sequence), y: Float64Array.from(samples, (s) => s.label) };
}

export interface Prediction {
  /** 1 = anomalous (score above the threshold), 0 = normal. */
  label: 0 | 1;
  /** Calibrated probability that the sequence is anomalous. */
  score: number;
  /** Probability that `label` is right: score for label 1, 1 − score for label 0. */
  confidence: number;
}

export interface NGramClassifierFitReport extends FitReport {
  samples: number;
  /** Weight of each signal in the combination (logistic coefficients, or the "original" normalised weights). */
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
    platt: z.object({ method: z.literal('platt'), a: z.number(), b: z.number() }),
  }),
]);
type Combiner = z.infer<typeof CombinerSchema>;

/** The manifest state beside `state.vocabulary` (see ngram-table). */
const ClassifierStateSchema = z.object({
  combiner: CombinerSchema,
  training: z.object({ samples: z.number().int().nonnegative() }),
});

/**
 * Supervised sequence classifier on core's Detector contract, built on four signals (n-gram
 * rarity, action-frequency ratio, entropy, pattern diversity) with weights learned from labelled
 * data. Its score is the probability of being anomalous; the default threshold after `fit` is
 * `anomalyThreshold`. `predictOne` gives the label, probability and confidence of one sequence.
 */
export class NGramClassifier extends BaseDetector<NGramClassifierParams, Sequences> {
  readonly kind = KIND;
  private tables: ClassTables | null = null;
  private combiner: Combiner | null = null;
  /** "original" weighting only: the Platt map of the weighted sum, kept built. */
  private platt: Calibrator | null = null;
  private training = { samples: 0 };

  constructor(params: NGramClassifierParamsInput = {}) {
    super(NGramClassifierParamsSchema, params);
  }

  static async load(dir: string): Promise<NGramClassifier> {
    const artifact = await loadSequenceArtifact(dir, KIND);
    return restoreFromArtifact(artifact, (p) => new NGramClassifier(p as NGramClassifierParamsInput));
  }

  /** Signal weights of the fitted combination. */
  get weights(): Record<SignalName, number> {
    return namedWeights(this.requireCombiner().weights);
  }

  protected override get inputName(): string {
    return 'sequences';
  }

  protected override nativeThreshold(): number {
    return this.params.anomalyThreshold;
  }

  protected checkInput(X: Sequences, field: string, purpose: 'fit' | 'score'): number {
    return checkSequences(X, field, purpose);
  }

  /** Fits on labelled sequences: `y` holds 0 (normal) or 1 (anomalous) per sequence. */
  override async fit(X: Sequences, options?: FitOptions<Sequences>): Promise<NGramClassifierFitReport> {
    return (await super.fit(X, options)) as NGramClassifierFitReport;
  }

  /**
   * Learns the per-class tables and the signal weights. Signals used to fit the weights are
   * computed out of fold (each sample against tables built without it), so the weights and the
   * probabilities are not fitted to signals the final tables make look too easy.
   */
  protected fitModel(sequences: Sequences, options: FitOptions<Sequences>) {
    const labels = binaryLabels(options.y);
    const counts = [0, 0];
    for (const y of labels) counts[y]!++;
    if (counts[0]! < 2 || counts[1]! < 2) {
      throw new ValidationError(
        'y',
        'at least two normal (label 0) and two anomalous (label 1) sequences',
        `${counts[0]} normal, ${counts[1]} anomalous`,
      );
    }
    const p = this.params;
    const vocab = new Vocabulary();
    const ids = sequences.map((s) => vocab.encode(s, true));
    const k = Math.min(p.folds, counts[0]!, counts[1]!);
    const signals: Float64Array[] = new Array(sequences.length);
    for (const fold of stratifiedKFold(labels, k, p.seed)) {
      const t = new ClassTables(p.n, vocab);
      for (const i of fold.train) t.add(ids[i]!, labels[i]!);
      for (const i of fold.test) signals[i] = extractSignals(t, sequences[i]!, ids[i]!);
    }
    let history: NGramClassifierFitReport['history'] = [];
    if (p.weighting === 'logistic') {
      const fit = fitLogistic(signals, labels, {
        epochs: p.epochs,
        batchSize: p.batchSize,
        learningRate: p.learningRate,
        l2: p.l2,
        seed: p.seed,
      });
      this.combiner = { kind: 'logistic', ...fit.model };
      history = fit.history;
    } else {
      const weights = originalWeights(signals, labels);
      const raw = signals.map((f) => weightedSum(weights, f));
      const platt = Calibrator.fit('platt', raw, labels).toJSON() as Extract<
        Combiner,
        { kind: 'original' }
      >['platt'];
      this.combiner = { kind: 'original', weights, platt };
    }
    this.platt = this.combiner.kind === 'original' ? Calibrator.fromJSON(this.combiner.platt) : null;
    const tables = new ClassTables(p.n, vocab);
    for (let i = 0; i < sequences.length; i++) tables.add(ids[i]!, labels[i]!);
    this.tables = tables;
    this.training = { samples: sequences.length };
    return {
      report: {
        samples: sequences.length,
        weights: namedWeights(this.combiner.weights),
        bias: this.combiner.kind === 'logistic' ? this.combiner.bias : 0,
        history,
      },
    };
  }

  /** The four signals of a sequence against the fitted tables. */
  signals(sequence: Sequence): Record<SignalName, number> {
    assertSequence(sequence);
    const f = extractSignals(this.requireTables(), sequence);
    return namedWeights(Array.from(f));
  }

  /** Probabilities of being anomalous (calibrated: see `calibrate`). */
  protected scoreModel(sequences: Sequences): Float64Array {
    const out = new Float64Array(sequences.length);
    for (let i = 0; i < sequences.length; i++) out[i] = this.probability(sequences[i]!);
    return out;
  }

  /** The score is already a calibrated probability, so `predictProba` needs no `calibrate` first. */
  override async predictProba(sequences: Sequences): Promise<Float64Array> {
    return this.score(sequences);
  }

  /** Label, anomaly probability and confidence of one sequence. */
  predictOne(sequence: Sequence): Prediction {
    assertSequence(sequence);
    const threshold = this.threshold;
    if (!threshold) throw new NotFittedError(this.kind, 'call fit() before predictOne()');
    const score = this.probability(sequence);
    const label = score > threshold.value ? 1 : 0;
    return { label, score, confidence: label === 1 ? score : 1 - score };
  }

  /**
   * Re-fits the probability map on held-out labelled sequences: Platt or isotonic on the model's
   * raw combination (the logistic logit, or the weighted sum), which then replaces the built-in map.
   */
  override async calibrate(
    sequences: Sequences,
    y: ArrayLike<number>,
    method: CalibrationMethod = 'platt',
  ): Promise<Calibrator> {
    this.ensureFitted('calibrate()');
    this.checkInput(sequences, 'sequences', 'score');
    const raw = sequences.map((s) => this.rawScore(s));
    const calibrator = Calibrator.fit(method, raw, y);
    this.setCalibrator(calibrator);
    return calibrator;
  }

  protected exportModel(): ModelExport {
    const tables = this.requireTables();
    const size = tables.vocab.size;
    return {
      state: {
        ngramOrder: this.params.n,
        vocabulary: [...tables.vocab.list],
        combiner: structuredClone(this.requireCombiner()),
        training: { ...this.training },
      },
      tensors: {
        ...trieTensors('normalNgrams', tables.ngrams[0]),
        ...trieTensors('anomalousNgrams', tables.ngrams[1]),
        normalActions: { data: tables.actions[0].slice(0, size) },
        anomalousActions: { data: tables.actions[1].slice(0, size) },
      },
    };
  }

  protected importModel(artifact: LoadedArtifact): void {
    const state = parseArtifactWith(ClassifierStateSchema, artifact.state, 'manifest.json', 'state');
    const vocab = vocabularyFromState(artifact);
    const n = this.params.n;
    assertNgramOrder(artifact, n, 'params.n');
    const normal = trieFromTensors(artifact, 'normalNgrams', vocab.size, n);
    const anomalous = trieFromTensors(artifact, 'anomalousNgrams', vocab.size, n);
    const tables = new ClassTables(n, vocab, [normal, anomalous]);
    (['normalActions', 'anomalousActions'] as const).forEach((name, label) => {
      const counts = requireTensor(artifact, name, 'float64', vocab.size);
      const bad = counts.findIndex((v) => !(v >= 0 && Number.isFinite(v)));
      if (bad >= 0)
        throw new ArtifactError(
          'weights.bin',
          `tensors.${name}[${bad}]`,
          `a count ≥ 0, found ${counts[bad]}`,
        );
      tables.actions[label] = counts;
      tables.actionTotals[label] = counts.reduce((s, v) => s + v, 0);
    });
    this.tables = tables;
    this.combiner = state.combiner;
    this.platt = state.combiner.kind === 'original' ? Calibrator.fromJSON(state.combiner.platt) : null;
    this.training = state.training;
  }

  /** The combination before any re-calibration: the logistic logit, or the original weighted sum. */
  private rawScore(sequence: Sequence): number {
    const f = extractSignals(this.requireTables(), sequence);
    const c = this.requireCombiner();
    return c.kind === 'logistic' ? logit(c, f) : weightedSum(c.weights, f);
  }

  private probability(sequence: Sequence): number {
    const raw = this.rawScore(sequence);
    const calibrator = this.calibrator;
    if (calibrator) return calibrator.predict([raw])[0]!;
    return this.platt ? this.platt.predict([raw])[0]! : sigmoid(raw);
  }

  private requireTables(): ClassTables {
    if (!this.tables) throw new NotFittedError(this.kind, 'call fit() first');
    return this.tables;
  }
  private requireCombiner(): Combiner {
    if (!this.combiner) throw new NotFittedError(this.kind, 'call fit() first');
    return this.combiner;
  }
}

/** 0/1 labels from `y`; a missing `y` or another value is a ValidationError naming it. */
function binaryLabels(y: ArrayLike<number> | undefined): Array<0 | 1> {
  if (!y) throw new ValidationError('y', '0/1 labels, one per sequence (the classifier is supervised)');
  return Array.from(y, (v, i) => {
    if (v !== 0 && v !== 1) throw new ValidationError(`y[${i}]`, '0 (normal) or 1 (anomalous)', v);
    return v;
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

/** The "original" weights: power_k = max(0, μA_k − μN_k) + 0.01 over class means of each signal, normalised to sum 1. */
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
