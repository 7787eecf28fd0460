import type { tf } from '../engine';
import { defineKernel, size } from './define';
import { transposeInto } from './transpose';

// Cutting: consecutive pieces of a tensor's data (parameter views, batches), optionally with a
// transposed copy of some pieces (what the backward pass multiplies by).

interface PiecesAttrs {
  offset: number;
  shapes: number[][];
  /** Indices of 2-D pieces whose transpose is appended, in this order, after the pieces. */
  transposed: number[];
}

const piecesKernel = defineKernel<PiecesAttrs>({
  name: 'Pieces',
  outputs: (_inputs, a) => [...a.shapes, ...a.transposed.map((i) => [a.shapes[i]![1]!, a.shapes[i]![0]!])],
  compute: ([x], outs, _shapes, a) => {
    let o = a.offset;
    const starts: number[] = [];
    a.shapes.forEach((s, i) => {
      const n = size(s);
      starts.push(o);
      outs[i]!.set(x!.subarray(o, o + n));
      o += n;
    });
    a.transposed.forEach((p, k) => {
      const [r, c] = a.shapes[p] as [number, number];
      transposeInto(x!, r, c, outs[a.shapes.length + k]!, starts[p]!);
    });
  },
  simdViews: true,
  simd: (sk, [x], outs, views, a) => {
    let o = a.offset;
    const starts: number[] = [];
    a.shapes.forEach((s, i) => {
      const n = size(s);
      starts.push(o);
      views.outputs[i]!.set(views.inputs[0]!.subarray(o, o + n));
      o += n;
    });
    a.transposed.forEach((p, k) => {
      const [r, c] = a.shapes[p] as [number, number];
      sk.transpose(x! + 4 * starts[p]!, outs[a.shapes.length + k]!, r, c);
    });
    return true;
  },
});

/**
 * Consecutive pieces of x's row-major data from element `offset`, with the given shapes, then
 * the transposes of the pieces listed in `transposed`.
 */
export function pieces(
  x: tf.Tensor,
  offset: number,
  shapes: readonly number[][],
  transposed: readonly number[] = [],
): tf.Tensor[] {
  const total = shapes.reduce((s, sh) => s + size(sh), 0);
  if (offset < 0 || offset + total > x.size) {
    throw new RangeError(`pieces [${offset}, ${offset + total}) outside a tensor of ${x.size} values`);
  }
  return piecesKernel([x], { offset, shapes: shapes.map((s) => [...s]), transposed: [...transposed] });
}
