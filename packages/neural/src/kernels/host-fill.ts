import type { tf } from '../engine';
import { defineKernel } from './define';

// Tensors written by the host in place: the training step's dropout masks and noise.

interface HostFillAttrs {
  shapes: number[][];
  fill: (outputs: readonly Float32Array[]) => void;
}

/**
 * Allocates the outputs on the backend and hands their memory to `fill`: no host buffer, no
 * upload copy, and one kernel call instead of one tensor upload per output.
 */
const hostFillKernel = defineKernel<HostFillAttrs>({
  name: 'HostFill',
  outputs: (_inputs, a) => a.shapes,
  compute: (_inputs, outputs, _shapes, a) => {
    a.fill(outputs);
  },
});

/**
 * Float32 tensors of the given shapes whose values `fill` writes (in place on the wasm and cpu
 * backends, into fresh arrays then uploaded elsewhere). `fill` sees every output at once, in
 * order, and must write every value.
 */
export function hostTensors(shapes: readonly number[][], fill: HostFillAttrs['fill']): tf.Tensor[] {
  if (shapes.length === 0) return [];
  return hostFillKernel([], { shapes: shapes.map((s) => [...s]), fill });
}
