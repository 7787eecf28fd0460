import type { TypedArray } from '@anomalia/core';

/**
 * An array as an artifact tensor. TypeScript 5.9 types plain typed arrays over ArrayBufferLike
 * while the artifact API asks for ArrayBuffer; ours are never backed by shared memory.
 */
export function tensor(
  data: Float64Array | Int32Array,
  shape?: number[],
): { data: TypedArray; shape?: number[] } {
  return shape ? { data: data as TypedArray, shape } : { data: data as TypedArray };
}
