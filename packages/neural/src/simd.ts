import { compileModule, type JsFunction, type WasmMemory } from '@anomalia/wasm-kit';
import {
  type batchNormBackwardFunctions,
  batchNormBackwardName,
  type batchNormForwardFunctions,
  batchNormForwardName,
  batchNormModule,
} from './wasm/batch-norm';
import {
  type BlockForwardVariant,
  backwardName,
  type blockBackwardFunctions,
  type blockForwardFunctions,
  denseBlockModule,
  forwardName,
} from './wasm/dense-block';
import { type gemm, gemmModule } from './wasm/gemm';
import { lossModule, type mse } from './wasm/loss';
import { type adam, optimiserModule, type sumsq } from './wasm/optimiser';
import { type transpose, transposeModule } from './wasm/transpose';

/**
 * The WebAssembly SIMD kernels for the loops that bound a training step on the wasm backend: the
 * matrix products (a GEMM that reads its operands in place), the dense blocks (LayerNorm + ReLU
 * + dropout forward and backward with their column sums), batch norm in training mode, transposes, the MSE loss and the Adam
 * update (assembled in ./wasm with @anomalia/wasm-kit). They import the wasm backend's own
 * memory, so they work on tensors in place by their heap offsets. Used only on the wasm backend;
 * ANOMALIA_WASM=off runs the JS loops in kernels (or the backend's ops) instead. Tested against
 * those.
 */

export type { BlockForwardVariant, WasmMemory };

type BlockForwardFn = JsFunction<(typeof blockForwardFunctions)[number]>;
type BlockBackwardFn = JsFunction<(typeof blockBackwardFunctions)[number]>;
type BatchNormForwardFn = JsFunction<(typeof batchNormForwardFunctions)[number]>;
type BatchNormBackwardFn = JsFunction<(typeof batchNormBackwardFunctions)[number]>;

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
  /**
   * Batch norm in training mode → (ReLU) → (mask), with the running statistics, for `cols` a
   * multiple of 4 (heap byte offsets; 0 for an absent operand).
   */
  batchNormForward(relu: boolean, mask: boolean): BatchNormForwardFn;
  /** Its backward pass (dz, db, dγ, dβ), for `cols` a multiple of 4. */
  batchNormBackward(gate: boolean): BatchNormBackwardFn;
}

/** Every WebAssembly module of the package (their SHA-256 is pinned in wasm/modules.test.ts). */
export const WASM_MODULES = [
  gemmModule,
  denseBlockModule,
  optimiserModule,
  lossModule,
  transposeModule,
  batchNormModule,
] as const;

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/**
 * The SIMD kernels bound to a wasm memory, or null when the JS path is to run (ANOMALIA_WASM=off,
 * or no WebAssembly). A module the engine rejects throws (WasmModuleError), never falls back.
 */
export function simdKernels(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  const k = bind(memory);
  instances.set(memory, k);
  return k;
}

function bind(memory: WasmMemory): SimdKernels | null {
  const gemmM = compileModule(gemmModule);
  const blockM = compileModule(denseBlockModule);
  const optimiserM = compileModule(optimiserModule);
  const lossM = compileModule(lossModule);
  const transposeM = compileModule(transposeModule);
  const batchNormM = compileModule(batchNormModule);
  // Null together (ANOMALIA_WASM=off, or no WebAssembly); a module the engine rejects has thrown.
  if (!gemmM || !blockM || !optimiserM || !lossM || !transposeM || !batchNormM) return null;
  const imports = { env: { memory } };
  const g = gemmM.instantiate(imports);
  const block = blockM.instantiate(imports);
  const optimiser = optimiserM.instantiate(imports);
  const batchNorm = batchNormM.instantiate(imports);
  return {
    adam: optimiser.adam,
    sumsq: optimiser.sumsq,
    transpose: transposeM.instantiate(imports).transpose,
    mse: lossM.instantiate(imports).mse,
    gemm: (a, b, bias, out, m, k, n) => {
      // The vector tail reads up to 12 bytes past b's and bias's ends: only inside the memory.
      const end = memory.buffer.byteLength - 12;
      const tail = n % 4 !== 0 && b + 4 * k * n <= end && bias + 4 * n <= end;
      const f = tail ? (bias ? g.gemmBiasTail : g.gemmTail) : bias ? g.gemmBias : g.gemm;
      f(a, b, bias, out, m, k, n);
    },
    blockForward: (v) => block[forwardName(v)],
    blockBackward: (norm, gate) => block[backwardName(norm, gate)],
    batchNormForward: (relu, mask) => batchNorm[batchNormForwardName(relu, mask)],
    batchNormBackward: (gate) => batchNorm[batchNormBackwardName(gate)],
  };
}
