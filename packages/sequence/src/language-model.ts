import { ValidationError } from '@anomalia/core';
import { NGramTrie } from './ngram-trie';
import { BOS_ID, EOS_ID, Vocabulary } from './vocabulary';

/**
 * How probability mass is moved to unseen n-grams. All three interpolate every order with the
 * order below (down to a uniform distribution over the vocabulary), so an unseen n-gram in a
 * familiar context still gets a sensible probability:
 *
 *   P(w | h) = max(c(h w) − D, 0) / den(h) + γ(h) · P(w | h′)         h′ = h without its first token
 *
 * - kneser-ney: interpolated modified Kneser–Ney (Chen & Goodman 1998): three discounts per order
 *   D1, D2, D3+ estimated from counts-of-counts, den = Σ_w c(h w), γ = (D1·N1 + D2·N2 + D3·N3+)/den;
 *   lower orders count distinct left contexts (continuation counts) instead of occurrences.
 * - witten-bell: D = 0, den = c(h) + T(h), γ = T(h) / den, with T(h) the number of distinct successors.
 * - add-k: D = 0, den = c(h) + k·V, γ = k·V / den (a Dirichlet prior centred on the lower order).
 */
export type Smoothing = 'kneser-ney' | 'witten-bell' | 'add-k';

export type SurprisalAggregate = 'mean' | 'max';

export interface LanguageModelOptions {
  order: number;
  smoothing: Smoothing;
  /** Pseudo-count of add-k smoothing. */
  addK: number;
}

/** Statistics derived from the counts after training (what scoring reads). */
interface Derived {
  /**
   * Three numbers per node, together so one look-up touches one cache line: the count used in
   * the numerator (continuation counts below the top order for Kneser–Ney), and, as a context,
   * the denominator and the interpolation weight γ.
   */
  stats: Float64Array;
  /** Discounts per order (index = order) for counts 1, 2 and ≥ 3. */
  discount: Float64Array[];
  /** Node of the context made only of padding, per length (−1 when unseen). */
  bosChain: Int32Array;
}

/**
 * A smoothed n-gram language model over integer token ids. Sequences are padded with order − 1
 * start markers and closed with an end marker, so the first tokens and the length of a sequence
 * are modelled too.
 */
export class NGramLanguageModel {
  readonly vocab: Vocabulary;
  readonly trie: NGramTrie;
  private derived: Derived | null = null;
  private readonly cur: Int32Array;
  private readonly prev: Int32Array;
  private buffer = new Float64Array(256);

  constructor(
    readonly options: LanguageModelOptions,
    vocab = new Vocabulary(),
    trie = new NGramTrie(),
  ) {
    const { order, addK } = options;
    if (!Number.isInteger(order) || order < 1 || order > 16)
      throw new ValidationError('order', 'an integer in 1..16', order);
    if (!(addK > 0) || !Number.isFinite(addK)) throw new ValidationError('addK', 'a positive number', addK);
    this.vocab = vocab;
    this.trie = trie;
    this.cur = new Int32Array(order + 1);
    this.prev = new Int32Array(order + 1);
  }

  get isFitted(): boolean {
    return this.derived !== null;
  }

  /** Adds the n-grams of one encoded sequence (all orders 1..N). Call `finalize` after the last one. */
  count(ids: Int32Array): void {
    const N = this.options.order;
    const trie = this.trie;
    const prev = this.prev;
    const cur = this.cur;
    // Context of the first token: the padding chain, created as it is walked.
    prev[0] = 0;
    for (let k = 1; k < N; k++) prev[k] = trie.getOrAdd(prev[k - 1]!, BOS_ID);
    const n = ids.length;
    for (let i = 0; i <= n; i++) {
      const w = i < n ? ids[i]! : EOS_ID;
      cur[0] = 0;
      for (let k = 1; k <= N; k++) cur[k] = trie.increment(prev[k - 1]!, w);
      for (let k = 0; k < N; k++) prev[k] = cur[k]!;
    }
    this.derived = null;
  }

  /** Derives continuation counts, discounts and interpolation weights from the raw counts. */
  finalize(): void {
    const { order: N, smoothing, addK } = this.options;
    const trie = this.trie;
    const size = trie.size;
    const { parent, token, order, count } = trie.toArrays();
    // stats[3g] = numerator count of node g; stats[3h + 1], stats[3h + 2] = den(h), γ(h) of context h.
    const stats = new Float64Array(size * 3);
    if (smoothing === 'kneser-ney') {
      // Continuation count of g = number of distinct tokens seen just before it = number of
      // (order + 1)-grams whose suffix is g. The suffix of a node is found from its parent's
      // suffix; parents always have smaller ids, so one ascending pass suffices.
      const suffix = new Int32Array(size);
      suffix[0] = -1;
      for (let g = 1; g < size; g++) {
        const p = parent[g]!;
        const sfx = p === 0 ? 0 : trie.child(suffix[p]!, token[g]!);
        suffix[g] = sfx;
        // Padding-chain nodes (count 0) are contexts only, never left extensions.
        if (order[g]! >= 2 && count[g]! > 0) stats[3 * sfx]!++;
      }
      for (let g = 1; g < size; g++) if (order[g] === N) stats[3 * g] = count[g]!;
    } else {
      for (let g = 1; g < size; g++) stats[3 * g] = count[g]!;
    }
    // Per context: total and numbers of successors seen once, twice, three or more times;
    // per order: counts-of-counts for the modified Kneser–Ney discounts.
    const coc = Array.from({ length: N + 1 }, () => new Float64Array(5));
    const n1 = new Float64Array(size);
    const n2 = new Float64Array(size);
    const n3 = new Float64Array(size);
    for (let g = 1; g < size; g++) {
      const v = stats[3 * g]!;
      if (v <= 0) continue;
      const h = parent[g]!;
      stats[3 * h + 1]! += v;
      if (v < 1.5) n1[h]!++;
      else if (v < 2.5) n2[h]!++;
      else n3[h]!++;
      const c = coc[order[g]!]!;
      if (v <= 4) c[Math.round(v)]!++;
    }
    const discount = coc.map(modifiedKneserNeyDiscounts);
    const V = this.vocab.size - 1; // every id but the start marker can be predicted
    for (let h = 0; h < size; h++) {
      const types = n1[h]! + n2[h]! + n3[h]!;
      const total = stats[3 * h + 1]!;
      if (total <= 0) continue;
      let den = total;
      let gamma: number;
      if (smoothing === 'kneser-ney') {
        const d = discount[order[h]! + 1]!;
        gamma = (d[1]! * n1[h]! + d[2]! * n2[h]! + d[3]! * n3[h]!) / total;
      } else if (smoothing === 'witten-bell') {
        den = total + types;
        gamma = types / den;
      } else {
        den = total + addK * V;
        gamma = (addK * V) / den;
      }
      stats[3 * h + 1] = den;
      stats[3 * h + 2] = gamma;
    }
    if (smoothing !== 'kneser-ney') for (const d of discount) d.fill(0);
    const bosChain = new Int32Array(N);
    for (let k = 1; k < N; k++)
      bosChain[k] = bosChain[k - 1]! < 0 ? -1 : trie.child(bosChain[k - 1]!, BOS_ID);
    this.derived = { stats, discount, bosChain };
  }

  /**
   * Surprisal −log2 P(token | previous order − 1 tokens) of each token and of the end marker
   * (length ids.length + 1). Unseen tokens should be encoded as UNK_ID.
   */
  surprisals(ids: Int32Array, out = new Float64Array(ids.length + 1)): Float64Array {
    const d = this.requireDerived();
    const N = this.options.order;
    const trie = this.trie;
    const { stats, discount, bosChain } = d;
    const uniform = 1 / (this.vocab.size - 1);
    let prev = this.prev;
    let cur = this.cur;
    for (let k = 0; k < N; k++) prev[k] = bosChain[k]!;
    const n = ids.length;
    for (let i = 0; i <= n; i++) {
      const w = i < n ? ids[i]! : EOS_ID;
      let p = uniform;
      cur[0] = 0;
      let k = 1;
      for (; k <= N; k++) {
        const h = prev[k - 1]!;
        if (h < 0) break;
        const g = trie.child(h, w);
        cur[k] = g;
        const total = stats[3 * h + 1]!;
        if (total <= 0) continue;
        const c = g >= 0 ? stats[3 * g]! : 0;
        const D = c <= 0 ? 0 : discount[k]![c < 1.5 ? 1 : c < 2.5 ? 2 : 3]!;
        p = (c > D ? c - D : 0) / total + stats[3 * h + 2]! * p;
      }
      for (; k <= N; k++) cur[k] = -1;
      out[i] = -Math.log2(p);
      const t = prev;
      prev = cur;
      cur = t;
    }
    return out;
  }

  /**
   * The sequence score: mean surprisal (bits per token, end marker included) or the largest
   * single-token surprisal. `buffer` is reused between calls to avoid allocation.
   */
  score(ids: Int32Array, aggregate: SurprisalAggregate): number {
    if (this.buffer.length < ids.length + 1)
      this.buffer = new Float64Array(Math.max(ids.length + 1, this.buffer.length * 2));
    const s = this.surprisals(ids, this.buffer);
    const n = ids.length + 1;
    if (aggregate === 'max') {
      let m = 0;
      for (let i = 0; i < n; i++) if (s[i]! > m) m = s[i]!;
      return m;
    }
    let t = 0;
    for (let i = 0; i < n; i++) t += s[i]!;
    return t / n;
  }

  private requireDerived(): Derived {
    if (!this.derived) this.finalize();
    return this.derived!;
  }
}

/**
 * Chen & Goodman's estimates from the numbers n_r of n-grams seen exactly r times:
 * Y = n1 / (n1 + 2 n2), D1 = 1 − 2Y n2/n1, D2 = 2 − 3Y n3/n2, D3+ = 3 − 4Y n4/n3, each kept in
 * (0, r] (0.5 · r where a count-of-count is missing, as happens on tiny data).
 */
function modifiedKneserNeyDiscounts(coc: Float64Array): Float64Array {
  const [, c1 = 0, c2 = 0, c3 = 0, c4 = 0] = coc;
  const out = new Float64Array(4);
  const Y = c1 + 2 * c2 > 0 ? c1 / (c1 + 2 * c2) : 0.5;
  const est = [
    0,
    c1 ? 1 - (2 * Y * c2) / c1 : 0.5,
    c2 ? 2 - (3 * Y * c3) / c2 : 1,
    c3 ? 3 - (4 * Y * c4) / c3 : 1.5,
  ];
  for (let r = 1; r <= 3; r++) {
    const v = est[r]!;
    out[r] = v > 0 && v <= r ? v : 0.5 * Math.min(r, 2);
  }
  return out;
}
