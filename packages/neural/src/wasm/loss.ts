import { f32, f32x4, forLoop, func, i32, local, wasmModule } from '@anomalia/wasm-kit';
import { add2, bytesOf, hsum, loadAt, store, TFJS_HEAP, zero } from './heap';

/**
 * mse(pred, target, dPred, n, scale) → Σ (pred − target)² over i < n (a multiple of 4), writing
 * dPred = 2·(pred − target)·scale; f32 lanes, summed in lane order at the end.
 */
export const mse = func(
  'mse',
  ['pred:i32', 'target:i32', 'dPred:i32', 'n:i32', 'scale:f32'],
  ['f32'],
  (fn, { pred, target, dPred, n, scale }) => {
    const [i, nBytes] = fn.locals(2, 'i32');
    const [acc, e, twiceScale] = fn.locals(3, 'v128');
    return [
      [bytesOf(n), local.set(nBytes)],
      [local.get(scale), f32.const(2), f32.mul, f32x4.splat, local.set(twiceScale)],
      [zero, local.set(acc)],
      forLoop(i, i32.const(0), nBytes, 16, [
        [loadAt(pred, i), loadAt(target, i), f32x4.sub, local.set(e)],
        [add2(dPred, i), local.get(e), local.get(twiceScale), f32x4.mul, store],
        [local.get(acc), local.get(e), local.get(e), f32x4.mul, f32x4.add, local.set(acc)],
      ]),
      hsum(acc),
    ];
  },
);

export const lossModule = wasmModule({ name: '@anomalia/neural loss', memory: TFJS_HEAP, functions: [mse] });
