import { NGramTrie, resize } from './ngram-trie';
import { Vocabulary } from './vocabulary';

/** The four signals of the original v1 classifier, each in [0, 1], higher = more suspicious. */
export const SIGNAL_NAMES = ['ngramRarity', 'actionFrequency', 'entropy', 'patternDiversity'] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number];
export const SIGNAL_COUNT = SIGNAL_NAMES.length;

/** Value of a signal when the evidence it needs is missing (no n-gram, untrained tables). */
const NEUTRAL = 0.5;
/** Value given to an n-gram or action never seen in either class (the original's 0.7). */
export const UNSEEN = 0.7;

/**
 * Per-class n-gram and action counts: what the n-gram-rarity and action-frequency signals read.
 * N-grams of exactly `n` tokens live in one trie per class; action counts in per-id arrays.
 */
export class ClassTables {
  readonly vocab: Vocabulary;
  readonly ngrams: [NGramTrie, NGramTrie];
  actions: [Float64Array, Float64Array];
  readonly actionTotals = [0, 0];

  constructor(
    readonly n: number,
    vocab = new Vocabulary(),
    ngrams: [NGramTrie, NGramTrie] = [new NGramTrie(), new NGramTrie()],
  ) {
    this.vocab = vocab;
    this.ngrams = ngrams;
    this.actions = [new Float64Array(64), new Float64Array(64)];
  }

  /** Adds one sequence to the tables of its class (0 normal, 1 anomalous). */
  add(ids: Int32Array, label: 0 | 1): void {
    const n = this.n;
    const trie = this.ngrams[label];
    for (let i = 0; i + n <= ids.length; i++) {
      let node = 0;
      for (let k = 0; k < n - 1; k++) node = trie.getOrAdd(node, ids[i + k]!);
      trie.increment(node, ids[i + n - 1]!);
    }
    if (this.actions[label].length < this.vocab.size) {
      const len = Math.max(this.vocab.size, this.actions[label].length * 2);
      this.actions = [resize(this.actions[0], len), resize(this.actions[1], len)];
    }
    const counts = this.actions[label];
    for (let i = 0; i < ids.length; i++) counts[ids[i]!]!++;
    this.actionTotals[label]! += ids.length;
  }

  /** Count of the n-gram starting at ids[i] in the tables of one class. */
  ngramCount(label: 0 | 1, ids: Int32Array, i: number): number {
    const trie = this.ngrams[label];
    let node = 0;
    for (let k = 0; k < this.n - 1 && node >= 0; k++) node = trie.child(node, ids[i + k]!);
    return node < 0 ? 0 : trie.count(node, ids[i + this.n - 1]!);
  }

  get isEmpty(): boolean {
    return this.actionTotals[0] === 0 && this.actionTotals[1] === 0;
  }

  /** Relative frequency of an action in one class: count / Σ counts (a total of 0 is taken as 1). */
  actionFrequency(label: 0 | 1, id: number): number {
    return (this.actions[label][id] ?? 0) / (this.actionTotals[label] || 1);
  }
}

/**
 * The four signals of a sequence (v1 formulas, see the README):
 * - ngramRarity: mean over the sequence's n-grams of A/(A+N) (anomalous and normal counts), 0.7
 *   for an n-gram seen in neither class, 0.5 when the sequence is shorter than n;
 * - actionFrequency: mean over actions of pA/(pA+pN) with relative frequencies per class, 0.7 unseen;
 * - entropy: 1 − H(S)/log2(u), u distinct actions (0 when u ≤ 1): repetitive = suspicious;
 * - patternDiversity: 1 − u/|S|.
 */
export function extractSignals(
  tables: ClassTables,
  tokens: readonly string[],
  ids = tables.vocab.encode(tokens, false),
  out = new Float64Array(SIGNAL_COUNT),
): Float64Array {
  const len = ids.length;
  const n = tables.n;
  const trained = !tables.isEmpty;
  // 1. n-gram rarity
  if (len < n || !trained) out[0] = NEUTRAL;
  else {
    let s = 0;
    for (let i = 0; i + n <= len; i++) {
      const a = tables.ngramCount(1, ids, i);
      const b = tables.ngramCount(0, ids, i);
      s += a + b > 0 ? a / (a + b) : UNSEEN;
    }
    out[0] = s / (len - n + 1);
  }
  // 2. action frequency ratio
  if (len === 0 || !trained) out[1] = NEUTRAL;
  else {
    let s = 0;
    for (let i = 0; i < len; i++) {
      const pa = tables.actionFrequency(1, ids[i]!);
      const pn = tables.actionFrequency(0, ids[i]!);
      s += pa + pn > 0 ? pa / (pa + pn) : UNSEEN;
    }
    out[1] = s / len;
  }
  // 3 and 4 on the tokens themselves: unseen tokens share one id but are distinct actions.
  const { distinct, entropyBits } = composition(tokens);
  out[2] = distinct > 1 ? 1 - Math.min(entropyBits / Math.log2(distinct), 1) : 0;
  out[3] = len > 0 ? 1 - distinct / len : 0;
  return out;
}

/** Number of distinct tokens and the Shannon entropy (bits) of their empirical distribution. */
export function composition(tokens: readonly string[]): { distinct: number; entropyBits: number } {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / tokens.length;
    h -= p * Math.log2(p);
  }
  return { distinct: counts.size, entropyBits: h };
}
