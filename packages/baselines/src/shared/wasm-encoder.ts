/**
 * A minimal WebAssembly binary encoder: just what the SIMD distance kernels need, so they ship
 * as readable TypeScript instead of an opaque binary or a build-time toolchain.
 */

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** Instructions as byte sequences; `simd(op)` is the 0xfd-prefixed SIMD opcode `op`. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  f64Add: [0xa0],
  i32Load: (offset = 0) => [0x28, 2, ...uleb(offset)],
  i32Store: (offset = 0) => [0x36, 2, ...uleb(offset)],
  f64Load: (offset = 0) => [0x2b, 3, ...uleb(offset)],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64Le: [0x65],
  f64Const2: [0x44, 0, 0, 0, 0, 0, 0, 0, 0x40],
  i32Or: [0x72],
  i32Shl: [0x74],
  f64Store: (offset = 0) => [0x39, 3, ...uleb(offset)],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
  v128Load: (offset = 0) => [0xfd, 0x00, 4, ...uleb(offset)],
  f64x2Splat0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0xfd, 0x14],
  f64x2ExtractLane: (lane: number) => [0xfd, 0x21, lane],
  f64x2Add: [0xfd, ...uleb(240)],
  f64x2Sub: [0xfd, ...uleb(241)],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
  f64x2PromoteLowF32x4: [0xfd, ...uleb(0x5f)],
  f64x2Le: [0xfd, ...uleb(0x4b)],
  f64x2Splat: [0xfd, 0x14],
  v128Or: [0xfd, ...uleb(0x50)],
  v128AnyTrue: [0xfd, ...uleb(0x53)],
  i64x2ExtractLane: (lane: number) => [0xfd, 0x1d, lane],
  /** Lanes picked by byte index from the concatenation of two vectors. */
  i8x16Shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes],
  i32WrapI64: [0xa7],
  i32And: [0x71],
  if: [0x04, 0x40],
  f64x2Mul: [0xfd, ...uleb(242)],
};

export interface WasmFunction {
  name: string;
  params: number[];
  /** Result types (none by default). */
  results?: number[];
  /** Extra locals after the parameters, by type. */
  locals: number[];
  body: number[][];
}

/** A module exporting `memory` (initial pages) and the given functions. */
export function encodeModule(functions: WasmFunction[], initialPages: number): Uint8Array {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec((f.results ?? []).map((t) => [t])),
  ]);
  const bodies = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body.flat(), 0x0b];
    return [...uleb(code.length), ...code];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(initialPages)]])),
    ...section(
      7,
      vec([[...utf8('memory'), 0x02, 0], ...functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)])]),
    ),
    ...section(10, vec(bodies)),
  ];
  return Uint8Array.from(bytes);
}
