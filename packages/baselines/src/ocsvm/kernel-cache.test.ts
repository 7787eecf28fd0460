import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { KernelCache } from './kernel-cache';

/** libsvm's Cache written plainly: eager swaps inside every cached column, arrays reallocated. */
class ReferenceCache {
  cols = new Map<number, number[]>();
  lru: number[] = [];
  size: number;
  constructor(l: number, bytes: number) {
    this.size = Math.max(Math.floor(bytes / 4) - l * 8, 2 * l);
  }
  get(i: number, len: number): { column: number[]; valid: number } {
    const have = this.cols.get(i)?.length ?? 0;
    this.lru = this.lru.filter((h) => h !== i);
    let valid = len;
    if (len > have) {
      while (this.size < len - have) {
        const old = this.lru.shift()!;
        this.size += this.cols.get(old)!.length;
        this.cols.delete(old);
      }
      const col = [...(this.cols.get(i) ?? []), ...Array(len - have).fill(Number.NaN)];
      this.cols.set(i, col);
      this.size -= len - have;
      valid = have;
    }
    this.lru.push(i);
    return { column: this.cols.get(i)!, valid };
  }
  swap(i: number, j: number): void {
    if (i === j) return;
    const ci = this.cols.get(i);
    const cj = this.cols.get(j);
    this.cols.delete(i);
    this.cols.delete(j);
    if (cj) this.cols.set(i, cj);
    if (ci) this.cols.set(j, ci);
    this.lru = this.lru.filter((h) => h !== i && h !== j);
    if (cj) this.lru.push(i);
    if (ci) this.lru.push(j);
    const [lo, hi] = [Math.min(i, j), Math.max(i, j)];
    for (const h of [...this.lru]) {
      const col = this.cols.get(h)!;
      if (col.length > hi) [col[lo], col[hi]] = [col[hi]!, col[lo]!];
      else if (col.length > lo) {
        this.lru = this.lru.filter((x) => x !== h);
        this.size += col.length;
        this.cols.delete(h);
      }
    }
  }
}

describe('KernelCache', () => {
  it("follows libsvm's cache: same evictions, partial columns, swaps", () => {
    const l = 40;
    const rng = new Rng(9);
    for (const bytes of [0, 4 * 8 * l + 4 * 150, 4 * 8 * l + 4 * 600]) {
      const cache = new KernelCache(l, bytes);
      const ref = new ReferenceCache(l, bytes);
      // Each entry (i, j) of the "kernel matrix" holds a value derived from the current positions' identities.
      const id = Int32Array.from({ length: l }, (_, i) => i);
      const value = (i: number, j: number) => id[i]! * 1000 + id[j]!;
      for (let step = 0; step < 3000; step++) {
        if (rng.random() < 0.15) {
          const i = rng.integer(0, l);
          const j = rng.integer(0, l);
          cache.swapIndex(i, j);
          ref.swap(i, j);
          [id[i], id[j]] = [id[j]!, id[i]!];
          continue;
        }
        const i = rng.integer(0, l);
        const len = 1 + rng.integer(0, l);
        const got = cache.get(i, len);
        const want = ref.get(i, len);
        expect(got.valid).toBe(want.valid);
        for (let j = 0; j < got.valid; j++) expect(got.column[j]).toBe(value(i, j));
        for (let j = got.valid; j < len; j++) {
          got.column[j] = value(i, j);
          want.column[j] = value(i, j);
        }
      }
    }
  });
});
