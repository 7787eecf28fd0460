import {
  type Code,
  f32,
  f32x4,
  type Instr,
  i8x16,
  i32,
  type Local,
  local,
  type MemorySpec,
  v128,
} from '@anomalia/wasm-kit';

/**
 * Pieces every neural kernel shares. The kernels work in place on TensorFlow.js's wasm heap,
 * where a float32 tensor starts at any 4-byte boundary: vector accesses promise 4-byte
 * alignment (align 2), not the 16-byte natural one.
 */

/** v128.load / v128.store with the heap's 4-byte alignment. */
export const load: Instr = v128.load({ align: 2 });
export const store: Instr = v128.store({ align: 2 });

/** A v128 of zeros. */
export const zero: Instr = v128.const(Array(16).fill(0));

/** Pushes local a + local b (a heap address). */
export const add2 = (a: Local, b: Local): Code => [local.get(a), local.get(b), i32.add];

/** Pushes the vector at address a + b. */
export const loadAt = (a: Local, b: Local): Code => [add2(a, b), load];

/** Pushes the sum of a v128 local's four f32 lanes, in lane order. */
export const hsum = (v: Local): Code => [
  local.get(v),
  f32x4.extract_lane(0),
  local.get(v),
  f32x4.extract_lane(1),
  f32.add,
  local.get(v),
  f32x4.extract_lane(2),
  f32.add,
  local.get(v),
  f32x4.extract_lane(3),
  f32.add,
];

/** i8x16.shuffle by 32-bit lanes (0–7: the first vector's four, then the second's). */
export const shuffle32 = (lanes: readonly number[]): Instr =>
  i8x16.shuffle(lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));

/** Pushes n·4 (a count of float32 values in bytes). */
export const bytesOf = (n: Local): Code => [local.get(n), i32.const(2), i32.shl];

/** The memory every neural module imports: TensorFlow.js's wasm heap, as `env.memory`. */
export const TFJS_HEAP = {
  import: { module: 'env', name: 'memory' },
  minPages: 0,
} as const satisfies MemorySpec;
