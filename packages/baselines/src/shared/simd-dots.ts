import { compileModule, wasmModule } from '@anomalia/wasm-kit';
import { dots1x4, dots4x2, dotsIndexed4x2 } from './wasm/dots';
import { screenIndexed4x2, screenIndexed4x2f32 } from './wasm/screen';

/*
 * Dot products of rows with WebAssembly SIMD (f64x2): about twice the throughput of the best
 * scalar JavaScript. Rows live in the module's memory, padded with zeros to an even number of
 * columns. Products are summed in two lanes (even and odd columns) and then added, so results
 * can differ from a sequential sum in the last bits: callers use them to screen candidates
 * and recompute what matters exactly.
 */

const kernelModule = wasmModule({
  name: '@anomalia/baselines distance kernels',
  memory: { export: 'memory', pages: 1 },
  functions: [dots4x2, dots1x4, dotsIndexed4x2, screenIndexed4x2, screenIndexed4x2f32],
  localGrouping: 'single',
});

type KernelExports = NonNullable<(typeof kernelModule)['exportsType']>;

let disabled = false;

/**
 * Whether the SIMD kernels are used: not disabled, not turned off with ANOMALIA_WASM=off, and
 * WebAssembly present (a module the engine rejects throws instead of falling back).
 */
export function simdAvailable(): boolean {
  return !disabled && compileModule(kernelModule) !== null;
}

/** Turns the SIMD kernels off or back on (to exercise the JavaScript fallbacks in tests). */
export function setSimdEnabled(enabled: boolean): void {
  disabled = !enabled;
}

const pool: SimdKernels[] = [];

/**
 * An instance of the kernels for one computation, reusing a released one when there is: its
 * memory pages have been touched already, and touching fresh pages is costly (on some virtual
 * machines about as costly as the arithmetic). Pair with `releaseKernels` once done.
 */
export function acquireKernels(): SimdKernels {
  return pool.pop() ?? new SimdKernels();
}

/** Returns an instance to the pool; it must not be used afterwards. Keeps at most two. */
export function releaseKernels(k: SimdKernels | null): void {
  if (k && pool.length < 2 && !pool.includes(k)) pool.push(k);
}

/**
 * One instance of the kernels with its own memory, laid out as named regions. Addresses are
 * byte offsets in that memory; views are refreshed when it grows.
 */
export class SimdKernels {
  private readonly exports: KernelExports;
  private offsets: Record<string, number> = {};
  private sizes: Record<string, number> = {};

  constructor() {
    const module = compileModule(kernelModule);
    if (!module) throw new Error('WebAssembly SIMD kernels are off (ANOMALIA_WASM=off) or unavailable');
    this.exports = module.instantiate();
  }

  /**
   * Reserves regions of the given sizes in bytes (each 16-byte aligned), all zeros: the kernels
   * rely on zero padding, and a pooled instance holds a previous computation's values.
   */
  layout(regions: Record<string, number>): void {
    let offset = 0;
    this.offsets = {};
    this.sizes = {};
    for (const [name, bytes] of Object.entries(regions)) {
      this.offsets[name] = offset;
      this.sizes[name] = bytes;
      offset += Math.ceil(bytes / 16) * 16;
    }
    const pages = Math.ceil(offset / 65536);
    const have = this.exports.memory.buffer.byteLength / 65536;
    if (pages > have) this.exports.memory.grow(pages - have);
    new Uint8Array(this.exports.memory.buffer, 0, offset).fill(0);
  }

  address(name: string): number {
    return this.offsets[name]!;
  }

  f64(name: string): Float64Array {
    return new Float64Array(
      this.exports.memory.buffer,
      this.offsets[name],
      Math.floor(this.sizes[name]! / 8),
    );
  }

  f32(name: string): Float32Array {
    return new Float32Array(
      this.exports.memory.buffer,
      this.offsets[name],
      Math.floor(this.sizes[name]! / 4),
    );
  }

  i32(name: string): Int32Array {
    return new Int32Array(this.exports.memory.buffer, this.offsets[name], Math.floor(this.sizes[name]! / 4));
  }

  /** out[a·n + b] = A[a] · B[b] for contiguous rows; m a multiple of 4, n a multiple of 2. */
  dots4x2(A: number, m: number, B: number, n: number, rowBytes: number, out: number): void {
    this.exports.dots4x2(A, m, B, n, rowBytes, out);
  }

  /** out[b] = X · B[b] for contiguous rows; n a multiple of 4. */
  dots1x4(X: number, B: number, n: number, rowBytes: number, out: number): void {
    this.exports.dots1x4(X, B, n, rowBytes, out);
  }

  /** See screenIndexed4x2: writes candidate pairs (ia << 16 | ib) at `hits`, returns their count. */
  screenIndexed4x2(
    aList: number,
    aSq: number,
    aLim: number,
    m: number,
    bList: number,
    bSq: number,
    bLim: number,
    n: number,
    rowBytes: number,
    shrink: number,
    hits: number,
  ): number {
    return this.exports.screenIndexed4x2(aList, aSq, aLim, m, bList, bSq, bLim, n, rowBytes, shrink, hits);
  }

  /** As screenIndexed4x2 on float32 rows (four lanes: twice the throughput); `shrink` must cover float32 rounding. */
  screenIndexed4x2f32(
    aList: number,
    aSq: number,
    aLim: number,
    m: number,
    bList: number,
    bSq: number,
    bLim: number,
    n: number,
    rowBytes: number,
    shrink: number,
    hits: number,
  ): number {
    return this.exports.screenIndexed4x2f32(aList, aSq, aLim, m, bList, bSq, bLim, n, rowBytes, shrink, hits);
  }

  /** As dots4x2, with rows given by lists of byte addresses. */
  dotsIndexed4x2(aList: number, m: number, bList: number, n: number, rowBytes: number, out: number): void {
    this.exports.dotsIndexed4x2(aList, m, bList, n, rowBytes, out);
  }
}
