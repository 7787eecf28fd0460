import type { tf } from '../engine';
import { defineKernel } from './define';

// Matrix product a·b (+ bias) read in place: the wasm-SIMD GEMM on wasm (no weight packing per
// call), a plain loop elsewhere.

const matMulKernel = defineKernel<Record<string, never>>({
  name: 'MatMul',
  outputs: ([a, b]) => [[a![0]!, b![1]!]],
  compute: ([a, b, bias], [out], shapes) => {
    const [m, k] = shapes[0] as [number, number];
    const n = shapes[1]![1]!;
    const A = a!;
    const B = b!;
    const o = out!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) o[i * n + j] = bias ? bias[j]! : 0;
      for (let p = 0; p < k; p++) {
        const v = A[i * k + p]!;
        for (let j = 0; j < n; j++) o[i * n + j] = o[i * n + j]! + v * B[p * n + j]!;
      }
    }
  },
  simd: (sk, [a, b, bias], [out], _views, _a, shapes) => {
    const [m, k] = shapes[0] as [number, number];
    sk.gemm(a!, b!, bias ?? 0, out!, m, k, shapes[1]![1]!);
    return true;
  },
});

/** a·b (+ bias), [m, k]·[k, n] → [m, n], with the wasm-SIMD GEMM (see `simdBlockKernels`). */
export function matMulInPlace(a: tf.Tensor2D, b: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (a.shape[1] !== b.shape[0]) throw new RangeError(`matMul: [${a.shape}]·[${b.shape}]`);
  return matMulKernel(bias ? [a, b, bias] : [a, b], {})[0] as tf.Tensor2D;
}
