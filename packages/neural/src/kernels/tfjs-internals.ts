import type { WasmMemory } from '@anomalia/wasm-kit';
import type { tf } from '../engine';

/**
 * The TensorFlow.js internals the registered kernels read, to work in place on a backend's
 * memory: private API of @tensorflow/tfjs-backend-wasm and -cpu, so package.json pins them to
 * exact versions and tfjs-internals.test.ts fails, naming the internal, when one moves.
 */

/** The wasm backend (WasmBackend in tfjs-backend-wasm). */
export interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { asm?: { memory?: WasmMemory } };
}

/** The cpu backend (MathBackendCPU in tfjs-backend-cpu). */
export interface CpuBackendInternals {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** The error for an internal that is not where the pinned version has it. */
export function movedInternal(internal: string): Error {
  return new Error(
    `TensorFlow.js internal ${internal} is missing or changed: @anomalia/neural's in-place kernels read it ` +
      '(see src/kernels/tfjs-internals.ts). Install the exact @tensorflow/tfjs* versions in its package.json.',
  );
}

/** The wasm backend's heap (its WebAssembly.Memory), which the SIMD kernels import. */
export function wasmHeap(backend: WasmBackendInternals): WasmMemory {
  const memory = backend.wasm?.asm?.memory;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw movedInternal('WasmBackend.wasm.asm.memory');
  return memory;
}
