import {
  type Code,
  f64,
  f64x2,
  func,
  i8x16,
  i32,
  i64x2,
  if_,
  type Local,
  local,
  v128,
  wasmModule,
  whileBelow,
} from '@anomalia/wasm-kit';
import { KERNEL_MEMORY, type Tile4x2, tile4x2Products } from './tile4x2';

/**
 * Screens a block of scattered rows for nearest-neighbour candidates without leaving SIMD:
 * for each pair, approx = (‖a‖² + ‖b‖²)·shrink − 2a·b (a lower bound of the squared distance
 * when shrink absorbs the rounding error); the pair is a hit when approx ≤ aLim[ia] or
 * approx ≤ bLim[ib]. Hits are written as (ia << 16 | ib) and their count returned. m a
 * multiple of 4 and n of 2; padding rows get −Infinity limits so they never hit. The float32
 * variant reads float32 rows (four lanes: twice the throughput); `shrink` must cover its rounding.
 */
function screenKernel<const N extends string>(name: N, precision: 'f64' | 'f32') {
  return func(
    name,
    [
      'aList:i32',
      'aSq:i32',
      'aLim:i32',
      'm:i32',
      'bList:i32',
      'bSq:i32',
      'bLim:i32',
      'n:i32',
      'rowBytes:i32',
      'shrink:f64',
      'hits:i32',
    ],
    ['i32'],
    (fn, { aList, aSq, aLim, m, bList, bSq, bLim, n, rowBytes, shrink, hits }) => {
      const [ia, ib, k, a0, a1, a2, a3, b0, b1, count] = fn.locals(10, 'i32');
      const sa = fn.locals(4, 'f64');
      const la = fn.locals(4, 'f64');
      const acc = fn.locals(8, 'v128');
      const [y0, y1, x, sbv, lbv, shrinkv, approx, mask] = fn.locals(8, 'v128');
      const aRows = [a0, a1, a2, a3] as const;
      const tile: Tile4x2 = { aRows, bRows: [b0, b1], k, rowBytes, x, y: [y0, y1], acc, lanes: precision };
      // float32 accumulators hold four partial sums: fold them into two float64 ones, [l0 + l2, l1 + l3].
      const fold = (v: Local): Code =>
        precision === 'f32'
          ? [
              local.get(v),
              f64x2.promote_low_f32x4,
              local.get(v),
              local.get(v),
              i8x16.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]),
              f64x2.promote_low_f32x4,
              f64x2.add,
              local.set(v),
            ]
          : [];
      /** base + index·scale */
      const at = (base: Local, index: Local, scale: number): Code => [
        local.get(base),
        local.get(index),
        i32.const(scale),
        i32.mul,
        i32.add,
      ];
      const lo = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
      const hi = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
      // Writes the pair (ia + i, ib + j) at hits[count], and counts it when its mask lane is set.
      const record = (i: number, j: number): Code => [
        local.get(hits),
        local.get(count),
        i32.const(4),
        i32.mul,
        i32.add,
        local.get(ia),
        i32.const(i),
        i32.add,
        i32.const(16),
        i32.shl,
        local.get(ib),
        i32.const(j),
        i32.add,
        i32.or,
        i32.store(),
        local.get(mask),
        i64x2.extract_lane(j),
        i32.wrap_i64,
        i32.const(1),
        i32.and,
        local.get(count),
        i32.add,
        local.set(count),
      ];
      // Row i against both columns at once: x = [Σ a_i·b0, Σ a_i·b1] from the accumulators' lane
      // halves; approx = (sa_i + sb) * shrink − 2x; a hit when approx ≤ the row's or the column's limit.
      const checkRow = (i: number): Code => [
        fold(acc[2 * i]!),
        fold(acc[2 * i + 1]!),
        local.get(acc[2 * i]!),
        local.get(acc[2 * i + 1]!),
        i8x16.shuffle(lo),
        local.get(acc[2 * i]!),
        local.get(acc[2 * i + 1]!),
        i8x16.shuffle(hi),
        f64x2.add,
        local.set(x),
        local.get(sa[i]!),
        f64x2.splat,
        local.get(sbv),
        f64x2.add,
        local.get(shrinkv),
        f64x2.mul,
        local.get(x),
        local.get(x),
        f64x2.add,
        f64x2.sub,
        local.tee(approx),
        local.get(la[i]!),
        f64x2.splat,
        f64x2.le,
        local.get(approx),
        local.get(lbv),
        f64x2.le,
        v128.or,
        local.tee(mask),
        v128.any_true,
        if_(record(i, 0), record(i, 1)),
      ];
      return [
        [i32.const(0), local.set(count), i32.const(0), local.set(ia)],
        [local.get(shrink), f64x2.splat, local.set(shrinkv)],
        whileBelow(
          ia,
          m,
          aRows.map((r, i) => [at(aList, ia, 4), i32.load({ offset: i * 4 }), local.set(r)]),
          sa.map((v, i) => [at(aSq, ia, 8), f64.load({ offset: i * 8 }), local.set(v)]),
          la.map((v, i) => [at(aLim, ia, 8), f64.load({ offset: i * 8 }), local.set(v)]),
          [i32.const(0), local.set(ib)],
          whileBelow(
            ib,
            n,
            [
              at(bList, ib, 4),
              i32.load(),
              local.set(b0),
              at(bList, ib, 4),
              i32.load({ offset: 4 }),
              local.set(b1),
            ],
            [at(bSq, ib, 8), v128.load(), local.set(sbv)],
            [at(bLim, ib, 8), v128.load(), local.set(lbv)],
            tile4x2Products(tile),
            [0, 1, 2, 3].map(checkRow),
            [local.get(ib), i32.const(2), i32.add, local.set(ib)],
          ),
          [local.get(ia), i32.const(4), i32.add, local.set(ia)],
        ),
        local.get(count),
      ];
    },
  );
}

export const screenIndexed4x2 = screenKernel('screenIndexed4x2', 'f64');
export const screenIndexed4x2f32 = screenKernel('screenIndexed4x2f32', 'f32');

export const screenModule = wasmModule({
  name: '@anomalia/baselines screen',
  memory: KERNEL_MEMORY,
  functions: [screenIndexed4x2, screenIndexed4x2f32],
});
