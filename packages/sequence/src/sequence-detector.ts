import {
  ArtifactError,
  type CalibrationMethod,
  Calibrator,
  CalibratorStateSchema,
  type FitSplit,
  fitThreshold,
  NotFittedError,
  parseParams,
  requireCalibrator,
  type Threshold,
  ThresholdSchema,
  type ThresholdStrategy,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { NGramLanguageModel } from './language-model';
import { readModelFile, writeModelFile } from './model-file';
import { NGramTableSchema, trieFromJson, trieToJson, vocabularyFromJson } from './ngram-table-json';
import { NGramTrie } from './ngram-trie';
import { StideModel } from './stide';
import { assertLabels, assertSequences, type Sequence } from './validate';
import { Vocabulary } from './vocabulary';

export const SequenceDetectorParamsSchema = z.object({
  /** "language-model": mean (or max) surprisal under a smoothed n-gram model; "stide": window mismatch rate. */
  mode: z.enum(['language-model', 'stide']).default('language-model'),
  /** Language model order (context = order − 1 previous tokens). */
  order: z.number().int().min(1).max(16).default(8),
  smoothing: z.enum(['kneser-ney', 'witten-bell', 'add-k']).default('witten-bell'),
  /** Pseudo-count for add-k smoothing. */
  addK: z.number().positive().default(0.01),
  /** How per-token surprisals become a sequence score. */
  aggregate: z.enum(['mean', 'max']).default('mean'),
  /** STIDE window length. */
  window: z.number().int().min(1).max(32).default(7),
});
export type SequenceDetectorParams = z.infer<typeof SequenceDetectorParamsSchema>;
export type SequenceDetectorParamsInput = z.input<typeof SequenceDetectorParamsSchema>;

export const SEQUENCE_DETECTOR_KIND = 'sequence-detector';

const SequenceDetectorJsonSchema = z.object({
  params: SequenceDetectorParamsSchema,
  vocabulary: z.array(z.string()),
  ngrams: NGramTableSchema,
  threshold: ThresholdSchema.nullable(),
  calibrator: CalibratorStateSchema.nullable(),
  training: z.object({ sequences: z.number().int().nonnegative(), events: z.number().int().nonnegative() }),
});
export type SequenceDetectorJson = z.infer<typeof SequenceDetectorJsonSchema>;

export interface SequenceFitReport {
  seconds: number;
  sequences: number;
  events: number;
  /** Distinct n-grams stored (all orders). */
  ngrams: number;
}

/**
 * Unsupervised sequence anomaly detector trained on normal sequences only. It follows core's
 * Detector contract on sequences instead of matrices: `fit` → `score` (higher = more anomalous)
 * → `fitThreshold` on a calibration or validation split (never test) → `predict`; `calibrate`
 * → `predictProba`; `save` / `load` as a checksummed JSON file validated with zod.
 */
export class SequenceAnomalyDetector {
  readonly kind = SEQUENCE_DETECTOR_KIND;
  readonly params: Readonly<SequenceDetectorParams>;
  private vocab = new Vocabulary();
  private lm: NGramLanguageModel | null = null;
  private stide: StideModel | null = null;
  private currentThreshold: Threshold | null = null;
  private currentCalibrator: Calibrator | null = null;
  private training = { sequences: 0, events: 0 };

  constructor(params: SequenceDetectorParamsInput = {}) {
    this.params = Object.freeze(parseParams(SequenceDetectorParamsSchema, params));
  }

  get isFitted(): boolean {
    return this.lm !== null || this.stide !== null;
  }
  get threshold(): Threshold | null {
    return this.currentThreshold;
  }
  get calibrator(): Calibrator | null {
    return this.currentCalibrator;
  }
  get vocabularySize(): number {
    return this.vocab.list.length;
  }

  /** Learns normal behaviour from normal sequences (replacing anything learnt before). */
  fit(sequences: readonly Sequence[]): SequenceFitReport {
    const start = performance.now();
    assertSequences(sequences);
    if (sequences.length === 0)
      throw new ValidationError('sequences', 'at least one normal sequence to fit', 0);
    this.vocab = new Vocabulary();
    this.currentThreshold = null;
    this.currentCalibrator = null;
    let events = 0;
    for (const s of sequences) events += s.length;
    // Pre-size the table (real logs give about half an n-gram node per event at order 8) so that
    // training does not spend its time re-hashing a growing table.
    const order = this.params.mode === 'stide' ? this.params.window : this.params.order;
    const trie = new NGramTrie(Math.min(1 << 24, Math.max(1024, Math.ceil((events * order) / 16))));
    if (this.params.mode === 'stide') {
      const model = new StideModel(this.params.window, this.vocab, trie);
      for (const s of sequences) {
        model.add(this.vocab.encode(s, true));
      }
      this.stide = model;
      this.lm = null;
    } else {
      const model = new NGramLanguageModel(this.params, this.vocab, trie);
      for (const s of sequences) model.count(this.vocab.encode(s, true));
      model.finalize();
      this.lm = model;
      this.stide = null;
    }
    this.training = { sequences: sequences.length, events };
    return {
      seconds: (performance.now() - start) / 1000,
      sequences: sequences.length,
      events,
      ngrams: this.trie().size - 1,
    };
  }

  /**
   * Anomaly scores, higher = more anomalous: mean (or max) surprisal in bits per token for the
   * language model, the fraction of unseen windows for STIDE.
   */
  score(sequences: readonly Sequence[]): Float64Array {
    assertSequences(sequences);
    const out = new Float64Array(sequences.length);
    for (let i = 0; i < sequences.length; i++) out[i] = this.scoreOne(sequences[i]!);
    return out;
  }

  scoreOne(sequence: Sequence): number {
    const ids = this.vocab.encode(sequence, false);
    if (this.lm) return this.lm.score(ids, this.params.aggregate);
    if (this.stide) return this.stide.mismatchRate(ids);
    throw new NotFittedError(this.kind, 'call fit() before score()');
  }

  /** Per-token surprisal (bits) of a sequence, end marker last (language-model mode only). */
  surprisals(sequence: Sequence): Float64Array {
    if (!this.lm) throw new NotFittedError(this.kind, 'surprisals() needs a fitted language-model mode');
    return this.lm.surprisals(this.vocab.encode(sequence, false));
  }

  /** Chooses the decision threshold with one of core's strategies on a non-test split. */
  fitThreshold(
    strategy: ThresholdStrategy,
    sequences: readonly Sequence[],
    options: { labels?: ArrayLike<number>; split: FitSplit },
  ): Threshold {
    const scores = strategy.strategy === 'fixed' ? new Float64Array(0) : this.score(sequences);
    if (options.labels && strategy.strategy !== 'fixed') assertLabels(options.labels, sequences.length);
    this.currentThreshold = fitThreshold(strategy, scores, {
      labels: strategy.strategy === 'fixed' ? undefined : options.labels,
      split: options.split,
    });
    return this.currentThreshold;
  }

  setThreshold(threshold: Threshold): void {
    this.currentThreshold = ThresholdSchema.parse(threshold);
  }

  /** 1 = anomalous (score strictly above the threshold), 0 = normal. */
  predict(sequences: readonly Sequence[]): Uint8Array {
    const t = this.currentThreshold;
    if (!t) throw new NotFittedError(this.kind, 'no threshold: call fitThreshold() before predict()');
    const scores = this.score(sequences);
    const out = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = scores[i]! > t.value ? 1 : 0;
    return out;
  }

  /** Fits Platt or isotonic calibration on held-out labelled sequences (both classes needed). */
  calibrate(
    sequences: readonly Sequence[],
    labels: ArrayLike<number>,
    method: CalibrationMethod = 'platt',
  ): Calibrator {
    assertLabels(labels, sequences.length);
    this.currentCalibrator = Calibrator.fit(method, this.score(sequences), labels);
    return this.currentCalibrator;
  }

  predictProba(sequences: readonly Sequence[]): Float64Array {
    const c = requireCalibrator(this.currentCalibrator ?? undefined, this.kind);
    return c.predict(this.score(sequences));
  }

  toJSON(): SequenceDetectorJson {
    if (!this.isFitted) throw new NotFittedError(this.kind, 'call fit() before saving');
    return {
      params: { ...this.params },
      vocabulary: [...this.vocab.list],
      ngrams: trieToJson(this.trie()),
      threshold: this.currentThreshold,
      calibrator: this.currentCalibrator?.toJSON() ?? null,
      training: { ...this.training },
    };
  }

  /** Restores a detector from `toJSON()` output; every inconsistency is an ArtifactError naming the field. */
  static fromJSON(json: SequenceDetectorJson, file = '(model)'): SequenceAnomalyDetector {
    const d = new SequenceAnomalyDetector(json.params);
    const vocab = vocabularyFromJson(json.vocabulary, file);
    const p = d.params;
    const maxOrder = p.mode === 'stide' ? p.window : p.order;
    const trie = trieFromJson(json.ngrams, vocab.size, maxOrder, 'model.ngrams', file);
    d.vocab = vocab;
    if (p.mode === 'stide') d.stide = new StideModel(p.window, vocab, trie);
    else {
      d.lm = new NGramLanguageModel(p, vocab, trie);
      try {
        d.lm.finalize();
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        throw new ArtifactError(file, 'model.ngrams', e.message);
      }
    }
    d.currentThreshold = json.threshold;
    d.currentCalibrator = json.calibrator ? Calibrator.fromJSON(json.calibrator) : null;
    d.training = json.training;
    return d;
  }

  async save(path: string): Promise<void> {
    await writeModelFile(path, this.kind, this.toJSON());
  }

  static async load(path: string): Promise<SequenceAnomalyDetector> {
    const json = await readModelFile(path, SEQUENCE_DETECTOR_KIND, SequenceDetectorJsonSchema);
    return SequenceAnomalyDetector.fromJSON(json, path);
  }

  private trie() {
    const t = this.lm?.trie ?? this.stide?.trie;
    if (!t) throw new NotFittedError(this.kind, 'call fit() first');
    return t;
  }
}
