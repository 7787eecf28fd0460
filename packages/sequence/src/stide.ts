import { ValidationError } from '@anomalia/core';
import { NGramTrie } from './ngram-trie';
import type { Vocabulary } from './vocabulary';

/**
 * STIDE (Forrest et al. 1996; Warrender et al. 1999): the database of every length-w window seen
 * in normal sequences; a sequence's score is its mismatch rate, the fraction of its windows that
 * are not in the database. A sequence shorter than w is one window of its own length.
 */
export class StideModel {
  private readonly cur: Int32Array;
  private readonly prev: Int32Array;

  constructor(
    readonly window: number,
    readonly vocab: Vocabulary,
    readonly trie = new NGramTrie(),
  ) {
    if (!Number.isInteger(window) || window < 1 || window > 32)
      throw new ValidationError('window', 'an integer in 1..32', window);
    this.cur = new Int32Array(window + 1);
    this.prev = new Int32Array(window + 1);
  }

  /** Adds every window of an encoded sequence to the database. */
  add(ids: Int32Array): void {
    const w = Math.min(this.window, ids.length);
    if (w === 0) return;
    const trie = this.trie;
    const prev = this.prev;
    const cur = this.cur;
    // prev[k] = node of the k tokens ending just before i; only suffixes up to w are kept.
    prev[0] = 0;
    let depth = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      cur[0] = 0;
      const top = Math.min(depth + 1, w);
      for (let k = 1; k < top; k++) cur[k] = trie.getOrAdd(prev[k - 1]!, t);
      // Only complete windows are counted (shorter prefixes exist as nodes with count 0).
      cur[top] = top === w ? trie.increment(prev[top - 1]!, t) : trie.getOrAdd(prev[top - 1]!, t);
      depth = top;
      for (let k = 0; k <= top; k++) prev[k] = cur[k]!;
    }
  }

  /** Fraction of the sequence's windows that were never seen in training. */
  mismatchRate(ids: Int32Array): number {
    const w = Math.min(this.window, ids.length);
    if (w === 0) return 0;
    const trie = this.trie;
    let prev = this.prev;
    let cur = this.cur;
    prev[0] = 0;
    let depth = 0;
    let windows = 0;
    let mismatches = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      cur[0] = 0;
      const top = Math.min(depth + 1, w);
      for (let k = 1; k <= top; k++) {
        const h = prev[k - 1]!;
        cur[k] = h < 0 ? -1 : trie.child(h, t);
      }
      depth = top;
      if (top === w) {
        windows++;
        // Every k-gram (k ≤ window) of the training data is a node, so existence is membership.
        if (cur[w]! < 0) mismatches++;
      }
      const tmp = prev;
      prev = cur;
      cur = tmp;
    }
    return mismatches / windows;
  }
}
