import { f32, f32x4, forLoop, func, i32, local, wasmModule, whileBelow } from '@anomalia/wasm-kit';
import { add2, bytesOf, hsum, load, store, TFJS_HEAP } from './heap';

/**
 * adam(p, m, v, g, pOut, mOut, vOut, n, scale, l2, b1, c1, b2, c2, step, invBc2, decay, eps):
 * for i < n (a multiple of 4): g' = g·scale + l2·p; m' = b1·m + c1·g'; v' = b2·v + c2·g'²;
 * p' = p·decay − step·m' / (√v'·invBc2 + eps).
 */
export const adam = func(
  'adam',
  [
    'p:i32',
    'm:i32',
    'v:i32',
    'g:i32',
    'pOut:i32',
    'mOut:i32',
    'vOut:i32',
    'n:i32',
    'scale:f32',
    'l2:f32',
    'b1:f32',
    'c1:f32',
    'b2:f32',
    'c2:f32',
    'step:f32',
    'invBc2:f32',
    'decay:f32',
    'eps:f32',
  ],
  [],
  (fn, { p, m, v, g, pOut, mOut, vOut, n, scale, l2, b1, c1, b2, c2, step, invBc2, decay, eps }) => {
    const [i, bytes] = fn.locals(2, 'i32');
    const constants = [scale, l2, b1, c1, b2, c2, step, invBc2, decay, eps];
    // The constants splatted to four lanes, in the same order.
    const splatted = fn.locals(10, 'v128');
    const [vScale, vL2, vB1, vC1, vB2, vC2, vStep, vInvBc2, vDecay, vEps] = splatted;
    const [vp, vg, vm, vv] = fn.locals(4, 'v128');
    const at = add2;
    return [
      bytesOf(n),
      local.set(bytes),
      constants.map((c, k) => [local.get(c), f32x4.splat, local.set(splatted[k]!)]),
      forLoop(i, i32.const(0), bytes, 16, [
        [at(p, i), load, local.set(vp)],
        // vg = g[i]·scale + l2·vp
        [at(g, i), load, local.get(vScale), f32x4.mul, local.get(vL2), local.get(vp), f32x4.mul, f32x4.add],
        local.set(vg),
        // vm = b1·m[i] + c1·vg
        [local.get(vB1), at(m, i), load, f32x4.mul, local.get(vC1), local.get(vg), f32x4.mul, f32x4.add],
        local.set(vm),
        // vv = b2·v[i] + c2·vg·vg
        [local.get(vB2), at(v, i), load, f32x4.mul, local.get(vC2), local.get(vg), f32x4.mul],
        [local.get(vg), f32x4.mul, f32x4.add, local.set(vv)],
        [at(mOut, i), local.get(vm), store],
        [at(vOut, i), local.get(vv), store],
        // pOut[i] = vp·decay − step·vm / (√vv·invBc2 + eps)
        [at(pOut, i), local.get(vp), local.get(vDecay), f32x4.mul],
        [local.get(vStep), local.get(vm), f32x4.mul],
        [local.get(vv), f32x4.sqrt, local.get(vInvBc2), f32x4.mul, local.get(vEps), f32x4.add],
        [f32x4.div, f32x4.sub, store],
      ]),
    ];
  },
);

/** sumsq(g, n) → Σ g[i]² for i < n (a multiple of 4), accumulated in f32 lanes. */
export const sumsq = func('sumsq', ['g:i32', 'n:i32'], ['f32'], (fn, { g, n }) => {
  const [i, bytes] = fn.locals(2, 'i32');
  const acc = fn.local('v128');
  return [
    [bytesOf(n), local.set(bytes)],
    [i32.const(0), local.set(i)],
    [f32.const(0), f32x4.splat, local.set(acc)],
    whileBelow(
      i,
      bytes,
      [local.get(acc), add2(g, i), load, add2(g, i), load, f32x4.mul, f32x4.add, local.set(acc)],
      [local.get(i), i32.const(16), i32.add, local.set(i)],
    ),
    hsum(acc),
  ];
});

/** The optimiser: the Adam update and the squared norm for gradient clipping. */
export const optimiserModule = wasmModule({
  name: '@anomalia/neural optimiser',
  memory: TFJS_HEAP,
  functions: [adam, sumsq],
});
