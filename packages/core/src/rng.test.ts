import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors';
import { Rng } from './rng';

describe('Rng (xoshiro128**)', () => {
  it('is deterministic under a seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(sa).toEqual(Array.from({ length: 5 }, () => b.nextUint32()));
    expect(sa).not.toEqual(Array.from({ length: 5 }, () => c.nextUint32()));
    expect(new Rng('run-a').random()).toBe(new Rng('run-a').random());
  });

  it('restores exactly from its state', () => {
    const a = new Rng(5);
    a.random();
    const b = Rng.fromState(a.state());
    expect(b.random()).toBe(a.random());
  });

  it('draws uniform doubles in [0, 1) with the right mean and variance', () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.random();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
    }
    expect(outside).toBe(0);
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(s2 / n - (s / n) ** 2).toBeCloseTo(1 / 12, 2);
  });

  it('draws normals with the requested mean and deviation', () => {
    const r = new Rng(2);
    const xs = Array.from({ length: 100_000 }, () => r.normal(3, 2));
    const m = xs.reduce((a, b) => a + b) / xs.length;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
    expect(m).toBeCloseTo(3, 1);
    expect(Math.sqrt(v)).toBeCloseTo(2, 1);
  });

  it('draws unbiased integers in [low, high)', () => {
    const r = new Rng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.integer(0, 6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.integer(3, 3)).toThrow(ValidationError);
    const big = r.integer(0, 2 ** 40);
    expect(Number.isInteger(big) && big >= 0 && big < 2 ** 40).toBe(true);
  });

  it('shuffles into a permutation and samples without replacement', () => {
    const r = new Rng(4);
    const p = Array.from(r.permutation(100)).sort((a, b) => a - b);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const k of [0, 3, 50, 100]) {
      const s = r.sampleIndices(100, k);
      expect(new Set(s).size).toBe(k);
      expect(Array.from(s).every((v) => v >= 0 && v < 100)).toBe(true);
    }
    expect(() => r.sampleIndices(5, 6)).toThrow(ValidationError);
    const withRep = r.sampleIndices(3, 50, { replace: true });
    expect(withRep.length).toBe(50);
    expect(new Set(withRep).size).toBeLessThanOrEqual(3);
  });

  it('chooses by weight, and never a zero-weight item', () => {
    const r = new Rng(5);
    const picks = r.choice(['a', 'b', 'c'], 10_000, { replace: true, weights: [1, 0, 3] });
    expect(picks.includes('b')).toBe(false);
    const a = picks.filter((x) => x === 'a').length;
    expect(a / picks.length).toBeCloseTo(0.25, 1);
    expect(r.choice(['a', 'b', 'c'], 3, { weights: [1, 1, 1] }).sort()).toEqual(['a', 'b', 'c']);
    expect(() => r.choice(['a'], 1, { weights: [-1] })).toThrow(ValidationError);
  });

  it('forks independent, reproducible streams', () => {
    const a = new Rng(9).fork();
    const b = new Rng(9).fork();
    expect(a.random()).toBe(b.random());
    const parent = new Rng(9);
    const child = parent.fork();
    expect(child.random()).not.toBe(parent.random());
  });
});
