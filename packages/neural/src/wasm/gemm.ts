import {
  type Code,
  f32,
  f32x4,
  forLoop,
  func,
  i32,
  if_,
  type Local,
  local,
  v128,
  wasmModule,
} from '@anomalia/wasm-kit';
import { add2, bytesOf, load, store, TFJS_HEAP, zero } from './heap';

/**
 * gemm(a, b, bias, out, M, K, N): out[M, N] = a[M, K] · b[K, N] (+ bias[N]), all row-major, read
 * in place: no packing of b (XNNPACK packs the weights on every call, and in training every
 * operand is new). Register tiles of 4 rows × 8 columns (8 accumulators), with 4-column and
 * 1-row edge tiles; the last N mod 4 columns as a 4-wide tile storing only those lanes (the
 * `Tail` variants: the caller checks that reading 12 bytes past b and bias stays inside the
 * memory) or, near the memory's end, a scalar loop. Products are summed in k order.
 */
function gemmKernel<const N extends string>(name: N, withBias: boolean, vectorTail: boolean) {
  return func(
    name,
    ['a:i32', 'b:i32', 'bias:i32', 'out:i32', 'm:i32', 'k:i32', 'n:i32'],
    [],
    (fn, { a, b, bias, out, m, k, n }) => {
      // kb: byte offset along a's rows; k4 = 4·k (a's row), nb = 4·n (b's and out's rows);
      // n4b / n8b: bytes of the columns in whole 4- / 8-wide tiles; m4: rows in whole 4-row tiles.
      const [i, j, kb, k4, n4b, nb, m4, n8b, pb, ar, or] = fn.locals(11, 'i32');
      const rowPointers = fn.locals(3, 'i32');
      const sum = fn.local('f32');
      const acc = fn.locals(8, 'v128');
      const [b0, b1, av] = fn.locals(3, 'v128');
      const rem = fn.local('i32');
      /** Row pointer of the tile's row r (ar for row 0). */
      const row = (r: number): Local => (r ? rowPointers[r - 1]! : ar);
      const accOf = (r: number, v: number): Local => acc[r * 2 + v]!;
      /** One register tile of `mr` rows × `nv` vectors at row i, column byte offset j. */
      const tile = (mr: number, nv: number, partial = 0): Code => {
        const code: Code[] = [];
        for (let r = 0; r < mr; r++)
          for (let v = 0; v < nv; v++)
            code.push(
              withBias ? [add2(bias, j), v ? [i32.const(16), i32.add] : [], load] : zero,
              local.set(accOf(r, v)),
            );
        // ar = a + i·k4 (row i), pb = b + j
        code.push([local.get(a), local.get(i), local.get(k4), i32.mul, i32.add, local.set(ar)]);
        code.push([add2(b, j), local.set(pb)]);
        for (let r = 1; r < mr; r++)
          code.push([local.get(row(r - 1)), local.get(k4), i32.add, local.set(row(r))]);
        const body: Code[] = [];
        for (let v = 0; v < nv; v++)
          body.push([local.get(pb), v ? [i32.const(16), i32.add] : [], load, local.set(v ? b1 : b0)]);
        // a's value with v128.load32_splat: one load instead of a scalar load and a shuffle (the
        // loop is bound by instruction count more than by arithmetic: ~18 % faster products).
        for (let r = 0; r < mr; r++) {
          body.push([add2(row(r), kb), v128.load32_splat(), local.set(av)]);
          for (let v = 0; v < nv; v++)
            body.push([
              local.get(accOf(r, v)),
              local.get(av),
              local.get(v ? b1 : b0),
              f32x4.mul,
              f32x4.add,
              local.set(accOf(r, v)),
            ]);
        }
        body.push([local.get(pb), local.get(nb), i32.add, local.set(pb)]);
        code.push(forLoop(kb, i32.const(0), k4, 4, body));
        // or = out + i·nb + j
        code.push([local.get(out), local.get(i), local.get(nb), i32.mul, i32.add, local.get(j), i32.add]);
        code.push(local.set(or));
        for (let r = 0; r < mr; r++)
          for (let v = 0; v < nv; v++) {
            const at = [
              local.get(or),
              r ? [local.get(nb), i32.const(r), i32.mul, i32.add] : [],
              v ? [i32.const(16), i32.add] : [],
            ];
            // A partial tile (the last N mod 4 columns) stores only its first `partial` lanes.
            if (partial === 0) code.push([at, local.get(accOf(r, v)), store]);
            if (partial & 2) code.push([at, local.get(accOf(r, v)), v128.store64_lane(0, { align: 2 })]);
            if (partial & 1) {
              const lane = partial & 2 ? 2 : 0;
              code.push([
                at,
                local.get(accOf(r, v)),
                v128.store32_lane(lane, { align: 2, offset: lane * 4 }),
              ]);
            }
          }
        return code;
      };
      /** Tiles of `mr` rows across all columns: 8-wide, then one 4-wide if N mod 8 ≥ 4. */
      const rowBlock = (mr: number): Code => [
        forLoop(j, i32.const(0), n8b, 32, tile(mr, 2)),
        [local.get(n8b), local.get(n4b), i32.lt_u],
        if_(local.get(n8b), local.set(j), tile(mr, 1)),
        // The last N mod 4 columns as a 4-wide tile when the caller allows reading 12 bytes past b's
        // and bias's ends (lanes past N are computed from whatever lies there, and not stored).
        vectorTail
          ? [
              [local.get(n4b), local.set(j)],
              [local.get(n), i32.const(3), i32.and, local.set(rem)],
              [1, 2, 3].map((r) => [local.get(rem), i32.const(r), i32.eq, if_(tile(mr, 1, r))]),
            ]
          : [],
      ];
      // Scalar columns N4..N: out[i, j] = bias[j] + Σ_k a[i, k]·b[k, j].
      const scalarColumn = [
        withBias ? [add2(bias, j), f32.load()] : f32.const(0),
        local.set(sum),
        [add2(b, j), local.set(pb)],
        [local.get(a), local.get(i), local.get(k4), i32.mul, i32.add, local.set(ar)],
        forLoop(kb, i32.const(0), k4, 4, [
          [
            local.get(sum),
            add2(ar, kb),
            f32.load(),
            local.get(pb),
            f32.load(),
            f32.mul,
            f32.add,
            local.set(sum),
          ],
          [local.get(pb), local.get(nb), i32.add, local.set(pb)],
        ]),
        [local.get(out), local.get(i), local.get(nb), i32.mul, i32.add, local.get(j), i32.add],
        [local.get(sum), f32.store()],
      ];
      return [
        [bytesOf(k), local.set(k4)],
        [bytesOf(n), local.set(nb)],
        [local.get(n), i32.const(-4), i32.and, i32.const(2), i32.shl, local.set(n4b)],
        [local.get(n), i32.const(-8), i32.and, i32.const(2), i32.shl, local.set(n8b)],
        [local.get(m), i32.const(-4), i32.and, local.set(m4)],
        forLoop(i, i32.const(0), m4, 4, rowBlock(4)),
        forLoop(i, local.get(m4), m, 1, rowBlock(1)),
        vectorTail ? [] : forLoop(i, i32.const(0), m, 1, forLoop(j, local.get(n4b), nb, 4, scalarColumn)),
      ];
    },
  );
}

export const gemm = gemmKernel('gemm', false, false);
export const gemmBias = gemmKernel('gemmBias', true, false);
export const gemmTail = gemmKernel('gemmTail', false, true);
export const gemmBiasTail = gemmKernel('gemmBiasTail', true, true);

/** The matrix products: plain, with bias, and both with the vector tail. */
export const gemmModule = wasmModule({
  name: '@anomalia/neural gemm',
  memory: TFJS_HEAP,
  functions: [gemm, gemmBias, gemmTail, gemmBiasTail],
});
