/**
 * A small WebAssembly SIMD module, assembled here byte by byte, for the loops that bound a
 * training step on the wasm backend: the matrix products (a GEMM that reads its operands in
 * place: XNNPACK packs the weight operand on every call, and in training every operand is new),
 * the dense blocks (LayerNorm + ReLU + dropout forward and backward with their column sums),
 * transposes, the MSE loss and the Adam update. It imports the wasm backend's own memory, so it
 * works on tensors in place by their heap offsets. Used only on the wasm backend and only when
 * the engine validates it; otherwise the JS loops in kernels.ts (or the backend's ops) run.
 * Tested against those.
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
const loadSplat = simd(0x09, ...MEMARG); // v128.load32_splat
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

// More instructions for the GEMM, transpose and dense-block kernels.
const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const F32_DIV = 0x95;
const F32_SQRT = 0x91;
const F32_CONVERT_I32_U = 0xb3;
const I32_MUL = 0x6c;
const f32c = (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
const v128zero = simd(0x0c, ...Array(16).fill(0));
const fle = simd(0x45);
const flt = simd(0x43);
const andnot = simd(0x4f);

/** for (idx = start; idx < end; idx += step) body; `end` is a local. */
const forLoop = (idx: number, start: number[], end: number, step: number, body: number[]) => [
  ...start,
  ...set(idx),
  ...BLOCK,
  ...LOOP,
  ...get(idx),
  ...get(end),
  I32_GE_U,
  ...brIf(1),
  ...body,
  ...get(idx),
  ...i32c(step),
  I32_ADD,
  ...set(idx),
  ...br(0),
  END,
  END,
];
/** The sum of a v128 local's four f32 lanes, in lane order. */
const hsum = (v: number) => [
  ...get(v),
  ...lane(0),
  ...get(v),
  ...lane(1),
  F32_ADD,
  ...get(v),
  ...lane(2),
  F32_ADD,
  ...get(v),
  ...lane(3),
  F32_ADD,
];
/** Pushes local a + local b (a heap address). */
const add2 = (a: number, b: number) => [...get(a), ...get(b), I32_ADD];
const vload = (a: number, b: number) => [...add2(a, b), ...load];

/**
 * Block forward, one specialised function per variant. Per row: the LayerNorm moments in two
 * passes (mean, then the centred sum of squares: no cancellation in float32), then per 4 columns
 * normalise + affine, the gate (ReLU × mask, as the JS kernel: 0 where y ≤ 0) and the output.
 */
function blockForwardBody(v: BlockForwardVariant): number[] {
  const [Z, G, B, M, OUT, GATE, XHAT, RSTD, ROWS, COLS, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [I, J, RB, BASE, K] = [11, 12, 13, 14, 15];
  const [MU, R] = [16, 17];
  const [VMU, VR, ACC, Y, GT, ONE] = [18, 19, 20, 21, 22, 23];
  const hasGate = v.relu || v.mask;
  const moments = v.norm
    ? [
        ...v128zero,
        ...set(ACC),
        ...forLoop(J, i32c(0), RB, 16, [
          ...get(ACC),
          ...get(Z),
          ...add2(BASE, J),
          I32_ADD,
          ...load,
          ...fadd,
          ...set(ACC),
        ]),
        ...hsum(ACC),
        ...get(COLS),
        F32_CONVERT_I32_U,
        F32_DIV,
        ...set(MU),
        ...get(MU),
        ...splat,
        ...set(VMU),
        ...v128zero,
        ...set(ACC),
        ...forLoop(J, i32c(0), RB, 16, [
          ...get(Z),
          ...add2(BASE, J),
          I32_ADD,
          ...load,
          ...get(VMU),
          ...fsub,
          ...set(Y),
          ...get(ACC),
          ...get(Y),
          ...get(Y),
          ...fmul,
          ...fadd,
          ...set(ACC),
        ]),
        ...f32c(1),
        ...hsum(ACC),
        ...get(COLS),
        F32_CONVERT_I32_U,
        F32_DIV,
        ...get(EPS),
        F32_ADD,
        F32_SQRT,
        F32_DIV,
        ...set(R),
        ...(v.keep ? [...get(RSTD), ...get(I), ...i32c(2), I32_SHL, I32_ADD, ...get(R), ...F32_STORE] : []),
        ...get(R),
        ...splat,
        ...set(VR),
      ]
    : [];
  const column: number[] = [...add2(BASE, J), ...set(K), ...vload(Z, K), ...set(Y)];
  if (v.norm) {
    column.push(...get(Y), ...get(VMU), ...fsub, ...get(VR), ...fmul, ...set(Y));
    if (v.keep) column.push(...add2(XHAT, K), ...get(Y), ...store);
    column.push(...get(Y), ...vload(G, J), ...fmul, ...vload(B, J), ...fadd, ...set(Y));
  }
  if (v.keep) {
    if (hasGate) {
      if (v.relu) {
        column.push(
          ...(v.mask ? vload(M, K) : get(ONE)),
          ...get(Y),
          ...v128zero,
          ...fle,
          ...andnot,
          ...set(GT),
        );
      } else {
        column.push(...vload(M, K), ...set(GT));
      }
      column.push(...add2(GATE, K), ...get(GT), ...store, ...get(Y), ...get(GT), ...fmul, ...set(Y));
    }
  } else {
    if (v.relu) column.push(...get(Y), ...get(Y), ...v128zero, ...flt, ...andnot, ...set(Y));
    if (v.mask) column.push(...get(Y), ...vload(M, K), ...fmul, ...set(Y));
  }
  column.push(...add2(OUT, K), ...get(Y), ...store);
  const row = [
    ...get(I),
    ...get(RB),
    I32_MUL,
    ...set(BASE),
    ...moments,
    ...forLoop(J, i32c(0), RB, 16, column),
  ];
  const code = [
    ...get(COLS),
    ...i32c(2),
    I32_SHL,
    ...set(RB),
    ...f32c(1),
    ...splat,
    ...set(ONE),
    ...forLoop(I, i32c(0), ROWS, 1, row),
    END,
  ];
  return [
    ...locals([
      [5, I32],
      [2, F32],
      [6, V128],
    ]),
    ...code,
  ];
}

const shuffle = (lanes: number[]) =>
  simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
const I32_AND = 0x71;
const I32_LT_U = 0x49;
const SELECT = 0x1b;

/**
 * transpose(src, dst, rows, cols): dst[j, i] = src[i, j]. 4×4 blocks transposed in registers,
 * visited 16 columns at a time down the rows, so the written lines stay in L1 (a plain strided
 * scatter of a power-of-two-row matrix thrashes a few cache sets); scalar loops for the edges.
 */
function transposeBody(): number[] {
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3];
  const [I, J, JT, JEND, RB, R4, ROWS4, C4B, S, D] = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const [A, B, C, E, T0, T1, T2, T3] = [14, 15, 16, 17, 18, 19, 20, 21];
  const rowLoad = (k: number) => [
    ...get(S),
    ...(k ? [...get(RB), ...i32c(k), I32_MUL, I32_ADD] : []),
    ...load,
  ];
  const put = (k: number, value: number[]) => [
    ...get(D),
    ...(k ? [...get(R4), ...i32c(k), I32_MUL, I32_ADD] : []),
    ...value,
    ...store,
  ];
  const block = [
    // S = src + I·RB + J; D = dst + J·rows + 4·I
    ...get(SRC),
    ...get(I),
    ...get(RB),
    I32_MUL,
    I32_ADD,
    ...get(J),
    I32_ADD,
    ...set(S),
    ...get(DST),
    ...get(J),
    ...get(ROWS),
    I32_MUL,
    I32_ADD,
    ...get(I),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...set(D),
    ...rowLoad(0),
    ...set(A),
    ...rowLoad(1),
    ...set(B),
    ...rowLoad(2),
    ...set(C),
    ...rowLoad(3),
    ...set(E),
    ...get(A),
    ...get(B),
    ...shuffle([0, 4, 1, 5]),
    ...set(T0),
    ...get(A),
    ...get(B),
    ...shuffle([2, 6, 3, 7]),
    ...set(T1),
    ...get(C),
    ...get(E),
    ...shuffle([0, 4, 1, 5]),
    ...set(T2),
    ...get(C),
    ...get(E),
    ...shuffle([2, 6, 3, 7]),
    ...set(T3),
    ...put(0, [...get(T0), ...get(T2), ...shuffle([0, 1, 4, 5])]),
    ...put(1, [...get(T0), ...get(T2), ...shuffle([2, 3, 6, 7])]),
    ...put(2, [...get(T1), ...get(T3), ...shuffle([0, 1, 4, 5])]),
    ...put(3, [...get(T1), ...get(T3), ...shuffle([2, 3, 6, 7])]),
  ];
  const scalar = [
    ...get(DST),
    ...get(J),
    ...get(ROWS),
    I32_MUL,
    I32_ADD,
    ...get(I),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...get(SRC),
    ...get(I),
    ...get(RB),
    I32_MUL,
    I32_ADD,
    ...get(J),
    I32_ADD,
    ...F32_LOAD,
    ...F32_STORE,
  ];
  const code = [
    ...get(COLS),
    ...i32c(2),
    I32_SHL,
    ...set(RB),
    ...get(ROWS),
    ...i32c(2),
    I32_SHL,
    ...set(R4),
    ...get(ROWS),
    ...i32c(-4),
    I32_AND,
    ...set(ROWS4),
    ...get(COLS),
    ...i32c(-4),
    I32_AND,
    ...i32c(2),
    I32_SHL,
    ...set(C4B),
    ...forLoop(JT, i32c(0), C4B, 64, [
      // JEND = min(JT + 64, C4B)
      ...get(JT),
      ...i32c(64),
      I32_ADD,
      ...get(C4B),
      ...get(JT),
      ...i32c(64),
      I32_ADD,
      ...get(C4B),
      I32_LT_U,
      SELECT,
      ...set(JEND),
      ...forLoop(I, i32c(0), ROWS4, 4, forLoop(J, get(JT), JEND, 16, block)),
    ]),
    ...forLoop(I, get(ROWS4), ROWS, 1, forLoop(J, i32c(0), RB, 4, scalar)),
    ...forLoop(I, i32c(0), ROWS4, 1, forLoop(J, get(C4B), RB, 4, scalar)),
    END,
  ];
  return [
    ...locals([
      [10, I32],
      [8, V128],
    ]),
    ...code,
  ];
}

/**
 * mse(pred, target, dPred, n, scale) → Σ (pred − target)² over i < n (a multiple of 4), writing
 * dPred = 2·(pred − target)·scale; f32 lanes, summed in lane order at the end.
 */
function mseBody(): number[] {
  const [P, T, D, N, SCALE] = [0, 1, 2, 3, 4];
  const [I, NB] = [5, 6];
  const [ACC, E, VS] = [7, 8, 9];
  const code = [
    ...get(N),
    ...i32c(2),
    I32_SHL,
    ...set(NB),
    ...get(SCALE),
    ...f32c(2),
    0x94, // f32.mul
    ...splat,
    ...set(VS),
    ...v128zero,
    ...set(ACC),
    ...forLoop(I, i32c(0), NB, 16, [
      ...vload(P, I),
      ...vload(T, I),
      ...fsub,
      ...set(E),
      ...add2(D, I),
      ...get(E),
      ...get(VS),
      ...fmul,
      ...store,
      ...get(ACC),
      ...get(E),
      ...get(E),
      ...fmul,
      ...fadd,
      ...set(ACC),
    ]),
    ...hsum(ACC),
    END,
  ];
  return [
    ...locals([
      [2, I32],
      [3, V128],
    ]),
    ...code,
  ];
}

/**
 * gemm(a, b, bias, out, M, K, N): out[M, N] = a[M, K] · b[K, N] (+ bias[N]), all row-major, read
 * in place: no packing of b (XNNPACK packs the weights on every call, and in training every
 * operand is new). Register tiles of 4 rows × 8 columns (8 accumulators), with 4-column and
 * 1-row edge tiles; the last N mod 4 columns as a 4-wide tile storing only those lanes (the
 * `vectorTail` variants: the caller checks that reading 12 bytes past b and bias stays inside the
 * memory) or, near the memory's end, a scalar loop. Products are summed in k order.
 */
function gemmBody(withBias: boolean, vectorTail: boolean): number[] {
  const [A, Bm, BIAS, OUT, M, K, N] = [0, 1, 2, 3, 4, 5, 6];
  const [I, J, KB, K4, N4B, NB, M4, N8B, PB, AR, OR] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  /** Row pointers of the tile's rows: AR, then three more locals. */
  const ROW = (r: number) => (r ? 17 + r : AR);
  const SUM = 21;
  const ACC = (r: number, v: number) => 22 + r * 2 + v;
  const [B0, B1, AV] = [30, 31, 32];
  const REM = 33;
  /** One register tile of `mr` rows × `nv` vectors at row I, column byte offset J. */
  const tile = (mr: number, nv: number, partial = 0): number[] => {
    const code: number[] = [];
    for (let r = 0; r < mr; r++)
      for (let v = 0; v < nv; v++)
        code.push(
          ...(withBias
            ? [...get(BIAS), ...get(J), I32_ADD, ...(v ? [...i32c(16), I32_ADD] : []), ...load]
            : v128zero),
          ...set(ACC(r, v)),
        );
    // AR = a + I·K4 (row I), PB = b + J
    code.push(
      ...get(A),
      ...get(I),
      ...get(K4),
      I32_MUL,
      I32_ADD,
      ...set(AR),
      ...get(Bm),
      ...get(J),
      I32_ADD,
      ...set(PB),
    );
    for (let r = 1; r < mr; r++) code.push(...get(ROW(r - 1)), ...get(K4), I32_ADD, ...set(ROW(r)));
    const body: number[] = [];
    for (let v = 0; v < nv; v++)
      body.push(...get(PB), ...(v ? [...i32c(16), I32_ADD] : []), ...load, ...set(v ? B1 : B0));
    // a's value with v128.load32_splat: one load instead of a scalar load and a shuffle (the
    // loop is bound by instruction count more than by arithmetic: ~18 % faster products).
    for (let r = 0; r < mr; r++) {
      body.push(...get(ROW(r)), ...get(KB), I32_ADD);
      body.push(...loadSplat, ...set(AV));
      for (let v = 0; v < nv; v++)
        body.push(...get(ACC(r, v)), ...get(AV), ...get(v ? B1 : B0), ...fmul, ...fadd, ...set(ACC(r, v)));
    }
    body.push(...get(PB), ...get(NB), I32_ADD, ...set(PB));
    code.push(...forLoop(KB, i32c(0), K4, 4, body));
    // OR = out + I·NB + J
    code.push(...get(OUT), ...get(I), ...get(NB), I32_MUL, I32_ADD, ...get(J), I32_ADD, ...set(OR));
    for (let r = 0; r < mr; r++)
      for (let v = 0; v < nv; v++) {
        const at = [
          ...get(OR),
          ...(r ? [...get(NB), ...i32c(r), I32_MUL, I32_ADD] : []),
          ...(v ? [...i32c(16), I32_ADD] : []),
        ];
        // A partial tile (the last N mod 4 columns) stores only its first `partial` lanes.
        if (partial === 0) code.push(...at, ...get(ACC(r, v)), ...store);
        if (partial & 2) code.push(...at, ...get(ACC(r, v)), ...simd(0x5b, 2, 0, 0)); // store64_lane 0
        if (partial & 1)
          code.push(...at, ...get(ACC(r, v)), ...simd(0x5a, 2, partial & 2 ? 8 : 0, partial & 2 ? 2 : 0)); // store32_lane
      }
    return code;
  };
  /** Tiles of `mr` rows across all columns: 8-wide, then one 4-wide if N mod 8 ≥ 4. */
  const rowBlock = (mr: number) => [
    ...forLoop(J, i32c(0), N8B, 32, tile(mr, 2)),
    ...get(N8B),
    ...get(N4B),
    I32_LT_U,
    0x04,
    0x40, // if
    ...get(N8B),
    ...set(J),
    ...tile(mr, 1),
    END,
    // The last N mod 4 columns as a 4-wide tile when the caller allows reading 12 bytes past b's
    // and bias's ends (lanes past N are computed from whatever lies there, and not stored).
    ...(vectorTail
      ? [
          ...get(N4B),
          ...set(J),
          ...get(N),
          ...i32c(3),
          I32_AND,
          ...set(REM),
          ...[1, 2, 3].flatMap((rem) => [
            ...get(REM),
            ...i32c(rem),
            0x46, // i32.eq
            0x04,
            0x40, // if
            ...tile(mr, 1, rem),
            END,
          ]),
        ]
      : []),
  ];
  // Scalar columns N4..N: out[i, j] = bias[j] + Σ_k a[i, k]·b[k, j].
  const scalarCol = [
    ...(withBias ? [...get(BIAS), ...get(J), I32_ADD, ...F32_LOAD] : f32c(0)),
    ...set(SUM),
    ...get(Bm),
    ...get(J),
    I32_ADD,
    ...set(PB),
    ...get(A),
    ...get(I),
    ...get(K4),
    I32_MUL,
    I32_ADD,
    ...set(AR),
    ...forLoop(KB, i32c(0), K4, 4, [
      ...get(SUM),
      ...get(AR),
      ...get(KB),
      I32_ADD,
      ...F32_LOAD,
      ...get(PB),
      ...F32_LOAD,
      0x94, // f32.mul
      F32_ADD,
      ...set(SUM),
      ...get(PB),
      ...get(NB),
      I32_ADD,
      ...set(PB),
    ]),
    ...get(OUT),
    ...get(I),
    ...get(NB),
    I32_MUL,
    I32_ADD,
    ...get(J),
    I32_ADD,
    ...get(SUM),
    ...F32_STORE,
  ];
  const code = [
    ...get(K),
    ...i32c(2),
    I32_SHL,
    ...set(K4),
    ...get(N),
    ...i32c(2),
    I32_SHL,
    ...set(NB),
    ...get(N),
    ...i32c(-4),
    I32_AND,
    ...i32c(2),
    I32_SHL,
    ...set(N4B),
    ...get(N),
    ...i32c(-8),
    I32_AND,
    ...i32c(2),
    I32_SHL,
    ...set(N8B),
    ...get(M),
    ...i32c(-4),
    I32_AND,
    ...set(M4),
    ...forLoop(I, i32c(0), M4, 4, rowBlock(4)),
    ...forLoop(I, get(M4), M, 1, rowBlock(1)),
    ...(vectorTail ? [] : forLoop(I, i32c(0), M, 1, forLoop(J, get(N4B), NB, 4, scalarCol))),
    END,
  ];
  return [
    ...locals([
      [14, I32],
      [1, F32],
      [11, V128],
      [1, I32],
    ]),
    ...code,
  ];
}

/**
 * Block backward, per (norm, gate) variant: dz from dA (× gate; through the LayerNorm:
 * rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ) and the column sums db, dγ, dβ.
 */
function blockBackwardBody(norm: boolean, gate: boolean): number[] {
  const [DA, GATE, XHAT, RSTD, GAMMA, DZ, DB, DG, DBE, ROWS, COLS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [I, J, RB, BASE, K] = [11, 12, 13, 14, 15];
  const [ACC1, ACC2, DY, X, VM1, VM2, VR, D] = [16, 17, 18, 19, 20, 21, 22, 23];
  const accumulate = (ptr: number, value: number[]) => [
    ...add2(ptr, J),
    ...vload(ptr, J),
    ...value,
    ...fadd,
    ...store,
  ];
  const dy = [...vload(DA, K), ...(gate ? [...vload(GATE, K), ...fmul] : [])];
  const zero = [
    ...add2(DB, J),
    ...v128zero,
    ...store,
    ...(norm ? [...add2(DG, J), ...v128zero, ...store, ...add2(DBE, J), ...v128zero, ...store] : []),
  ];
  const meanOf = (acc: number) => [...hsum(acc), ...get(COLS), F32_CONVERT_I32_U, F32_DIV, ...splat];
  const row = norm
    ? [
        ...v128zero,
        ...set(ACC1),
        ...v128zero,
        ...set(ACC2),
        ...forLoop(J, i32c(0), RB, 16, [
          ...add2(BASE, J),
          ...set(K),
          ...dy,
          ...set(DY),
          ...vload(XHAT, K),
          ...set(X),
          ...accumulate(DBE, get(DY)),
          ...accumulate(DG, [...get(DY), ...get(X), ...fmul]),
          ...get(DY),
          ...vload(GAMMA, J),
          ...fmul,
          ...set(DY),
          ...add2(DZ, K),
          ...get(DY),
          ...store,
          ...get(ACC1),
          ...get(DY),
          ...fadd,
          ...set(ACC1),
          ...get(ACC2),
          ...get(DY),
          ...get(X),
          ...fmul,
          ...fadd,
          ...set(ACC2),
        ]),
        ...meanOf(ACC1),
        ...set(VM1),
        ...meanOf(ACC2),
        ...set(VM2),
        ...get(RSTD),
        ...get(I),
        ...i32c(2),
        I32_SHL,
        I32_ADD,
        ...F32_LOAD,
        ...splat,
        ...set(VR),
        ...forLoop(J, i32c(0), RB, 16, [
          ...add2(BASE, J),
          ...set(K),
          ...get(VR),
          ...vload(DZ, K),
          ...get(VM1),
          ...fsub,
          ...vload(XHAT, K),
          ...get(VM2),
          ...fmul,
          ...fsub,
          ...fmul,
          ...set(D),
          ...add2(DZ, K),
          ...get(D),
          ...store,
          ...accumulate(DB, get(D)),
        ]),
      ]
    : [
        ...forLoop(J, i32c(0), RB, 16, [
          ...add2(BASE, J),
          ...set(K),
          ...dy,
          ...set(D),
          ...add2(DZ, K),
          ...get(D),
          ...store,
          ...accumulate(DB, get(D)),
        ]),
      ];
  const code = [
    ...get(COLS),
    ...i32c(2),
    I32_SHL,
    ...set(RB),
    ...forLoop(J, i32c(0), RB, 16, zero),
    ...forLoop(I, i32c(0), ROWS, 1, [...get(I), ...get(RB), I32_MUL, ...set(BASE), ...row]),
    END,
  ];
  return [
    ...locals([
      [5, I32],
      [8, V128],
    ]),
    ...code,
  ];
}

/** Flags of a block-forward variant (each variant is its own specialised function). */
export interface BlockForwardVariant {
  norm: boolean;
  relu: boolean;
  mask: boolean;
  /** Write the gate, x̂ and rstd the backward pass needs (training); false: inference. */
  keep: boolean;
}

const forwardName = (v: BlockForwardVariant) => `fwd${+v.norm}${+v.relu}${+v.mask}${+v.keep}`;
const backwardName = (norm: boolean, gate: boolean) => `bwd${+norm}${+gate}`;

const FORWARD_VARIANTS: BlockForwardVariant[] = [];
for (let bits = 0; bits < 16; bits++) {
  FORWARD_VARIANTS.push({
    norm: (bits & 1) !== 0,
    relu: (bits & 2) !== 0,
    mask: (bits & 4) !== 0,
    keep: (bits & 8) !== 0,
  });
}

interface FunctionDef {
  name: string;
  params: number[];
  results: number[];
  body: number[];
}

function moduleBytes(): Uint8Array {
  const fns: FunctionDef[] = [
    { name: 'adam', params: [...Array(8).fill(I32), ...Array(10).fill(F32)], results: [], body: adamBody() },
    { name: 'sumsq', params: [I32, I32], results: [F32], body: sumsqBody() },
    { name: 'transpose', params: [I32, I32, I32, I32], results: [], body: transposeBody() },
    { name: 'gemm', params: Array(7).fill(I32), results: [], body: gemmBody(false, false) },
    { name: 'mse', params: [I32, I32, I32, I32, F32], results: [F32], body: mseBody() },
    { name: 'gemmBias', params: Array(7).fill(I32), results: [], body: gemmBody(true, false) },
    { name: 'gemmTail', params: Array(7).fill(I32), results: [], body: gemmBody(false, true) },
    { name: 'gemmBiasTail', params: Array(7).fill(I32), results: [], body: gemmBody(true, true) },
    ...FORWARD_VARIANTS.map((v) => ({
      name: forwardName(v),
      params: [...Array(10).fill(I32), F32],
      results: [],
      body: blockForwardBody(v),
    })),
    ...[false, true].flatMap((norm) =>
      [false, true].map((gate) => ({
        name: backwardName(norm, gate),
        params: Array(11).fill(I32),
        results: [],
        body: blockBackwardBody(norm, gate),
      })),
    ),
  ];
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(fns.map((_, i) => leb(i)))),
    ...section(7, vec(fns.map((f, i) => [...str(f.name), 0x00, ...leb(i)]))),
    ...section(10, vec(fns.map((f) => [...leb(f.body.length), ...f.body]))),
  ]);
}

type BlockForwardFn = (
  z: number,
  gamma: number,
  beta: number,
  mask: number,
  out: number,
  gate: number,
  xhat: number,
  rstd: number,
  rows: number,
  cols: number,
  eps: number,
) => void;
type BlockBackwardFn = (
  dA: number,
  gate: number,
  xhat: number,
  rstd: number,
  gamma: number,
  dz: number,
  db: number,
  dGamma: number,
  dBeta: number,
  rows: number,
  cols: number,
) => void;

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
  /** out[M, N] = a[M, K]·b[K, N] (+ bias[N] when bias ≠ 0), row-major, heap byte offsets. */
  gemm(a: number, b: number, bias: number, out: number, m: number, k: number, n: number): void;
  /** Σ (pred − target)² over n values (a multiple of 4), writing dPred = 2·(pred − target)·scale. */
  mse(pred: number, target: number, dPred: number, n: number, scale: number): number;
  /** dst[j, i] = src[i, j] for a rows × cols src (heap byte offsets). */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /**
   * Dense block after the matrix product, for `cols` a multiple of 4 (heap byte offsets; 0 for
   * an absent operand): (LayerNorm) → (ReLU) → (mask).
   */
  blockForward(v: BlockForwardVariant): BlockForwardFn;
  /** Its backward pass with the column sums (db, dγ, dβ), for `cols` a multiple of 4. */
  blockBackward(norm: boolean, gate: boolean): BlockBackwardFn;
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
      const ex = instance.exports as Record<string, (...args: number[]) => number>;
      k = {
        adam: ex.adam as SimdKernels['adam'],
        sumsq: ex.sumsq as SimdKernels['sumsq'],
        transpose: ex.transpose as SimdKernels['transpose'],
        mse: ex.mse as SimdKernels['mse'],
        gemm: (a, b, bias, out, m, k, n) => {
          // The vector tail reads up to 12 bytes past b's and bias's ends: only inside the memory.
          const end = (memory as { buffer: ArrayBuffer }).buffer.byteLength - 12;
          const tail = n % 4 !== 0 && b + 4 * k * n <= end && bias + 4 * n <= end;
          const f = tail ? (bias ? ex.gemmBiasTail! : ex.gemmTail!) : bias ? ex.gemmBias! : ex.gemm!;
          f(a, b, bias, out, m, k, n);
        },
        blockForward: (v) => ex[forwardName(v)] as BlockForwardFn,
        blockBackward: (norm, gate) => ex[backwardName(norm, gate)] as BlockBackwardFn,
      };
    }
  } catch {
    k = null;
  }
  instances.set(memory, k);
  return k;
}
