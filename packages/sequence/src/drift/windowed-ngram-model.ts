import { ValidationError } from '@anomalia/core';
import { hash, nextPow2 } from '../ngram-trie';

/**
 * Counts of the most recent `windowSize` n-grams (all agents together), forgetting the oldest
 * one as each new one arrives, in a fixed-size open-addressing table (linear probing with
 * backward-shift deletion, so no tombstones accumulate). Scores how surprising an n-gram is
 * with additive smoothing:
 *
 *   P(g) = (c(g) + α) / (total + α·V),   V = max(1, distinct n-grams in the window)
 *   score = min(1, ln P(g) / ln P_min),   P_min = α / (total + α·(V + 1))  (a never-seen n-gram)
 *   + 0.1 (capped at 1) when c(g) < minFrequency.
 */
export class WindowedNGramModel {
  private readonly keys: Int32Array;
  private readonly counts: Int32Array;
  private readonly mask: number;
  /** The n-grams in the window, oldest first (a ring of n ids each). */
  private readonly ring: Int32Array;
  private ringHead = 0;
  private total = 0;
  private distinct = 0;

  constructor(
    readonly n: number,
    readonly windowSize: number,
    readonly alpha: number,
    readonly minFrequency: number,
  ) {
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new ValidationError('sequenceN', 'an integer in 1..16', n);
    if (!Number.isInteger(windowSize) || windowSize < 1)
      throw new ValidationError('sequenceWindowSize', 'a positive integer', windowSize);
    const cap = nextPow2(windowSize * 2 + 2);
    this.keys = new Int32Array(cap * n);
    this.counts = new Int32Array(cap);
    this.mask = cap - 1;
    this.ring = new Int32Array(windowSize * n);
  }

  /** N-grams currently in the window. */
  get size(): number {
    return this.total;
  }
  get distinctCount(): number {
    return this.distinct;
  }

  /** Occurrences in the window of the n-gram ids[offset..offset+n) (ids read cyclically from a ring of length `period`). */
  count(ids: Int32Array, offset: number, period: number): number {
    const s = this.find(ids, offset, period);
    return s < 0 ? 0 : this.counts[s]!;
  }

  /** The smoothed surprise score of an n-gram given the current window (before adding it). */
  score(ids: Int32Array, offset: number, period: number): number {
    const c = this.count(ids, offset, period);
    const a = this.alpha;
    const V = Math.max(1, this.distinct);
    const p = (c + a) / (this.total + a * V);
    const pMin = a / (this.total + a * (V + 1));
    let score = Math.log(pMin) < 0 ? Math.min(1, Math.log(p) / Math.log(pMin)) : 0;
    if (score < 0) score = 0;
    if (c < this.minFrequency) score = Math.min(1, score + 0.1);
    return score;
  }

  /** Adds an n-gram, evicting the oldest one once the window is full. */
  add(ids: Int32Array, offset: number, period: number): void {
    const n = this.n;
    const ring = this.ring;
    const base = this.ringHead * n;
    if (this.total === this.windowSize) this.remove(ring, base, ring.length);
    else this.total++;
    for (let k = 0; k < n; k++) ring[base + k] = ids[(offset + k) % period]!;
    this.ringHead = (this.ringHead + 1) % this.windowSize;
    let s = this.slotOf(ids, offset, period);
    const keys = this.keys;
    for (;;) {
      if (this.counts[s] === 0) {
        for (let k = 0; k < n; k++) keys[s * n + k] = ids[(offset + k) % period]!;
        this.counts[s] = 1;
        this.distinct++;
        return;
      }
      if (this.equals(s, ids, offset, period)) {
        this.counts[s]!++;
        return;
      }
      s = (s + 1) & this.mask;
    }
  }

  private remove(ids: Int32Array, offset: number, period: number): void {
    const s = this.find(ids, offset, period);
    if (s < 0) return;
    if (--this.counts[s]! > 0) return;
    this.distinct--;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    const n = this.n;
    const keys = this.keys;
    const counts = this.counts;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      if (counts[j] === 0) break;
      const home = this.slotOf(keys, j * n, keys.length);
      // Move j into the hole when its home slot is not cyclically in (hole, j].
      if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
        for (let k = 0; k < n; k++) keys[hole * n + k] = keys[j * n + k]!;
        counts[hole] = counts[j]!;
        counts[j] = 0;
        hole = j;
      }
    }
  }

  private find(ids: Int32Array, offset: number, period: number): number {
    let s = this.slotOf(ids, offset, period);
    for (;;) {
      if (this.counts[s] === 0) return -1;
      if (this.equals(s, ids, offset, period)) return s;
      s = (s + 1) & this.mask;
    }
  }

  private equals(slot: number, ids: Int32Array, offset: number, period: number): boolean {
    const n = this.n;
    const keys = this.keys;
    for (let k = 0; k < n; k++) if (keys[slot * n + k] !== ids[(offset + k) % period]) return false;
    return true;
  }

  private slotOf(ids: Int32Array, offset: number, period: number): number {
    let h = 0x2545f491;
    for (let k = 0; k < this.n; k++) h = hash(h, ids[(offset + k) % period]!);
    return h & this.mask;
  }
}
