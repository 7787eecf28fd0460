/**
 * k nearest candidates for each of n query rows: one max-heap of (reduced distance, index)
 * per row, in flat arrays. Candidates are ordered by distance, then by index, so among rows at
 * exactly the same distance the lowest indices are kept whatever order they were offered in:
 * the result does not depend on the search order.
 */
export class NeighborHeaps {
  readonly dist: Float64Array;
  readonly idx: Int32Array;
  /** toDistance(worst(row)) for every row, kept up to date for the search's bounds. */
  readonly worstDistance: Float64Array;

  constructor(
    readonly n: number,
    readonly k: number,
    private readonly toDistance: (reduced: number) => number,
  ) {
    this.dist = new Float64Array(n * k).fill(Number.POSITIVE_INFINITY);
    this.idx = new Int32Array(n * k).fill(0x7fffffff);
    this.worstDistance = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  }

  /** The current k-th smallest reduced distance of row `row` (Infinity until k candidates). */
  worst(row: number): number {
    return this.dist[row * this.k]!;
  }

  /** Offers candidate `j` at reduced distance `d` to row `row`; each (row, j) must be offered once. */
  push(row: number, d: number, j: number): void {
    const k = this.k;
    const base = row * k;
    const dist = this.dist;
    const idx = this.idx;
    const rootD = dist[base]!;
    if (d > rootD || (d === rootD && j >= idx[base]!)) return;
    // Replace the root (the current worst) and sift down.
    let pos = 0;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= k) break;
      const r = l + 1;
      let c = l;
      if (r < k) {
        const dl = dist[base + l]!;
        const dr = dist[base + r]!;
        if (dr > dl || (dr === dl && idx[base + r]! > idx[base + l]!)) c = r;
      }
      const dc = dist[base + c]!;
      if (dc < d || (dc === d && idx[base + c]! < j)) break;
      dist[base + pos] = dc;
      idx[base + pos] = idx[base + c]!;
      pos = c;
    }
    dist[base + pos] = d;
    idx[base + pos] = j;
    this.worstDistance[row] = this.toDistance(dist[base]!);
  }

  /**
   * Sorts every row's candidates ascending by (distance, index), in place: insertion sort on the
   * typed arrays (k is small; a row holds each candidate index once, unfilled slots are alike).
   */
  sortRows(): void {
    const { k, dist, idx } = this;
    for (let base = 0; base < this.n * k; base += k) {
      for (let t = base + 1; t < base + k; t++) {
        const d = dist[t]!;
        const i = idx[t]!;
        let u = t - 1;
        while (u >= base && (dist[u]! > d || (dist[u] === d && idx[u]! > i))) {
          dist[u + 1] = dist[u]!;
          idx[u + 1] = idx[u]!;
          u--;
        }
        dist[u + 1] = d;
        idx[u + 1] = i;
      }
    }
  }
}
