import { ValidationError } from '@anomalia/core';
import { NGramTrie, resize } from './ngram-trie';
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

/** What scoring reads, derived from the counts by `finalize`. */
interface Derived {
  /** Per node g = (h, w): the fully interpolated P(w | h), every lower order folded in. */
  prob: Float64Array;
  /** Per context node h: the weight γ(h) given to the order below (1 when h has no counts, so it is skipped). */
  gamma: Float64Array;
  /** Suffix link per node (root: −1). */
  suffix: Int32Array;
  /** Longest context of padding markers present in the trie, and its length. */
  start: number;
  startOrder: number;
  /** Uniform probability over the predictable ids, and the vocabulary size it was computed for. */
  uniform: number;
  vocabSize: number;
}

/**
 * A smoothed n-gram language model over integer token ids. Sequences are padded with order − 1
 * start markers and closed with an end marker, so the first tokens and the length of a sequence
 * are modelled too.
 *
 * Speed comes from suffix links (node of h w → node of h′ w, h′ = h without its oldest token):
 * - counting looks up ONE n-gram per event, the top-order one (padding gives every position a
 *   full-order n-gram); its suffix is the next context, lower-order nodes are only visited when a
 *   new n-gram is created, and lower-order counts are summed down the suffix links in `finalize`
 *   (the count of an n-gram = the sum of the counts of the top-order n-grams ending with it);
 * - `finalize` folds the whole interpolation chain of every stored n-gram into one probability,
 *   so scoring a seen n-gram is one look-up; an unseen one backs off along the suffix links
 *   multiplying the γ of the contexts it skips. The arithmetic is the same, operation for
 *   operation, as evaluating the interpolation order by order, so scores are bit-identical.
 */
export class NGramLanguageModel {
  readonly vocab: Vocabulary;
  readonly trie: NGramTrie;
  private derived: Derived | null = null;
  /**
   * Four ints per node, together so one event touches one cache line: the suffix link (root:
   * −1), a one-entry transition cache (token, next top-order node: repetitive data mostly
   * follows the same path again), and the number of times the node was counted as the top-order
   * n-gram since the last `finalize`. Valid for nodes below `linked`.
   */
  private info: Int32Array;
  private linked = 1;
  /** Top-order counts were added since lower-order counts were last derived from them. */
  private pending = false;
  /** The trie's own counts are all 0 (fresh trie, counts not written back yet): no need to read them. */
  private trieCountsZero: boolean;
  private gammas: Float64Array;
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
    this.trieCountsZero = trie.size === 1;
    // Sized like the trie's table, so that a pre-sized trie needs no copying here either.
    this.info = new Int32Array(4 * Math.max(1024, trie.capacity, trie.size));
    this.info[0] = -1;
    this.info[1] = -1;
    this.gammas = new Float64Array(order + 1);
  }

  get isFitted(): boolean {
    return this.derived !== null;
  }

  /** Adds the n-grams of one encoded sequence (all orders 1..N). Call `finalize` after the last one. */
  count(ids: Int32Array): void {
    const N = this.options.order;
    const trie = this.trie;
    this.linkExisting();
    // Context of the first token: the padding chain, created as it is walked.
    let ctx = 0;
    for (let k = 1; k < N; k++) ctx = this.getOrAddLinked(ctx, BOS_ID);
    let info = this.info;
    let g = -1; // top-order n-gram ending at the previous position
    const n = ids.length;
    for (let i = 0; i <= n; i++) {
      const w = i < n ? ids[i]! : EOS_ID;
      let next: number;
      if (g >= 0 && info[4 * g + 1] === w) next = info[4 * g + 2]!;
      else {
        // The context is the last N − 1 tokens: the suffix of the previous top-order n-gram.
        const h = g < 0 ? ctx : info[4 * g]!;
        next = trie.getOrAdd(h, w);
        if (trie.added) {
          this.link(next, h, w);
          info = this.info;
        }
        if (g >= 0) {
          info[4 * g + 1] = w;
          info[4 * g + 2] = next;
        }
      }
      info[4 * next + 3]!++;
      g = next;
    }
    this.pending = true;
    this.derived = null;
  }

  /** Derives lower-order counts, continuation counts, discounts and interpolated probabilities. */
  finalize(): void {
    const { order: N, smoothing, addK } = this.options;
    const trie = this.trie;
    this.linkExisting();
    const size = trie.size;
    const info = this.info;
    const { parent, order } = trie.structure();
    const count = this.trieCountsZero ? new Float64Array(size) : trie.toArrays().count;
    const byOrder = nodesByOrder(order, N);
    const suffix = new Int32Array(size);
    for (let g = 0; g < size; g++) suffix[g] = info[4 * g]!;
    if (this.pending) {
      // Only top-order n-grams were counted: every lower-order count is the sum of the counts
      // of the n-grams one order up whose suffix it is.
      for (let k = 0; k < N; k++) for (const g of byOrder[k]!) count[g] = 0;
      for (const g of byOrder[N]!) {
        count[g]! += info[4 * g + 3]!;
        info[4 * g + 3] = 0;
      }
      for (let k = N; k >= 2; k--) for (const g of byOrder[k]!) count[suffix[g]!]! += count[g]!;
      trie.setCounts(count);
      this.trieCountsZero = false;
      this.pending = false;
    }
    // num[g] = numerator count of node g; den[h], gamma[h] = denominator and γ of context h.
    let num = count;
    if (smoothing === 'kneser-ney') {
      num = new Float64Array(size);
      // Continuation count of g = number of distinct tokens seen just before it = number of
      // (order + 1)-grams whose suffix is g. Padding-chain nodes (count 0) are contexts only.
      for (let g = 1; g < size; g++) if (order[g]! >= 2 && count[g]! > 0) num[suffix[g]!]!++;
      for (const g of byOrder[N]!) num[g] = count[g]!;
    }
    // Per context: total and numbers of successors seen once, twice, three or more times;
    // per order: counts-of-counts for the modified Kneser–Ney discounts.
    // ctx[4h..4h+3] = total, N1, N2, N3+ of context h (one cache line per update); then den, γ.
    const coc = Array.from({ length: N + 1 }, () => new Float64Array(5));
    const ctx = new Float64Array(4 * size);
    for (let g = 1; g < size; g++) {
      const v = num[g]!;
      if (v <= 0) continue;
      const h4 = 4 * parent[g]!;
      ctx[h4]! += v;
      if (v < 1.5) ctx[h4 + 1]!++;
      else if (v < 2.5) ctx[h4 + 2]!++;
      else ctx[h4 + 3]!++;
      if (v <= 4) coc[order[g]!]![Math.round(v)]!++;
    }
    const discount = coc.map(modifiedKneserNeyDiscounts);
    if (smoothing !== 'kneser-ney') for (const d of discount) d.fill(0);
    const V = this.vocab.size - 1; // every id but the start marker can be predicted
    // γ = 1 marks a context without counts: it is skipped (multiplying by 1 changes nothing).
    const gamma = new Float64Array(size).fill(1);
    for (let h = 0; h < size; h++) {
      const h4 = 4 * h;
      const total = ctx[h4]!;
      if (total <= 0) continue;
      const n1 = ctx[h4 + 1]!;
      const n2 = ctx[h4 + 2]!;
      const n3 = ctx[h4 + 3]!;
      let den = total;
      let g: number;
      if (smoothing === 'kneser-ney') {
        const d = discount[order[h]! + 1]!;
        g = (d[1]! * n1 + d[2]! * n2 + d[3]! * n3) / total;
      } else if (smoothing === 'witten-bell') {
        den = total + (n1 + n2 + n3);
        g = (n1 + n2 + n3) / den;
      } else {
        den = total + addK * V;
        g = (addK * V) / den;
      }
      ctx[h4] = den;
      ctx[h4 + 1] = g;
      gamma[h] = g;
    }
    // P(w | h) = max(c − D, 0) / den(h) + γ(h) · P(w | h′), lower orders first so that
    // P(w | h′) (the suffix node's probability, or the uniform one) is ready.
    const uniform = 1 / V;
    const prob = new Float64Array(size);
    for (let k = 1; k <= N; k++) {
      const d = discount[k]!;
      for (const g of byOrder[k]!) {
        const h4 = 4 * parent[g]!;
        const lower = k === 1 ? uniform : prob[suffix[g]!]!;
        const total = ctx[h4]!;
        if (total <= 0) {
          prob[g] = lower;
          continue;
        }
        const c = num[g]!;
        const D = c <= 0 ? 0 : d[c < 1.5 ? 1 : c < 2.5 ? 2 : 3]!;
        prob[g] = (c > D ? c - D : 0) / total + ctx[h4 + 1]! * lower;
      }
    }
    let start = 0;
    let startOrder = 0;
    for (let k = 1; k < N; k++) {
      const next = trie.child(start, BOS_ID);
      if (next < 0) break;
      start = next;
      startOrder = k;
    }
    this.derived = { prob, gamma, suffix, start, startOrder, uniform, vocabSize: this.vocab.size };
  }

  /**
   * Surprisal −log2 P(token | previous order − 1 tokens) of each token and of the end marker
   * (length ids.length + 1). Unseen tokens should be encoded as UNK_ID.
   */
  surprisals(ids: Int32Array, out = new Float64Array(ids.length + 1)): Float64Array {
    const d = this.requireDerived();
    const N = this.options.order;
    const trie = this.trie;
    const { prob, gamma, suffix, uniform } = d;
    const skipped = this.gammas;
    // ctx = node of the longest suffix of the history (≤ N − 1 tokens) present in the trie.
    let ctx = d.start;
    let ctxOrder = d.startOrder;
    const n = ids.length;
    for (let i = 0; i <= n; i++) {
      const w = i < n ? ids[i]! : EOS_ID;
      let h = ctx;
      let order = ctxOrder;
      let nSkipped = 0;
      let p: number;
      let g: number;
      for (;;) {
        g = trie.child(h, w);
        if (g >= 0) {
          p = prob[g]!;
          break;
        }
        // Unseen after h: P(w | h) = γ(h) · P(w | h′).
        skipped[nSkipped++] = gamma[h]!;
        if (h === 0) {
          p = uniform;
          break;
        }
        h = suffix[h]!;
        order--;
      }
      // Apply the skipped levels lowest first, as the order-by-order recursion does.
      for (let j = nSkipped - 1; j >= 0; j--) p = skipped[j]! * p;
      out[i] = -Math.log2(p);
      if (g < 0) {
        ctx = 0;
        ctxOrder = 0;
      } else if (order + 1 < N) {
        ctx = g;
        ctxOrder = order + 1;
      } else {
        ctx = suffix[g]!;
        ctxOrder = N - 1;
      }
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
    if (!this.derived || this.derived.vocabSize !== this.vocab.size) this.finalize();
    return this.derived!;
  }

  /** The child of `parent` for `token`, created (count 0, with its suffix link) if missing. */
  private getOrAddLinked(parent: number, token: number): number {
    const g = this.trie.getOrAdd(parent, token);
    if (this.trie.added) this.link(g, parent, token);
    return g;
  }

  /** Sets the suffix link of the new node g = (h, w), creating its suffix (recursively) if missing. */
  private link(g: number, h: number, w: number): void {
    const s = h === 0 ? 0 : this.getOrAddLinked(this.info[4 * h]!, w);
    this.setLink(g, s);
  }

  private setLink(g: number, s: number): void {
    if (4 * g >= this.info.length) this.info = resize(this.info, Math.max(4 * (g + 1), this.info.length * 2));
    const o = 4 * g;
    this.info[o] = s;
    this.info[o + 1] = -1;
    this.info[o + 2] = 0;
    this.info[o + 3] = 0;
    if (g >= this.linked) this.linked = g + 1;
  }

  /**
   * Links nodes the model did not create (a trie loaded from a file). Parents have smaller ids
   * than their children, so one ascending pass finds every suffix.
   */
  private linkExisting(): void {
    const trie = this.trie;
    const size = trie.size;
    if (this.linked >= size) return;
    for (let g = this.linked; g < size; g++) {
      const p = trie.parentOf(g);
      const s = p === 0 ? 0 : trie.child(this.info[4 * p]!, trie.tokenOf(g));
      if (s < 0)
        throw new ValidationError(
          'ngrams',
          "a suffix-closed n-gram table (every n-gram's suffix stored too)",
          `node ${g} without its suffix`,
        );
      this.setLink(g, s);
    }
  }
}

/** Node ids grouped by order (index 0: the root), each group in ascending id order. */
function nodesByOrder(order: Uint8Array, maxOrder: number): Int32Array[] {
  const sizes = new Int32Array(maxOrder + 1);
  for (let g = 0; g < order.length; g++) sizes[order[g]!]!++;
  const out = Array.from(sizes, (n) => new Int32Array(n));
  const fill = new Int32Array(maxOrder + 1);
  for (let g = 0; g < order.length; g++) {
    const k = order[g]!;
    out[k]![fill[k]!++] = g;
  }
  return out;
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
