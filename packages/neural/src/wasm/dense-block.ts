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
} from '@anomalia/wasm-kit';
import { add2, bytesOf, hsum, load, loadAt, store, TFJS_HEAP, zero } from './heap';

/**
 * The dense block after a matrix product, (LayerNorm) → (ReLU) → (dropout mask), forward and
 * backward, one specialised function per variant; `cols` a multiple of 4, heap byte offsets, 0
 * for an absent operand.
 */

/** Flags of a block-forward variant (each variant is its own specialised function). */
export interface BlockForwardVariant {
  norm: boolean;
  relu: boolean;
  mask: boolean;
  /** Write the gate, x̂ and rstd the backward pass needs (training); false: inference. */
  keep: boolean;
}

type Bit = 0 | 1;
export type ForwardName = `fwd${Bit}${Bit}${Bit}${Bit}`;
export type BackwardName = `bwd${Bit}${Bit}`;

const bit = (b: boolean): Bit => (b ? 1 : 0);
export const forwardName = (v: BlockForwardVariant): ForwardName =>
  `fwd${bit(v.norm)}${bit(v.relu)}${bit(v.mask)}${bit(v.keep)}`;
export const backwardName = (norm: boolean, gate: boolean): BackwardName => `bwd${bit(norm)}${bit(gate)}`;

/** Pushes the mean of a v128 local's four lanes over `cols` columns. */
const meanOver = (acc: Local, cols: Local): Code => [hsum(acc), local.get(cols), f32.convert_i32_u, f32.div];

/**
 * Block forward. Per row: the LayerNorm moments in two passes (mean, then the centred sum of
 * squares: no cancellation in float32), then per 4 columns normalise + affine, the gate (ReLU ×
 * mask, as the JS kernel: 0 where y ≤ 0) and the output.
 */
function blockForward(v: BlockForwardVariant) {
  return func(
    forwardName(v),
    [
      'z:i32',
      'gamma:i32',
      'beta:i32',
      'mask:i32',
      'out:i32',
      'gate:i32',
      'xhat:i32',
      'rstd:i32',
      'rows:i32',
      'cols:i32',
      'eps:f32',
    ],
    [],
    (fn, { z, gamma, beta, mask, out, gate, xhat, rstd, rows, cols, eps }) => {
      // j: byte offset in the row; rowBytes = 4·cols; base = i·rowBytes; k = base + j.
      const [i, j, rowBytes, base, k] = fn.locals(5, 'i32');
      const [mu, r] = fn.locals(2, 'f32');
      const [vMu, vR, acc, y, gt, one] = fn.locals(6, 'v128');
      const hasGate = v.relu || v.mask;
      const moments = v.norm
        ? [
            [zero, local.set(acc)],
            forLoop(j, i32.const(0), rowBytes, 16, [
              [local.get(acc), local.get(z), add2(base, j), i32.add, load, f32x4.add, local.set(acc)],
            ]),
            [meanOver(acc, cols), local.set(mu), local.get(mu), f32x4.splat, local.set(vMu)],
            [zero, local.set(acc)],
            forLoop(j, i32.const(0), rowBytes, 16, [
              [local.get(z), add2(base, j), i32.add, load, local.get(vMu), f32x4.sub, local.set(y)],
              [local.get(acc), local.get(y), local.get(y), f32x4.mul, f32x4.add, local.set(acc)],
            ]),
            // r = 1 / √(variance + eps)
            [f32.const(1), meanOver(acc, cols), local.get(eps), f32.add, f32.sqrt, f32.div, local.set(r)],
            v.keep ? [local.get(rstd), bytesOf(i), i32.add, local.get(r), f32.store()] : [],
            [local.get(r), f32x4.splat, local.set(vR)],
          ]
        : [];
      const column: Code[] = [[add2(base, j), local.set(k), loadAt(z, k), local.set(y)]];
      if (v.norm) {
        column.push([local.get(y), local.get(vMu), f32x4.sub, local.get(vR), f32x4.mul, local.set(y)]);
        if (v.keep) column.push([add2(xhat, k), local.get(y), store]);
        column.push([local.get(y), loadAt(gamma, j), f32x4.mul, loadAt(beta, j), f32x4.add, local.set(y)]);
      }
      if (v.keep) {
        if (hasGate) {
          if (v.relu) {
            // gate = (mask or 1) & ~(y ≤ 0)
            column.push([
              v.mask ? loadAt(mask, k) : local.get(one),
              local.get(y),
              zero,
              f32x4.le,
              v128.andnot,
            ]);
            column.push(local.set(gt));
          } else {
            column.push([loadAt(mask, k), local.set(gt)]);
          }
          column.push([
            add2(gate, k),
            local.get(gt),
            store,
            local.get(y),
            local.get(gt),
            f32x4.mul,
            local.set(y),
          ]);
        }
      } else {
        if (v.relu) column.push([local.get(y), local.get(y), zero, f32x4.lt, v128.andnot, local.set(y)]);
        if (v.mask) column.push([local.get(y), loadAt(mask, k), f32x4.mul, local.set(y)]);
      }
      column.push([add2(out, k), local.get(y), store]);
      return [
        [bytesOf(cols), local.set(rowBytes)],
        [f32.const(1), f32x4.splat, local.set(one)],
        forLoop(i, i32.const(0), rows, 1, [
          [local.get(i), local.get(rowBytes), i32.mul, local.set(base)],
          moments,
          forLoop(j, i32.const(0), rowBytes, 16, column),
        ]),
      ];
    },
  );
}

/**
 * Block backward, per (norm, gate) variant: dz from dA (× gate; through the LayerNorm:
 * rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ) and the column sums db, dγ, dβ.
 */
function blockBackward(norm: boolean, gate: boolean) {
  return func(
    backwardName(norm, gate),
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
      const [acc1, acc2, dy, x, vM1, vM2, vR, d] = fn.locals(8, 'v128');
      /** column sum: sum[j] += value */
      const accumulate = (sum: Local, value: Code): Code => [
        add2(sum, j),
        loadAt(sum, j),
        value,
        f32x4.add,
        store,
      ];
      const dyOf = [loadAt(p.dA, k), gate ? [loadAt(p.gate, k), f32x4.mul] : []];
      const zeroSums = [
        [add2(p.db, j), zero, store],
        norm ? [add2(p.dGamma, j), zero, store, add2(p.dBeta, j), zero, store] : [],
      ];
      const meanOf = (a: Local): Code => [meanOver(a, p.cols), f32x4.splat];
      const row = norm
        ? [
            [zero, local.set(acc1), zero, local.set(acc2)],
            forLoop(j, i32.const(0), rowBytes, 16, [
              [add2(base, j), local.set(k), dyOf, local.set(dy), loadAt(p.xhat, k), local.set(x)],
              accumulate(p.dBeta, local.get(dy)),
              accumulate(p.dGamma, [local.get(dy), local.get(x), f32x4.mul]),
              [local.get(dy), loadAt(p.gamma, j), f32x4.mul, local.set(dy)],
              [add2(p.dz, k), local.get(dy), store],
              [local.get(acc1), local.get(dy), f32x4.add, local.set(acc1)],
              [local.get(acc2), local.get(dy), local.get(x), f32x4.mul, f32x4.add, local.set(acc2)],
            ]),
            [meanOf(acc1), local.set(vM1), meanOf(acc2), local.set(vM2)],
            [local.get(p.rstd), bytesOf(i), i32.add, f32.load(), f32x4.splat, local.set(vR)],
            forLoop(j, i32.const(0), rowBytes, 16, [
              [add2(base, j), local.set(k)],
              [local.get(vR), loadAt(p.dz, k), local.get(vM1), f32x4.sub],
              [loadAt(p.xhat, k), local.get(vM2), f32x4.mul, f32x4.sub, f32x4.mul, local.set(d)],
              [add2(p.dz, k), local.get(d), store],
              accumulate(p.db, local.get(d)),
            ]),
          ]
        : [
            forLoop(j, i32.const(0), rowBytes, 16, [
              [add2(base, j), local.set(k), dyOf, local.set(d)],
              [add2(p.dz, k), local.get(d), store],
              accumulate(p.db, local.get(d)),
            ]),
          ];
      return [
        [bytesOf(p.cols), local.set(rowBytes)],
        forLoop(j, i32.const(0), rowBytes, 16, zeroSums),
        forLoop(i, i32.const(0), p.rows, 1, [
          local.get(i),
          local.get(rowBytes),
          i32.mul,
          local.set(base),
          row,
        ]),
      ];
    },
  );
}

const BITS = [false, true] as const;

/** All 16 forward variants, in the order of their bits (norm, relu, mask, keep from the lowest). */
export const blockForwardVariants: BlockForwardVariant[] = Array.from({ length: 16 }, (_, bits) => ({
  norm: (bits & 1) !== 0,
  relu: (bits & 2) !== 0,
  mask: (bits & 4) !== 0,
  keep: (bits & 8) !== 0,
}));

export const blockForwardFunctions = blockForwardVariants.map(blockForward);
export const blockBackwardFunctions = BITS.flatMap((norm) => BITS.map((gate) => blockBackward(norm, gate)));

/** Every forward and backward variant of the dense block. */
export const denseBlockModule = wasmModule({
  name: '@anomalia/neural dense-block',
  memory: TFJS_HEAP,
  functions: [...blockForwardFunctions, ...blockBackwardFunctions],
});
