import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { WindowedNGramModel } from './windowed-ngram-model';

describe('WindowedNGramModel', () => {
  it('counts exactly the last windowSize n-grams (checked against a Map under random traffic)', () => {
    const n = 2;
    const window = 50;
    const m = new WindowedNGramModel(n, window, 1, 2);
    const rng = new Rng(9);
    const history: string[] = [];
    const ids = new Int32Array(n);
    for (let step = 0; step < 5000; step++) {
      ids[0] = rng.integer(0, 12);
      ids[1] = rng.integer(0, 12);
      m.add(ids, 0, n);
      history.push(`${ids[0]},${ids[1]}`);
      if (step % 97 === 0 || step > 4990) {
        const recent = history.slice(-window);
        const ref = new Map<string, number>();
        for (const k of recent) ref.set(k, (ref.get(k) ?? 0) + 1);
        expect(m.size).toBe(recent.length);
        expect(m.distinctCount).toBe(ref.size);
        for (let a = 0; a < 12; a++)
          for (let b = 0; b < 12; b++)
            expect(m.count(Int32Array.from([a, b]), 0, 2)).toBe(ref.get(`${a},${b}`) ?? 0);
      }
    }
  });

  it('scores with the smoothed formula: a never-seen n-gram scores 1, a frequent one low', () => {
    const m = new WindowedNGramModel(1, 1000, 1, 2);
    const id = (v: number) => Int32Array.from([v]);
    for (let i = 0; i < 900; i++) m.add(id(i % 3), 0, 1);
    for (let i = 0; i < 100; i++) m.add(id(3), 0, 1);
    // total 1000, V = 4: P(0) = 301/1004, P_min = 1/1005.
    expect(m.score(id(0), 0, 1)).toBeCloseTo(Math.log(301 / 1004) / Math.log(1 / 1005), 12);
    expect(m.score(id(9), 0, 1)).toBe(1);
    // Ring indexing: the n-gram can wrap around the end of the ids buffer.
    const wrapped = new WindowedNGramModel(3, 10, 1, 2);
    wrapped.add(Int32Array.from([7, 1, 2]), 2, 3); // reads 2, 7, 1
    expect(wrapped.count(Int32Array.from([2, 7, 1]), 0, 3)).toBe(1);
  });
});
