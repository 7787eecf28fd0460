import { type Code, f64, f64x2, func, i32, local, v128, wasmModule, whileBelow } from '@anomalia/wasm-kit';
import { KERNEL_MEMORY, storeTile4x2, type Tile4x2, tile4x2Products, zeroF64x2 } from './tile4x2';

/*
 * Dot products of float64 rows (f64x2). Rows live in the module's memory, padded with zeros to
 * an even number of columns; products are summed in two lanes (even and odd columns), then added.
 */

/** out[a·n + b] = A[a] · B[b] for a < m (a multiple of 4) and b < n (a multiple of 2). */
export const dots4x2 = func(
  'dots4x2',
  ['A:i32', 'm:i32', 'B:i32', 'n:i32', 'rowBytes:i32', 'out:i32'],
  [],
  (fn, { A, m, B, n, rowBytes, out }) => {
    const [a, aEnd, b, bEnd, k, a1, a2, a3, b1, o, nb] = fn.locals(11, 'i32');
    const acc = fn.locals(8, 'v128');
    const [y0, y1, x] = fn.locals(3, 'v128');
    const tile: Tile4x2 = { aRows: [a, a1, a2, a3], bRows: [b, b1], k, rowBytes, x, y: [y0, y1], acc };
    return [
      [local.get(A), local.get(m), local.get(rowBytes), i32.mul, i32.add, local.set(aEnd)],
      [local.get(B), local.get(n), local.get(rowBytes), i32.mul, i32.add, local.set(bEnd)],
      [local.get(n), i32.const(8), i32.mul, local.set(nb)],
      [local.get(out), local.set(o), local.get(A), local.set(a)],
      whileBelow(
        a,
        aEnd,
        [
          local.get(a),
          local.get(rowBytes),
          i32.add,
          local.tee(a1),
          local.get(rowBytes),
          i32.add,
          local.tee(a2),
        ],
        [local.get(rowBytes), i32.add, local.set(a3)],
        [local.get(B), local.set(b)],
        whileBelow(
          b,
          bEnd,
          [local.get(b), local.get(rowBytes), i32.add, local.set(b1)],
          tile4x2Products(tile),
          storeTile4x2(acc, o, nb),
          [local.get(b1), local.get(rowBytes), i32.add, local.set(b)],
          [local.get(o), i32.const(16), i32.add, local.set(o)],
        ),
        // Next tile of four rows: skip the three output rows just written.
        [local.get(o), local.get(nb), i32.const(3), i32.mul, i32.add, local.set(o)],
        [local.get(a3), local.get(rowBytes), i32.add, local.set(a)],
      ),
    ];
  },
);

/** out[b] = x · B[b] for b < n (a multiple of 4). */
export const dots1x4 = func(
  'dots1x4',
  ['X:i32', 'B:i32', 'n:i32', 'rowBytes:i32', 'out:i32'],
  [],
  (fn, { X, B, n, rowBytes, out }) => {
    const [b, bEnd, k, b1, b2, b3, o] = fn.locals(7, 'i32');
    const acc = fn.locals(4, 'v128');
    const xv = fn.local('v128');
    const rows = [b, b1, b2, b3];
    return [
      [local.get(B), local.get(n), local.get(rowBytes), i32.mul, i32.add, local.set(bEnd)],
      [local.get(out), local.set(o), local.get(B), local.set(b)],
      whileBelow(
        b,
        bEnd,
        [
          local.get(b),
          local.get(rowBytes),
          i32.add,
          local.tee(b1),
          local.get(rowBytes),
          i32.add,
          local.tee(b2),
        ],
        [local.get(rowBytes), i32.add, local.set(b3)],
        acc.map((v) => [zeroF64x2, local.set(v)]),
        [i32.const(0), local.set(k)],
        whileBelow(
          k,
          rowBytes,
          [local.get(X), local.get(k), i32.add, v128.load(), local.set(xv)],
          acc.map(
            (v, r): Code => [
              local.get(v),
              local.get(xv),
              local.get(rows[r]!),
              local.get(k),
              i32.add,
              v128.load(),
              f64x2.mul,
              f64x2.add,
              local.set(v),
            ],
          ),
          [local.get(k), i32.const(16), i32.add, local.set(k)],
        ),
        acc.map(
          (v, r): Code => [
            local.get(o),
            local.get(v),
            f64x2.extract_lane(0),
            local.get(v),
            f64x2.extract_lane(1),
            f64.add,
            f64.store({ offset: r * 8 }),
          ],
        ),
        [local.get(b3), local.get(rowBytes), i32.add, local.set(b)],
        [local.get(o), i32.const(32), i32.add, local.set(o)],
      ),
    ];
  },
);

/**
 * out[a·n + b] = row(aList[a]) · row(bList[b]), where the lists hold byte addresses of rows:
 * blocks of scattered rows without copying them. m a multiple of 4, n a multiple of 2.
 */
export const dotsIndexed4x2 = func(
  'dotsIndexed4x2',
  ['aList:i32', 'm:i32', 'bList:i32', 'n:i32', 'rowBytes:i32', 'out:i32'],
  [],
  (fn, { aList, m, bList, n, rowBytes, out }) => {
    const [ai, aEnd, bi, bEnd, k, a0, a1, a2, a3, b0, b1, o, nb] = fn.locals(13, 'i32');
    const acc = fn.locals(8, 'v128');
    const [y0, y1, x] = fn.locals(3, 'v128');
    const tile: Tile4x2 = { aRows: [a0, a1, a2, a3], bRows: [b0, b1], k, rowBytes, x, y: [y0, y1], acc };
    return [
      [local.get(aList), local.get(m), i32.const(4), i32.mul, i32.add, local.set(aEnd)],
      [local.get(bList), local.get(n), i32.const(4), i32.mul, i32.add, local.set(bEnd)],
      [local.get(n), i32.const(8), i32.mul, local.set(nb)],
      [local.get(out), local.set(o), local.get(aList), local.set(ai)],
      whileBelow(
        ai,
        aEnd,
        tile.aRows.map((row, r) => [local.get(ai), i32.load({ offset: 4 * r }), local.set(row)]),
        [local.get(bList), local.set(bi)],
        whileBelow(
          bi,
          bEnd,
          tile.bRows.map((row, r) => [local.get(bi), i32.load({ offset: 4 * r }), local.set(row)]),
          tile4x2Products(tile),
          storeTile4x2(acc, o, nb),
          [local.get(bi), i32.const(8), i32.add, local.set(bi)],
          [local.get(o), i32.const(16), i32.add, local.set(o)],
        ),
        [local.get(o), local.get(nb), i32.const(3), i32.mul, i32.add, local.set(o)],
        [local.get(ai), i32.const(16), i32.add, local.set(ai)],
      ),
    ];
  },
);

export const dotsModule = wasmModule({
  name: '@anomalia/baselines dots',
  memory: KERNEL_MEMORY,
  functions: [dots4x2, dots1x4, dotsIndexed4x2],
});
