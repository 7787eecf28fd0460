import {
  type CompiledModule,
  compileModule,
  createMemory,
  type ModuleExports,
  type WasmMemory,
} from '@anomalia/wasm-kit';
import { dotsModule } from './wasm/dots';
import { screenModule } from './wasm/screen';

/*
 * Dot products of rows with WebAssembly SIMD (f64x2): about twice the throughput of the best
 * scalar JavaScript. Rows live in the module's memory, padded with zeros to an even number of
 * columns. Products are summed in two lanes (even and odd columns) and then added, so results
 * can differ from a sequential sum in the last bits: callers use them to screen candidates
 * and recompute what matters exactly.
 */

/** Every WebAssembly module of the package (their SHA-256 is pinned in wasm/modules.test.ts). */
export const WASM_MODULES = [dotsModule, screenModule] as const;

type Dots = CompiledModule<ModuleExports<typeof dotsModule>>;
type Screen = CompiledModule<ModuleExports<typeof screenModule>>;

let compiled: { dots: Dots; screen: Screen } | null | undefined;

/**
 * The compiled modules, or null when the JavaScript path is to run (ANOMALIA_WASM=off, or no
 * WebAssembly: warned once). A module the engine rejects throws (WasmModuleError).
 */
function kernelModules(): { dots: Dots; screen: Screen } | null {
  if (compiled === undefined) {
    const dots = compileModule(dotsModule);
    const screen = compileModule(screenModule);
    compiled = dots && screen ? { dots, screen } : null;
  }
  return compiled;
}

let disabled = false;

/**
 * Whether the SIMD kernels are used: not disabled, not turned off with ANOMALIA_WASM=off, and
 * WebAssembly present (a module the engine rejects throws instead of falling back).
 */
export function simdAvailable(): boolean {
  return !disabled && kernelModules() !== null;
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
  private readonly memory: WasmMemory;
  private readonly dots: ModuleExports<typeof dotsModule>;
  private readonly screen: ModuleExports<typeof screenModule>;
  private offsets: Record<string, number> = {};
  private sizes: Record<string, number> = {};

  constructor() {
    const modules = kernelModules();
    if (!modules) throw new Error('WebAssembly SIMD kernels are off (ANOMALIA_WASM=off) or unavailable');
    // One memory shared by both modules: the screen reads the rows the dot products read.
    this.memory = createMemory(1);
    const imports = { env: { memory: this.memory } };
    this.dots = modules.dots.instantiate(imports);
    this.screen = modules.screen.instantiate(imports);
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
    const have = this.memory.buffer.byteLength / 65536;
    if (pages > have) this.memory.grow(pages - have);
    new Uint8Array(this.memory.buffer, 0, offset).fill(0);
  }

  address(name: string): number {
    return this.offsets[name]!;
  }

  f64(name: string): Float64Array {
    return new Float64Array(this.memory.buffer, this.offsets[name], Math.floor(this.sizes[name]! / 8));
  }

  f32(name: string): Float32Array {
    return new Float32Array(this.memory.buffer, this.offsets[name], Math.floor(this.sizes[name]! / 4));
  }

  i32(name: string): Int32Array {
    return new Int32Array(this.memory.buffer, this.offsets[name], Math.floor(this.sizes[name]! / 4));
  }

  /** out[a·n + b] = A[a] · B[b] for contiguous rows; m a multiple of 4, n a multiple of 2. */
  dots4x2(A: number, m: number, B: number, n: number, rowBytes: number, out: number): void {
    this.dots.dots4x2(A, m, B, n, rowBytes, out);
  }

  /** out[b] = X · B[b] for contiguous rows; n a multiple of 4. */
  dots1x4(X: number, B: number, n: number, rowBytes: number, out: number): void {
    this.dots.dots1x4(X, B, n, rowBytes, out);
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
    return this.screen.screenIndexed4x2(aList, aSq, aLim, m, bList, bSq, bLim, n, rowBytes, shrink, hits);
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
    return this.screen.screenIndexed4x2f32(aList, aSq, aLim, m, bList, bSq, bLim, n, rowBytes, shrink, hits);
  }

  /** As dots4x2, with rows given by lists of byte addresses. */
  dotsIndexed4x2(aList: number, m: number, bList: number, n: number, rowBytes: number, out: number): void {
    this.dots.dotsIndexed4x2(aList, m, bList, n, rowBytes, out);
  }
}
