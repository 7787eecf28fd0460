/**
 * A tiny WebAssembly SIMD module, assembled here byte by byte, for the one loop where plain JS is
 * the bottleneck of a training step: the Adam update over every parameter (a square root and a
 * division per value). It imports the wasm backend's own memory, so it updates tensors in place
 * by their heap offsets. Used only on the wasm backend and only when the engine validates it;
 * otherwise the JS loop in kernels.ts runs. Tested against that loop.
 */

const leb = (n: number): number[] => {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const str = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
// Instructions.
const get = (i: number) => [0x20, ...leb(i)];
const set = (i: number) => [0x21, ...leb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...leb(op), ...imm];
const MEMARG = [2, 0]; // align 2^2, offset 0 (unaligned access is allowed)
const load = simd(0x00, ...MEMARG);
const store = simd(0x0b, ...MEMARG);
const splat = simd(0x13);
const lane = (k: number) => simd(0x1f, k);
const fsqrt = simd(0xe3);
const fadd = simd(0xe4);
const fsub = simd(0xe5);
const fmul = simd(0xe6);
const fdiv = simd(0xe7);
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const F32_ADD = 0x92;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const brIf = (d: number) => [0x0d, ...leb(d)];
const br = (d: number) => [0x0c, ...leb(d)];

/** Locals declaration: groups of (count, type). */
const locals = (groups: Array<[number, number]>) => vec(groups.map(([n, t]) => [...leb(n), t]));

/**
 * adam(p, m, v, g, pOut, mOut, vOut, n, scale, l2, b1, c1, b2, c2, step, invBc2, decay, eps):
 * for i < n (a multiple of 4): g' = g·scale + l2·p; m' = b1·m + c1·g'; v' = b2·v + c2·g'²;
 * p' = p·decay − step·m' / (√v'·invBc2 + eps).
 */
function adamBody(): number[] {
  const [P, M, V, G, PO, MO, VO, N] = [0, 1, 2, 3, 4, 5, 6, 7];
  const I = 18;
  const BYTES = 19;
  const C = (k: number) => 20 + k; // splatted constants: scale l2 b1 c1 b2 c2 step invBc2 decay eps
  const [VP, VG, VM, VV] = [30, 31, 32, 33];
  const at = (base: number) => [...get(base), ...get(I), I32_ADD];
  const code = [
    ...get(N),
    ...i32c(2),
    I32_SHL,
    ...set(BYTES),
    ...Array.from({ length: 10 }, (_, k) => [...get(8 + k), ...splat, ...set(C(k))]).flat(),
    ...i32c(0),
    ...set(I),
    ...BLOCK,
    ...LOOP,
    ...get(I),
    ...get(BYTES),
    I32_GE_U,
    ...brIf(1),
    // vp = p[i]
    ...at(P),
    ...load,
    ...set(VP),
    // vg = g[i]·scale + l2·vp
    ...at(G),
    ...load,
    ...get(C(0)),
    ...fmul,
    ...get(C(1)),
    ...get(VP),
    ...fmul,
    ...fadd,
    ...set(VG),
    // vm = b1·m[i] + c1·vg
    ...get(C(2)),
    ...at(M),
    ...load,
    ...fmul,
    ...get(C(3)),
    ...get(VG),
    ...fmul,
    ...fadd,
    ...set(VM),
    // vv = b2·v[i] + c2·vg·vg
    ...get(C(4)),
    ...at(V),
    ...load,
    ...fmul,
    ...get(C(5)),
    ...get(VG),
    ...fmul,
    ...get(VG),
    ...fmul,
    ...fadd,
    ...set(VV),
    ...at(MO),
    ...get(VM),
    ...store,
    ...at(VO),
    ...get(VV),
    ...store,
    // pOut[i] = vp·decay − step·vm / (√vv·invBc2 + eps)
    ...at(PO),
    ...get(VP),
    ...get(C(8)),
    ...fmul,
    ...get(C(6)),
    ...get(VM),
    ...fmul,
    ...get(VV),
    ...fsqrt,
    ...get(C(7)),
    ...fmul,
    ...get(C(9)),
    ...fadd,
    ...fdiv,
    ...fsub,
    ...store,
    ...get(I),
    ...i32c(16),
    I32_ADD,
    ...set(I),
    ...br(0),
    END,
    END,
    END,
  ];
  return [
    ...locals([
      [2, I32],
      [14, V128],
    ]),
    ...code,
  ];
}

/** sumsq(g, n) → Σ g[i]² for i < n (a multiple of 4), accumulated in f32 lanes. */
function sumsqBody(): number[] {
  const [G, N, I, BYTES, ACC] = [0, 1, 2, 3, 4];
  const code = [
    ...get(N),
    ...i32c(2),
    I32_SHL,
    ...set(BYTES),
    ...i32c(0),
    ...set(I),
    0x43,
    0,
    0,
    0,
    0, // f32.const 0
    ...splat,
    ...set(ACC),
    ...BLOCK,
    ...LOOP,
    ...get(I),
    ...get(BYTES),
    I32_GE_U,
    ...brIf(1),
    ...get(ACC),
    ...get(G),
    ...get(I),
    I32_ADD,
    ...load,
    ...get(G),
    ...get(I),
    I32_ADD,
    ...load,
    ...fmul,
    ...fadd,
    ...set(ACC),
    ...get(I),
    ...i32c(16),
    I32_ADD,
    ...set(I),
    ...br(0),
    END,
    END,
    ...get(ACC),
    ...lane(0),
    ...get(ACC),
    ...lane(1),
    F32_ADD,
    ...get(ACC),
    ...lane(2),
    F32_ADD,
    ...get(ACC),
    ...lane(3),
    F32_ADD,
    END,
  ];
  return [
    ...locals([
      [2, I32],
      [1, V128],
    ]),
    ...code,
  ];
}

function moduleBytes(): Uint8Array {
  const adamType = [0x60, ...vec([...Array(8).fill([I32]), ...Array(10).fill([F32])]), ...vec([])];
  const sumsqType = [0x60, ...vec([[I32], [I32]]), ...vec([[F32]])];
  const bodies = [adamBody(), sumsqBody()];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([adamType, sumsqType])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0], [1]])),
    ...section(
      7,
      vec([
        [...str('adam'), 0x00, 0],
        [...str('sumsq'), 0x00, 1],
      ]),
    ),
    ...section(10, vec(bodies.map((b) => [...leb(b.length), ...b]))),
  ]);
}

export interface SimdKernels {
  adam(
    p: number,
    m: number,
    v: number,
    g: number,
    pOut: number,
    mOut: number,
    vOut: number,
    n: number,
    scale: number,
    l2: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    step: number,
    invBc2: number,
    decay: number,
    eps: number,
  ): void;
  sumsq(g: number, n: number): number;
}

/** A WebAssembly.Memory (the project's TS libs have no DOM WebAssembly types). */
export type WasmMemory = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/** The SIMD kernels bound to a wasm memory, or null when this engine cannot run them. */
export function simdKernels(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  let k: SimdKernels | null = null;
  try {
    const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = moduleBytes();
    if (WA?.validate(bytes)) {
      const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
      k = instance.exports as unknown as SimdKernels;
    }
  } catch {
    k = null;
  }
  instances.set(memory, k);
  return k;
}
