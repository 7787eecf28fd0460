import {
  type Code,
  f32x4,
  f64,
  f64x2,
  i32,
  type Local,
  local,
  type MemorySpec,
  v128,
  whileBelow,
} from '@anomalia/wasm-kit';

/**
 * The register tile every dot-product kernel shares: four A rows against two B rows, 16 bytes
 * (two f64 or four f32 lanes) at a time, eight accumulators (acc[2r + c] for A row r, B row c).
 */
export interface Tile4x2 {
  /** Byte addresses of the four A rows and the two B rows. */
  aRows: readonly [Local, Local, Local, Local];
  bRows: readonly [Local, Local];
  /** Byte offset along the rows. */
  k: Local;
  rowBytes: Local;
  /** The loaded A and B vectors. */
  x: Local;
  y: readonly [Local, Local];
  acc: readonly Local[];
  /** Lane type of the products (float32 lanes hold four partial sums instead of two). */
  lanes?: 'f64' | 'f32';
}

/** f64x2 zeros. */
export const zeroF64x2: Code = [f64.const(0), f64x2.splat];

/** Zeroes the accumulators, then sums A-row · B-row products over the rows 16 bytes at a time. */
export function tile4x2Products(t: Tile4x2): Code {
  const f32 = t.lanes === 'f32';
  const mulAdd = (acc: Local, y: Local): Code => [
    local.get(acc),
    local.get(t.x),
    local.get(y),
    f32 ? f32x4.mul : f64x2.mul,
    f32 ? f32x4.add : f64x2.add,
    local.set(acc),
  ];
  const [y0, y1] = t.y;
  const load = (row: Local, into: Local): Code => [
    local.get(row),
    local.get(t.k),
    i32.add,
    v128.load(),
    local.set(into),
  ];
  return [
    t.acc.map((v) => [zeroF64x2, local.set(v)]),
    i32.const(0),
    local.set(t.k),
    whileBelow(
      t.k,
      t.rowBytes,
      load(t.bRows[0], y0),
      load(t.bRows[1], y1),
      t.aRows.map((row, r) => [load(row, t.x), mulAdd(t.acc[2 * r]!, y0), mulAdd(t.acc[2 * r + 1]!, y1)]),
      local.get(t.k),
      i32.const(16),
      i32.add,
      local.set(t.k),
    ),
  ];
}

/** Stores the tile's sums (each accumulator's two f64 lanes added) at out + r·nb + 8c. */
export function storeTile4x2(acc: readonly Local[], out: Local, nb: Local): Code {
  return acc.map((v, index) => {
    const row = index >> 1;
    return [
      local.get(out),
      row ? [local.get(nb), i32.const(row), i32.mul, i32.add] : [],
      local.get(v),
      f64x2.extract_lane(0),
      local.get(v),
      f64x2.extract_lane(1),
      f64.add,
      f64.store({ offset: (index & 1) * 8 }),
    ];
  });
}

/** The memory both modules import: one per kernel instance, created by simd-dots.ts. */
export const KERNEL_MEMORY = {
  import: { module: 'env', name: 'memory' },
  minPages: 1,
} as const satisfies MemorySpec;
