import {
  ArtifactError,
  BaseDetector,
  type FitOptions,
  type FitReport,
  type LoadedArtifact,
  type ModelExport,
  NotFittedError,
  parseArtifactWith,
  readingArtifact,
  restoreFromArtifact,
} from '@anomalia/core';
import { z } from 'zod';
import { loadSequenceArtifact } from './artifact-dir';
import { NGramLanguageModel } from './language-model';
import { assertNgramOrder, trieFromTensors, trieTensors, vocabularyFromState } from './ngram-table';
import { NGramTrie } from './ngram-trie';
import { StideModel } from './stide';
import { checkSequences, type Sequence, type Sequences } from './validate';
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

const KIND = 'sequence-detector';

export interface SequenceFitReport extends FitReport {
  sequences: number;
  events: number;
  /** Distinct n-grams stored (all orders). */
  ngrams: number;
}

const TrainingSchema = z.object({
  sequences: z.number().int().nonnegative(),
  events: z.number().int().nonnegative(),
});

/**
 * Unsupervised sequence anomaly detector trained on normal sequences only, on core's Detector
 * contract with sequences as input: `fit` → `score` (higher = more anomalous) → `fitThreshold`
 * on a calibration or validation split (never test) → `predict`; `calibrate` → `predictProba`;
 * `save` / `load` in core's artifact format. It has no default threshold.
 */
export class SequenceAnomalyDetector extends BaseDetector<SequenceDetectorParams, Sequences> {
  readonly kind = KIND;
  private vocab = new Vocabulary();
  private lm: NGramLanguageModel | null = null;
  private stide: StideModel | null = null;
  private training = { sequences: 0, events: 0 };

  constructor(params: SequenceDetectorParamsInput = {}) {
    super(SequenceDetectorParamsSchema, params);
  }

  static async load(dir: string): Promise<SequenceAnomalyDetector> {
    const artifact = await loadSequenceArtifact(dir, KIND);
    return restoreFromArtifact(
      artifact,
      (p) => new SequenceAnomalyDetector(p as SequenceDetectorParamsInput),
    );
  }

  get vocabularySize(): number {
    return this.vocab.list.length;
  }

  protected override get inputName(): string {
    return 'sequences';
  }

  protected checkInput(X: Sequences, field: string, purpose: 'fit' | 'score'): number {
    return checkSequences(X, field, purpose);
  }

  override async fit(X: Sequences, options?: FitOptions<Sequences>): Promise<SequenceFitReport> {
    return (await super.fit(X, options)) as SequenceFitReport;
  }

  /** Learns normal behaviour from normal sequences (replacing anything learnt before). */
  protected fitModel(sequences: Sequences) {
    this.vocab = new Vocabulary();
    let events = 0;
    for (const s of sequences) events += s.length;
    // Pre-size the table (real logs give about half an n-gram node per event at order 8) so that
    // training does not spend its time re-hashing a growing table.
    const order = this.params.mode === 'stide' ? this.params.window : this.params.order;
    const trie = new NGramTrie(Math.min(1 << 24, Math.max(1024, Math.ceil((events * order) / 16))));
    if (this.params.mode === 'stide') {
      const model = new StideModel(this.params.window, this.vocab, trie);
      for (const s of sequences) model.add(this.vocab.encode(s, true));
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
    return { report: { sequences: sequences.length, events, ngrams: trie.size - 1 } };
  }

  /**
   * Anomaly scores, higher = more anomalous: mean (or max) surprisal in bits per token for the
   * language model, the fraction of unseen windows for STIDE.
   */
  protected scoreModel(sequences: Sequences): Float64Array {
    const out = new Float64Array(sequences.length);
    for (let i = 0; i < sequences.length; i++) out[i] = this.scoreOne(sequences[i]!);
    return out;
  }

  /** The score of one sequence (as `score`, without the batch's validation). */
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

  protected exportModel(): ModelExport {
    const trie = this.lm?.trie ?? this.stide?.trie;
    if (!trie) throw new NotFittedError(this.kind, 'call fit() first');
    return {
      state: {
        mode: this.params.mode,
        ngramOrder: this.params.mode === 'stide' ? this.params.window : this.params.order,
        vocabulary: [...this.vocab.list],
        training: { ...this.training },
      },
      tensors: trieTensors('ngrams', trie),
    };
  }

  /** Every inconsistency of the saved tables is an ArtifactError naming the tensor element or field. */
  protected importModel(artifact: LoadedArtifact): void {
    const vocab = vocabularyFromState(artifact);
    const p = this.params;
    const maxOrder = p.mode === 'stide' ? p.window : p.order;
    if (artifact.state.mode !== p.mode) {
      throw new ArtifactError(
        'manifest.json',
        'state.mode',
        `the tables were counted for mode ${JSON.stringify(artifact.state.mode)}, but params.mode is "${p.mode}": params and weights do not match`,
      );
    }
    assertNgramOrder(artifact, maxOrder, p.mode === 'stide' ? 'params.window' : 'params.order');
    const trie = trieFromTensors(artifact, 'ngrams', vocab.size, maxOrder);
    const training = parseArtifactWith(
      TrainingSchema,
      artifact.state.training,
      'manifest.json',
      'state.training',
    );
    if (p.mode === 'stide') {
      this.stide = new StideModel(p.window, vocab, trie);
      this.lm = null;
    } else {
      const lm = new NGramLanguageModel(p, vocab, trie);
      // A table that counting cannot produce (not suffix-closed) is refused here.
      readingArtifact('weights.bin', () => lm.finalize());
      this.lm = lm;
      this.stide = null;
    }
    this.vocab = vocab;
    this.training = training;
  }
}
