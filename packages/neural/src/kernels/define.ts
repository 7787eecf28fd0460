import { tf } from '../engine';
import { type SimdKernels, simdKernels } from '../simd';
import { type CpuBackendInternals, type WasmBackendInternals, wasmHeap } from './tfjs-internals';

/**
 * Hand-written kernels for the training step. At small batches a TensorFlow.js step is bound by
 * the per-op dispatch cost (a few µs per op, whatever its size), not by arithmetic: a LayerNorm
 * + ReLU + dropout block is a dozen ops forward and as many backward, an Adam update ~20 ops.
 * Each of these is one kernel here, written as a plain loop over Float32Arrays, with a wasm-SIMD
 * version (../simd.ts) that the wasm backend runs when it can, matrix products included; without
 * it, the dense-block loops run only for small blocks on wasm (tf ops above, see `../network.ts`)
 * and the matrix products go to the backend. On wasm and cpu the kernels are registered
 * with TensorFlow.js and work in place on the backend's memory (no copies); on any other
 * backend (tfjs-node) the same loops run on copies. They are not differentiable: the training
 * step writes its own backward pass.
 */

export type Shape = number[];

export interface KernelDef<A> {
  name: string;
  /** Output shapes from the input shapes. */
  outputs(inputs: readonly Shape[], attrs: A): Shape[];
  compute(
    inputs: readonly Float32Array[],
    outputs: readonly Float32Array[],
    shapes: readonly Shape[],
    attrs: A,
  ): void;
  /**
   * Optional wasm-SIMD version on the wasm backend: heap byte offsets of the inputs and outputs,
   * plus views for tails. Returns false to fall back to `compute`.
   */
  simd?(
    k: SimdKernels,
    inputs: readonly number[],
    outputs: readonly number[],
    views: { inputs: readonly Float32Array[]; outputs: readonly Float32Array[] },
    attrs: A,
    shapes: readonly Shape[],
  ): boolean;
  /**
   * Whether `simd` reads `views` (typed arrays over the heap). Most SIMD kernels need only the
   * offsets, and a typed array per operand and call is work and garbage at ~50 calls a step.
   */
  simdViews?: boolean;
}

/** What `simd` gets as views when its kernel does not ask for them (`simdViews`). */
const NO_VIEWS = { inputs: [], outputs: [] } as const;

let simdEnabled = true;
/** Turns the wasm-SIMD kernels off (tests compare them with the JS loops). */
export function useSimdKernels(on: boolean): void {
  simdEnabled = on;
}
/**
 * Whether the wasm-SIMD dense-block kernels run for blocks of `cols` columns: on the wasm backend,
 * with SIMD kernels on and validated by the engine, and `cols` a multiple of 4.
 */
export function simdBlockKernels(cols: number): boolean {
  return cols % 4 === 0 && simdAvailable();
}

/** Whether the wasm-SIMD kernels (GEMM included) run: wasm backend, SIMD kernels on and valid. */
export function simdAvailable(): boolean {
  if (!simdEnabled || tf.getBackend() !== 'wasm') return false;
  return simdKernels(wasmHeap(tf.backend() as unknown as WasmBackendInternals)) !== null;
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

let copyMode = false;
/**
 * Forces the path used on backends without registered kernels (tfjs-node): inputs read with
 * dataSync, outputs uploaded as new tensors. For tests; the default picks the fastest path.
 */
export function useCopyKernels(on: boolean): void {
  copyMode = on;
}

/** Defines a kernel, registers it on wasm and cpu, and returns its caller. */
export function defineKernel<A extends object>(
  def: KernelDef<A>,
): (inputs: readonly tf.Tensor[], attrs: A) => tf.Tensor[] {
  const kernelName = `Anomalia${def.name}`;
  const names = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
  const inputsOf = (map: tf.NamedTensorInfoMap, n: number) => names(n).map((k) => map[k] as tf.TensorInfo);
  // A second copy of this module (ESM and CJS builds in one process) finds them registered.
  if (tf.getKernel(kernelName, 'wasm') && tf.getKernel(kernelName, 'cpu')) return call(kernelName, def);
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackendInternals;
      const a = attrs as unknown as A & { n: number };
      const ins = inputsOf(inputs, a.n);
      const shapes = ins.map((t) => t.shape);
      const outs = def.outputs(shapes, a).map((s) => b.makeOutput(s, 'float32'));
      const simd = def.simd && simdEnabled ? simdKernels(wasmHeap(b)) : null;
      if (simd) {
        const offset = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
        const views = def.simdViews
          ? {
              inputs: ins.map((t) => b.typedArrayFromHeap(t)),
              outputs: outs.map((t) => b.typedArrayFromHeap(t)),
            }
          : NO_VIEWS;
        if (def.simd!(simd, ins.map(offset), outs.map(offset), views, a, shapes)) return outs;
      }
      // Views are taken after every allocation: an allocation can grow (and move) the heap.
      def.compute(
        ins.map((t) => b.typedArrayFromHeap(t)),
        outs.map((t) => b.typedArrayFromHeap(t)),
        shapes,
        a,
      );
      return outs;
    },
  });
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackendInternals;
      const a = attrs as unknown as A & { n: number };
      const ins = inputsOf(inputs, a.n);
      const shapes = ins.map((t) => t.shape);
      const outShapes = def.outputs(shapes, a);
      const outData = outShapes.map((s) => new Float32Array(size(s)));
      def.compute(
        ins.map((t) => b.data.get(t.dataId).values),
        outData,
        shapes,
        a,
      );
      return outShapes.map((s, i) => b.makeTensorInfo(s, 'float32', outData[i]!));
    },
  });
  return call(kernelName, def);
}

/** The caller of a registered kernel, with the copying path for other backends. */
function call<A extends object>(
  kernelName: string,
  def: KernelDef<A>,
): (inputs: readonly tf.Tensor[], attrs: A) => tf.Tensor[] {
  return (inputs, attrs) => {
    const backend = tf.getBackend();
    if (!copyMode && (backend === 'wasm' || backend === 'cpu')) {
      const map: tf.NamedTensorMap = {};
      inputs.forEach((t, i) => {
        map[`i${i}`] = t;
      });
      const out = tf
        .engine()
        .runKernel(kernelName, map, { ...attrs, n: inputs.length } as unknown as tf.NamedAttrMap);
      return (Array.isArray(out) ? out : [out]) as tf.Tensor[];
    }
    const shapes = inputs.map((t) => t.shape);
    const outShapes = def.outputs(shapes, attrs);
    const outData = outShapes.map((s) => new Float32Array(size(s)));
    def.compute(
      inputs.map((t) => t.dataSync() as Float32Array),
      outData,
      shapes,
      attrs,
    );
    return outShapes.map((s, i) => tf.tensor(outData[i]!, s, 'float32'));
  };
}
