import {
  type Code,
  f32,
  f32x4,
  forLoop,
  func,
  i32,
  type Local,
  local,
  v128,
  wasmModule,
  whileBelow,
} from '@anomalia/wasm-kit';
import { add2, bytesOf, loadAt, store, TFJS_HEAP, zero } from './heap';

/**
 * Batch normalisation in training mode (PyTorch's BatchNorm1d) after a matrix product, then
 * (ReLU) → (dropout mask), forward and backward, as the JS kernels in ../kernels/batch-norm.ts:
 * per column, the batch mean and biased variance (two passes: no cancellation), the running
 * statistics updated in the same call. `cols` a multiple of 4; heap byte offsets; 0 for an
 * absent operand. Statistics are accumulated in float32, row by row.
 */

type Bit = 0 | 1;
export type BatchNormForwardName = `bnfwd${Bit}${Bit}`;
export type BatchNormBackwardName = `bnbwd${Bit}`;
const bit = (b: boolean): Bit => (b ? 1 : 0);
export const batchNormForwardName = (relu: boolean, mask: boolean): BatchNormForwardName =>
  `bnfwd${bit(relu)}${bit(mask)}`;
export const batchNormBackwardName = (gate: boolean): BatchNormBackwardName => `bnbwd${bit(gate)}`;

/** sum[j] += value, a column accumulator in memory (j: byte offset in the row). */
const accumulate = (sum: Local, j: Local, value: Code): Code => [
  add2(sum, j),
  loadAt(sum, j),
  value,
  f32x4.add,
  store,
];

/**
 * Forward. The column statistics are accumulated in registers, 16 columns (one cache line of a
 * row) at a time down the rows, then 4 at a time for the rest; runOut's two rows hold the mean
 * and the variance until the running statistics are written at the end: runOut =
 * keepMean·running + momentum·mean (row 0) and keepVar·running + varScale·variance (row 1) — the
 * caller passes PyTorch's unbiased factor in varScale, and keepVar = 1, varScale = 0 for a batch
 * of one row.
 */
function batchNormForward(relu: boolean, mask: boolean) {
  return func(
    batchNormForwardName(relu, mask),
    [
      'z:i32',
      'gamma:i32',
      'beta:i32',
      'running:i32',
      'mask:i32',
      'out:i32',
      'gate:i32',
      'xhat:i32',
      'rstd:i32',
      'runOut:i32',
      'rows:i32',
      'cols:i32',
      'eps:f32',
      'keepMean:f32',
      'momentum:f32',
      'keepVar:f32',
      'varScale:f32',
    ],
    [],
    (fn, p) => {
      const [i, j, rowBytes, base, k, runOut2, running2, blockEnd, end] = fn.locals(9, 'i32');
      const [y, d, gt, one, vInv, vEps] = fn.locals(6, 'v128');
      const acc = fn.locals(4, 'v128');
      const mean = fn.locals(4, 'v128');
      const rowsLoop = (...body: Code[]): Code =>
        forLoop(i, i32.const(0), p.rows, 1, [
          [local.get(i), local.get(rowBytes), i32.mul, local.set(base)],
          forLoop(j, i32.const(0), rowBytes, 16, [add2(base, j), local.set(k)], ...body),
        ]);
      const colsLoop = (...body: Code[]): Code => forLoop(j, i32.const(0), rowBytes, 16, ...body);
      /**
       * For column groups of `width` vectors in [from, to) (bytes in a row): acc[v] = Σ over rows of
       * `term(v)` (k is the address z + row + j, v·16 its vector offset, as a local plus an
       * immediate), then row 0 of runOut (the mean) or, with `second`, row 1 (the variance) =
       * acc × 1/N. With `second`, mean[v] holds the group's mean for `term`.
       */
      const columnPass = (
        width: number,
        from: Code,
        to: Local,
        term: (v: number) => Code,
        second = false,
      ): Code => {
        const vs = Array.from({ length: width }, (_, v) => v);
        const target = second ? runOut2 : p.runOut;
        return forLoop(j, from, to, 16 * width, [
          vs.map((v) => [zero, local.set(acc[v]!)]),
          second
            ? vs.map((v) => [local.get(p.runOut), local.get(j), i32.add, at(v), local.set(mean[v]!)])
            : [],
          // i: the byte offset of a row, in steps of rowBytes.
          [i32.const(0), local.set(i)],
          whileBelow(
            i,
            end,
            [
              [local.get(p.z), local.get(i), i32.add, local.get(j), i32.add, local.set(k)],
              vs.map((v) => [term(v), local.set(acc[v]!)]),
            ],
            [local.get(i), local.get(rowBytes), i32.add, local.set(i)],
          ),
          vs.map((v) => [
            [local.get(target), local.get(j), i32.add],
            [local.get(acc[v]!), local.get(vInv), f32x4.mul],
            v128.store({ offset: 16 * v, align: 2 }),
          ]),
        ]);
      };
      /** Loads the vector at the address on the stack + 16·v. */
      const at = (v: number): Code => v128.load({ offset: 16 * v, align: 2 });
      const vecAt = (addr: Local, v: number): Code => [local.get(addr), at(v)];
      const hasGate = relu || mask;
      const gateCode: Code[] = [];
      if (hasGate) {
        if (relu) {
          // gate = (mask or 1) & ~(y ≤ 0)
          gateCode.push([
            mask ? loadAt(p.mask, k) : local.get(one),
            local.get(y),
            zero,
            f32x4.le,
            v128.andnot,
            local.set(gt),
          ]);
        } else {
          gateCode.push([loadAt(p.mask, k), local.set(gt)]);
        }
        gateCode.push([
          add2(p.gate, k),
          local.get(gt),
          store,
          local.get(y),
          local.get(gt),
          f32x4.mul,
          local.set(y),
        ]);
      }
      return [
        [bytesOf(p.cols), local.set(rowBytes)],
        [add2(p.runOut, rowBytes), local.set(runOut2), add2(p.running, rowBytes), local.set(running2)],
        [f32.const(1), f32x4.splat, local.set(one)],
        [f32.const(1), local.get(p.rows), f32.convert_i32_u, f32.div, f32x4.splat, local.set(vInv)],
        [local.get(p.eps), f32x4.splat, local.set(vEps)],
        [local.get(rowBytes), i32.const(-64), i32.and, local.set(blockEnd)],
        [local.get(p.rows), local.get(rowBytes), i32.mul, local.set(end)],
        // The mean: column sums × 1/N (blocks of 4 vectors, then single vectors).
        columnPass(4, i32.const(0), blockEnd, (v) => [vecAt(k, v), local.get(acc[v]!), f32x4.add]),
        columnPass(1, local.get(blockEnd), rowBytes, (v) => [vecAt(k, v), local.get(acc[v]!), f32x4.add]),
        // The variance: centred sums of squares × 1/N; rstd = 1 / √(variance + eps).
        columnPass(
          4,
          i32.const(0),
          blockEnd,
          (v) => [
            vecAt(k, v),
            local.get(mean[v]!),
            f32x4.sub,
            local.set(d),
            local.get(d),
            local.get(d),
            f32x4.mul,
            local.get(acc[v]!),
            f32x4.add,
          ],
          true,
        ),
        columnPass(
          1,
          local.get(blockEnd),
          rowBytes,
          (v) => [
            vecAt(k, v),
            local.get(mean[v]!),
            f32x4.sub,
            local.set(d),
            local.get(d),
            local.get(d),
            f32x4.mul,
            local.get(acc[v]!),
            f32x4.add,
          ],
          true,
        ),
        colsLoop([
          add2(p.rstd, j),
          local.get(one),
          loadAt(runOut2, j),
          local.get(vEps),
          f32x4.add,
          f32x4.sqrt,
          f32x4.div,
          store,
        ]),
        // x̂ = (z − mean)·rstd, y = γ·x̂ + β, gate, output.
        rowsLoop(
          [loadAt(p.z, k), loadAt(p.runOut, j), f32x4.sub, loadAt(p.rstd, j), f32x4.mul, local.set(y)],
          [add2(p.xhat, k), local.get(y), store],
          [local.get(y), loadAt(p.gamma, j), f32x4.mul, loadAt(p.beta, j), f32x4.add, local.set(y)],
          gateCode,
          [add2(p.out, k), local.get(y), store],
        ),
        // Running statistics.
        colsLoop(
          [add2(p.runOut, j)],
          [loadAt(p.running, j), local.get(p.keepMean), f32x4.splat, f32x4.mul],
          [loadAt(p.runOut, j), local.get(p.momentum), f32x4.splat, f32x4.mul, f32x4.add, store],
          [add2(runOut2, j)],
          [loadAt(running2, j), local.get(p.keepVar), f32x4.splat, f32x4.mul],
          [loadAt(runOut2, j), local.get(p.varScale), f32x4.splat, f32x4.mul, f32x4.add, store],
        ),
      ];
    },
  );
}

/**
 * Backward, with dy = dA·gate: dβ = Σᵢ dy, dγ = Σᵢ dy·x̂ (first pass, dy kept in dz), then
 * dz = γ·rstd·(dy − dβ/N − x̂·dγ/N) and db = Σᵢ dz.
 */
function batchNormBackward(gate: boolean) {
  return func(
    batchNormBackwardName(gate),
    [
      'dA:i32',
      'gate:i32',
      'xhat:i32',
      'rstd:i32',
      'gamma:i32',
      'dz:i32',
      'db:i32',
      'dGamma:i32',
      'dBeta:i32',
      'rows:i32',
      'cols:i32',
    ],
    [],
    (fn, p) => {
      const [i, j, rowBytes, base, k] = fn.locals(5, 'i32');
      const [dy, x, vInv] = fn.locals(3, 'v128');
      const rowsLoop = (...body: Code[]): Code =>
        forLoop(i, i32.const(0), p.rows, 1, [
          [local.get(i), local.get(rowBytes), i32.mul, local.set(base)],
          forLoop(j, i32.const(0), rowBytes, 16, [add2(base, j), local.set(k)], ...body),
        ]);
      return [
        [bytesOf(p.cols), local.set(rowBytes)],
        [f32.const(1), local.get(p.rows), f32.convert_i32_u, f32.div, f32x4.splat, local.set(vInv)],
        forLoop(j, i32.const(0), rowBytes, 16, [
          [add2(p.dGamma, j), zero, store, add2(p.dBeta, j), zero, store, add2(p.db, j), zero, store],
        ]),
        rowsLoop(
          [loadAt(p.dA, k), gate ? [loadAt(p.gate, k), f32x4.mul] : [], local.set(dy)],
          [add2(p.dz, k), local.get(dy), store],
          accumulate(p.dBeta, j, local.get(dy)),
          accumulate(p.dGamma, j, [local.get(dy), loadAt(p.xhat, k), f32x4.mul]),
        ),
        rowsLoop(
          [loadAt(p.xhat, k), local.set(x)],
          // γ·rstd·(dy − dβ/N − x̂·dγ/N)
          [loadAt(p.dz, k), loadAt(p.dBeta, j), local.get(vInv), f32x4.mul, f32x4.sub],
          [local.get(x), loadAt(p.dGamma, j), local.get(vInv), f32x4.mul, f32x4.mul, f32x4.sub],
          [loadAt(p.gamma, j), f32x4.mul, loadAt(p.rstd, j), f32x4.mul, local.set(dy)],
          [add2(p.dz, k), local.get(dy), store],
          accumulate(p.db, j, local.get(dy)),
        ),
      ];
    },
  );
}

const BITS = [false, true] as const;
export const batchNormForwardFunctions = BITS.flatMap((relu) =>
  BITS.map((mask) => batchNormForward(relu, mask)),
);
export const batchNormBackwardFunctions = BITS.map(batchNormBackward);

export const batchNormModule = wasmModule({
  name: '@anomalia/neural batch-norm',
  memory: TFJS_HEAP,
  functions: [...batchNormForwardFunctions, ...batchNormBackwardFunctions],
});
