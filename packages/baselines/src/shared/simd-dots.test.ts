import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { blockDots, indexedDots } from './block-dots';
import { SimdKernels, simdAvailable } from './simd-dots';

const rng = new Rng(17);
const rows = (n: number, d: number) => Float64Array.from({ length: n * d }, () => rng.normal());

describe('SIMD kernels', () => {
  it('are available on Node 20', () => {
    expect(simdAvailable()).toBe(true);
  });

  it('compute the same dot products as the JavaScript loops (to rounding)', () => {
    for (const d of [1, 2, 5, 32]) {
      const stride = d + (d % 2);
      const A = rows(12, d);
      const B = rows(10, d);
      const k = new SimdKernels();
      k.layout({ A: 12 * stride * 8, B: 10 * stride * 8, out: 12 * 10 * 8, list: 64 });
      const a = k.f64('A');
      const b = k.f64('B');
      for (let i = 0; i < 12; i++) a.set(A.subarray(i * d, i * d + d), i * stride);
      for (let i = 0; i < 10; i++) b.set(B.subarray(i * d, i * d + d), i * stride);
      const want = new Float64Array(12 * 10);
      blockDots(A, 0, 12, B, 0, 10, d, want);
      k.dots4x2(k.address('A'), 12, k.address('B'), 10, stride * 8, k.address('out'));
      const got = k.f64('out');
      for (const [i, v] of Array.from(want).entries()) expect(got[i]).toBeCloseTo(v, 12);

      k.dots1x4(k.address('A') + 3 * stride * 8, k.address('B'), 8, stride * 8, k.address('out'));
      for (let j = 0; j < 8; j++) expect(got[j]).toBeCloseTo(want[3 * 10 + j]!, 12);

      const lists = k.i32('list');
      const aRows = Int32Array.from([5, 0, 7, 7]);
      const bRows = Int32Array.from([9, 2]);
      aRows.forEach((r, i) => {
        lists[i] = k.address('A') + r * stride * 8;
      });
      bRows.forEach((r, i) => {
        lists[4 + i] = k.address('B') + r * stride * 8;
      });
      k.dotsIndexed4x2(k.address('list'), 4, k.address('list') + 16, 2, stride * 8, k.address('out'));
      const ref = new Float64Array(8);
      indexedDots(A, aRows, 4, B, bRows, 2, d, ref);
      for (const [i, v] of Array.from(ref).entries()) expect(got[i]).toBeCloseTo(v, 12);
    }
  });

  it('screen every pair whose squared distance may be under a limit, in float64 and float32', () => {
    const d = 8;
    const A = rows(8, d);
    const B = rows(6, d);
    const sq = (M: Float64Array, i: number) => M.subarray(i * d, i * d + d).reduce((s, v) => s + v * v, 0);
    const dist2 = (i: number, j: number) => {
      let s = 0;
      for (let t = 0; t < d; t++) s += (A[i * d + t]! - B[j * d + t]!) ** 2;
      return s;
    };
    for (const precision of ['f64', 'f32'] as const) {
      const size = precision === 'f64' ? 8 : 4;
      const k = new SimdKernels();
      k.layout({
        A: 8 * d * size,
        B: 6 * d * size,
        aList: 32,
        bList: 24,
        aSq: 64,
        bSq: 48,
        aLim: 64,
        bLim: 48,
        hits: 8 * 6 * 4,
      });
      (precision === 'f64' ? k.f64('A') : k.f32('A')).set(A);
      (precision === 'f64' ? k.f64('B') : k.f32('B')).set(B);
      const aList = k.i32('aList');
      const bList = k.i32('bList');
      for (let i = 0; i < 8; i++) aList[i] = k.address('A') + i * d * size;
      for (let j = 0; j < 6; j++) bList[j] = k.address('B') + j * d * size;
      for (let i = 0; i < 8; i++) k.f64('aSq')[i] = sq(A, i);
      for (let j = 0; j < 6; j++) k.f64('bSq')[j] = sq(B, j);
      // Limits around the median distance of each row; columns 0 and 3 also bring a limit.
      for (let i = 0; i < 8; i++) k.f64('aLim')[i] = dist2(i, i % 6);
      for (let j = 0; j < 6; j++) k.f64('bLim')[j] = j % 3 === 0 ? dist2(j, j) : -1;
      const shrink = precision === 'f64' ? 1 - 12 * 2.3e-16 : 1 - 12 * 2 ** -24;
      const call = precision === 'f64' ? k.screenIndexed4x2.bind(k) : k.screenIndexed4x2f32.bind(k);
      const count = call(
        k.address('aList'),
        k.address('aSq'),
        k.address('aLim'),
        8,
        k.address('bList'),
        k.address('bSq'),
        k.address('bLim'),
        6,
        d * size,
        shrink,
        k.address('hits'),
      );
      const hits = new Set(Array.from(k.i32('hits').subarray(0, count)));
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 6; j++) {
          const exact = dist2(i, j);
          const needed = exact <= k.f64('aLim')[i]! || exact <= k.f64('bLim')[j]!;
          // Every needed pair is a hit; a hit is never far from needed.
          if (needed) expect(hits.has((i << 16) | j)).toBe(true);
          if (hits.has((i << 16) | j)) {
            const lim = Math.max(k.f64('aLim')[i]!, k.f64('bLim')[j]!);
            expect(exact).toBeLessThanOrEqual(lim + 1e-4 * (sq(A, i) + sq(B, j)));
          }
        }
      }
    }
  });
});
