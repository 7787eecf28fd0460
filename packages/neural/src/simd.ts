import { compileModule, type JsFunction, type WasmMemory, wasmModule } from '@anomalia/wasm-kit';
import {
  type BlockForwardVariant,
  backwardName,
  blockBackwardFunctions,
  blockForwardFunctions,
  forwardName,
} from './wasm/dense-block';
import { gemm, gemmBias, gemmBiasTail, gemmTail } from './wasm/gemm';
import { mse } from './wasm/loss';
import { adam, sumsq } from './wasm/optimiser';
import { transpose } from './wasm/transpose';

/**
 * The WebAssembly SIMD kernels for the loops that bound a training step on the wasm backend: the
 * matrix products (a GEMM that reads its operands in place), the dense blocks (LayerNorm + ReLU
 * + dropout forward and backward with their column sums), transposes, the MSE loss and the Adam
 * update (assembled in ./wasm with @anomalia/wasm-kit). They import the wasm backend's own
 * memory, so they work on tensors in place by their heap offsets. Used only on the wasm backend;
 * ANOMALIA_WASM=off runs the JS loops in kernels (or the backend's ops) instead. Tested against
 * those.
 */

const kernelModule = wasmModule({
  name: '@anomalia/neural kernels',
  memory: { import: { module: 'env', name: 'memory' }, minPages: 0 },
  functions: [
    adam,
    sumsq,
    transpose,
    gemm,
    mse,
    gemmBias,
    gemmTail,
    gemmBiasTail,
    ...blockForwardFunctions,
    ...blockBackwardFunctions,
  ],
});

export type { BlockForwardVariant, WasmMemory };

type BlockForwardFn = JsFunction<(typeof blockForwardFunctions)[number]>;
type BlockBackwardFn = JsFunction<(typeof blockBackwardFunctions)[number]>;

export interface SimdKernels {
  adam: JsFunction<typeof adam>;
  sumsq: JsFunction<typeof sumsq>;
  /** out[M, N] = a[M, K]·b[K, N] (+ bias[N] when bias ≠ 0), row-major, heap byte offsets. */
  gemm: JsFunction<typeof gemm>;
  /** Σ (pred − target)² over n values (a multiple of 4), writing dPred = 2·(pred − target)·scale. */
  mse: JsFunction<typeof mse>;
  /** dst[j, i] = src[i, j] for a rows × cols src (heap byte offsets). */
  transpose: JsFunction<typeof transpose>;
  /**
   * Dense block after the matrix product, for `cols` a multiple of 4 (heap byte offsets; 0 for
   * an absent operand): (LayerNorm) → (ReLU) → (mask).
   */
  blockForward(v: BlockForwardVariant): BlockForwardFn;
  /** Its backward pass with the column sums (db, dγ, dβ), for `cols` a multiple of 4. */
  blockBackward(norm: boolean, gate: boolean): BlockBackwardFn;
}

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/**
 * The SIMD kernels bound to a wasm memory, or null when the JS path is to run (ANOMALIA_WASM=off,
 * or no WebAssembly). A module the engine rejects throws (WasmModuleError), never falls back.
 */
export function simdKernels(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  const compiled = compileModule(kernelModule);
  let k: SimdKernels | null = null;
  if (compiled) {
    const ex = compiled.instantiate({ env: { memory } });
    k = {
      adam: ex.adam,
      sumsq: ex.sumsq,
      transpose: ex.transpose,
      mse: ex.mse,
      gemm: (a, b, bias, out, m, k, n) => {
        // The vector tail reads up to 12 bytes past b's and bias's ends: only inside the memory.
        const end = memory.buffer.byteLength - 12;
        const tail = n % 4 !== 0 && b + 4 * k * n <= end && bias + 4 * n <= end;
        const f = tail ? (bias ? ex.gemmBiasTail : ex.gemmTail) : bias ? ex.gemmBias : ex.gemm;
        f(a, b, bias, out, m, k, n);
      },
      blockForward: (v) => ex[forwardName(v)],
      blockBackward: (norm, gate) => ex[backwardName(norm, gate)],
    };
  }
  instances.set(memory, k);
  return k;
}
