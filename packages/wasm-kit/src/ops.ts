import { sleb128, uleb128 } from './leb128';
import { Local } from './local';

/**
 * The opcode table: every instruction the kernels use (and its near family), named as in the
 * WebAssembly text format (`i32.add` is `i32.add`, `f64x2.extract_lane(1)` is
 * `f64x2.extract_lane 1`), numbered as in the specification's binary format. An instruction is
 * its bytes; one with immediates is a function returning them. Structured control (block, loop,
 * if) and loops are in control.ts. Every entry is checked against wabt's assembler in ops.test.ts.
 */

/** One instruction's bytes. */
export type Instr = readonly number[];

/** The immediate of a memory access: a byte offset, and an alignment hint as log2 of bytes. */
export interface MemArg {
  offset?: number;
  /** log2 of the alignment promised (default: the access's natural alignment). */
  align?: number;
}

const memarg = (natural: number, m: MemArg = {}): number[] => {
  const align = m.align ?? natural;
  if (!Number.isInteger(align) || align < 0 || align > natural) {
    throw new RangeError(`memarg: align must be an integer exponent in [0, ${natural}], received ${align}`);
  }
  return [align, ...uleb128(m.offset ?? 0)];
};

const lane = (index: number, lanes: number): number => {
  if (!Number.isInteger(index) || index < 0 || index >= lanes) {
    throw new RangeError(`lane index must be an integer in [0, ${lanes - 1}], received ${index}`);
  }
  return index;
};

/** A SIMD instruction: the 0xfd prefix, then its opcode as a u32 LEB128, then immediates. */
const simd = (code: number, ...immediates: number[]): Instr => [0xfd, ...uleb128(code), ...immediates];

const bytesOf = (size: 4 | 8, write: (view: DataView) => void): number[] => {
  const view = new DataView(new ArrayBuffer(size));
  write(view);
  return Array.from(new Uint8Array(view.buffer));
};

const localIndex = (l: Local): number[] => {
  if (!(l instanceof Local))
    throw new TypeError('local.get/set/tee take a Local (fn.local(type) or a parameter)');
  return uleb128(l.index);
};

export const local = {
  get: (l: Local): Instr => [0x20, ...localIndex(l)],
  set: (l: Local): Instr => [0x21, ...localIndex(l)],
  tee: (l: Local): Instr => [0x22, ...localIndex(l)],
};

export const unreachable: Instr = [0x00];
export const nop: Instr = [0x01];
/** Branches to the `depth`-th enclosing label (0: the innermost block, loop or if). */
export const br = (depth: number): Instr => [0x0c, ...uleb128(depth)];
export const br_if = (depth: number): Instr => [0x0d, ...uleb128(depth)];
export const return_: Instr = [0x0f];
export const drop: Instr = [0x1a];
/** Pops c, b, a: pushes a if c ≠ 0, else b. */
export const select: Instr = [0x1b];

export const i32 = {
  load: (m?: MemArg): Instr => [0x28, ...memarg(2, m)],
  store: (m?: MemArg): Instr => [0x36, ...memarg(2, m)],
  const: (v: number): Instr => [0x41, ...sleb128(v)],
  eqz: [0x45],
  eq: [0x46],
  ne: [0x47],
  lt_s: [0x48],
  lt_u: [0x49],
  gt_s: [0x4a],
  gt_u: [0x4b],
  le_s: [0x4c],
  le_u: [0x4d],
  ge_s: [0x4e],
  ge_u: [0x4f],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  div_s: [0x6d],
  div_u: [0x6e],
  rem_s: [0x6f],
  rem_u: [0x70],
  and: [0x71],
  or: [0x72],
  xor: [0x73],
  shl: [0x74],
  shr_s: [0x75],
  shr_u: [0x76],
  wrap_i64: [0xa7],
} as const satisfies Record<string, Instr | ((...args: never[]) => Instr)>;

export const f32 = {
  load: (m?: MemArg): Instr => [0x2a, ...memarg(2, m)],
  store: (m?: MemArg): Instr => [0x38, ...memarg(2, m)],
  const: (v: number): Instr => [0x43, ...bytesOf(4, (d) => d.setFloat32(0, v, true))],
  eq: [0x5b],
  ne: [0x5c],
  lt: [0x5d],
  gt: [0x5e],
  le: [0x5f],
  ge: [0x60],
  abs: [0x8b],
  neg: [0x8c],
  sqrt: [0x91],
  add: [0x92],
  sub: [0x93],
  mul: [0x94],
  div: [0x95],
  min: [0x96],
  max: [0x97],
  convert_i32_s: [0xb2],
  convert_i32_u: [0xb3],
  demote_f64: [0xb6],
} as const satisfies Record<string, Instr | ((...args: never[]) => Instr)>;

export const f64 = {
  load: (m?: MemArg): Instr => [0x2b, ...memarg(3, m)],
  store: (m?: MemArg): Instr => [0x39, ...memarg(3, m)],
  const: (v: number): Instr => [0x44, ...bytesOf(8, (d) => d.setFloat64(0, v, true))],
  eq: [0x61],
  ne: [0x62],
  lt: [0x63],
  gt: [0x64],
  le: [0x65],
  ge: [0x66],
  abs: [0x99],
  neg: [0x9a],
  sqrt: [0x9f],
  add: [0xa0],
  sub: [0xa1],
  mul: [0xa2],
  div: [0xa3],
  min: [0xa4],
  max: [0xa5],
  convert_i32_s: [0xb7],
  convert_i32_u: [0xb8],
  promote_f32: [0xbb],
} as const satisfies Record<string, Instr | ((...args: never[]) => Instr)>;

export const v128 = {
  load: (m?: MemArg): Instr => simd(0x00, ...memarg(4, m)),
  load32_splat: (m?: MemArg): Instr => simd(0x09, ...memarg(2, m)),
  load64_splat: (m?: MemArg): Instr => simd(0x0a, ...memarg(3, m)),
  store: (m?: MemArg): Instr => simd(0x0b, ...memarg(4, m)),
  /** A 16-byte constant, bytes in memory order. */
  const: (bytes: readonly number[]): Instr => {
    if (bytes.length !== 16 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
      throw new RangeError(`v128.const: expected 16 bytes, received [${bytes.join(', ')}]`);
    }
    return simd(0x0c, ...bytes);
  },
  not: simd(0x4d),
  and: simd(0x4e),
  /** a & ~b */
  andnot: simd(0x4f),
  or: simd(0x50),
  xor: simd(0x51),
  bitselect: simd(0x52),
  any_true: simd(0x53),
  /** Stores lane `index` (a 32-bit lane) of the vector. */
  store32_lane: (index: number, m?: MemArg): Instr => simd(0x5a, ...memarg(2, m), lane(index, 4)),
  store64_lane: (index: number, m?: MemArg): Instr => simd(0x5b, ...memarg(3, m), lane(index, 2)),
} as const;

export const i8x16 = {
  /** Bytes picked by index (0–31) from the concatenation of two vectors. */
  shuffle: (bytes: readonly number[]): Instr => {
    if (bytes.length !== 16)
      throw new RangeError(`i8x16.shuffle: expected 16 lane indices, received ${bytes.length}`);
    return simd(0x0d, ...bytes.map((b) => lane(b, 32)));
  },
  splat: simd(0x0f),
} as const;

export const i32x4 = {
  splat: simd(0x11),
  extract_lane: (index: number): Instr => simd(0x1b, lane(index, 4)),
} as const;

export const i64x2 = {
  splat: simd(0x12),
  extract_lane: (index: number): Instr => simd(0x1d, lane(index, 2)),
} as const;

export const f32x4 = {
  splat: simd(0x13),
  extract_lane: (index: number): Instr => simd(0x1f, lane(index, 4)),
  replace_lane: (index: number): Instr => simd(0x20, lane(index, 4)),
  eq: simd(0x41),
  ne: simd(0x42),
  lt: simd(0x43),
  gt: simd(0x44),
  le: simd(0x45),
  ge: simd(0x46),
  demote_f64x2_zero: simd(0x5e),
  abs: simd(0xe0),
  neg: simd(0xe1),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  min: simd(0xe8),
  max: simd(0xe9),
} as const;

export const f64x2 = {
  splat: simd(0x14),
  extract_lane: (index: number): Instr => simd(0x21, lane(index, 2)),
  replace_lane: (index: number): Instr => simd(0x22, lane(index, 2)),
  eq: simd(0x47),
  ne: simd(0x48),
  lt: simd(0x49),
  gt: simd(0x4a),
  le: simd(0x4b),
  ge: simd(0x4c),
  promote_low_f32x4: simd(0x5f),
  abs: simd(0xec),
  neg: simd(0xed),
  sqrt: simd(0xef),
  add: simd(0xf0),
  sub: simd(0xf1),
  mul: simd(0xf2),
  div: simd(0xf3),
  min: simd(0xf4),
  max: simd(0xf5),
} as const;
