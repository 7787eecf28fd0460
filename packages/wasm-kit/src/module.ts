import type { JsFunction, WasmFunction } from './function';
import { uleb128 } from './leb128';
import { VALTYPE_CODE, type WasmMemory } from './types';

/**
 * A module: its functions (each exported under its name) and one linear memory, either imported
 * (the module works on a memory it is given, e.g. TensorFlow.js's wasm heap) or its own and
 * exported. Bytes are encoded once, on first use.
 */

export type MemorySpec =
  | { readonly import: { readonly module: string; readonly name: string }; readonly minPages: number }
  | { readonly export: string; readonly pages: number };

type MemoryExports<M extends MemorySpec> = M extends { readonly export: infer K extends string }
  ? { readonly [k in K]: WasmMemory }
  : unknown;

/** The typed exports of a module with these functions and this memory. */
export type ExportsOf<Fs extends readonly WasmFunction[], M extends MemorySpec> = {
  readonly [F in Fs[number] as F['name']]: JsFunction<F>;
} & MemoryExports<M>;

export interface WasmModule<E = unknown> {
  /** Names the module in errors and warnings, e.g. `@anomalia/neural gemm`. */
  readonly name: string;
  readonly memory: MemorySpec;
  /** The functions' names, in index order (engines name a failing function by its index). */
  readonly functionNames: readonly string[];
  /** The binary module (encoded on first call, then cached). */
  bytes(): Uint8Array;
  /** Type-level only: the exports' JS types. */
  readonly exportsType?: E;
}

/** The exports' JS types of a module. */
export type ModuleExports<M> = M extends WasmModule<infer E> ? E : never;

export interface ModuleSpec<Fs extends readonly WasmFunction[], M extends MemorySpec> {
  name: string;
  memory: M;
  functions: Fs;
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION = { type: 1, import: 2, function: 3, memory: 5, export: 7, code: 10 } as const;
const EXTERNAL_KIND = { func: 0x00, memory: 0x02 } as const;
const FUNC_TYPE = 0x60;
const LIMITS_MIN_ONLY = 0x00;

const name = (s: string): number[] => {
  const utf8 = new TextEncoder().encode(s);
  return [...uleb128(utf8.length), ...utf8];
};
const vec = (items: readonly number[][]): number[] => [...uleb128(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb128(body.length), ...body];

export function wasmModule<const Fs extends readonly WasmFunction[], const M extends MemorySpec>(
  spec: ModuleSpec<Fs, M>,
): WasmModule<ExportsOf<Fs, M>> {
  const exported = new Set<string>();
  const memoryExport = 'export' in spec.memory ? spec.memory.export : undefined;
  for (const f of [...(memoryExport ? [{ name: memoryExport }] : []), ...spec.functions]) {
    if (exported.has(f.name)) throw new TypeError(`${spec.name}: two exports named "${f.name}"`);
    exported.add(f.name);
  }
  let cached: Uint8Array | undefined;
  return {
    name: spec.name,
    memory: spec.memory,
    functionNames: spec.functions.map((f) => f.name),
    bytes() {
      cached ??= encode(spec);
      return cached;
    },
  };
}

function encode(spec: ModuleSpec<readonly WasmFunction[], MemorySpec>): Uint8Array {
  const fns = spec.functions;
  for (const f of fns) {
    if ([...f.paramTypes(), ...f.results].includes('v128')) {
      throw new TypeError(`${spec.name}: ${f.name} is exported, so it cannot take or return a v128`);
    }
  }
  // One type per function, in function order (a type section without sharing: simple and small enough).
  const types = fns.map((f) => [
    FUNC_TYPE,
    ...vec(f.paramTypes().map((t) => [VALTYPE_CODE[t]])),
    ...vec(f.results.map((t) => [VALTYPE_CODE[t]])),
  ]);
  const memory = spec.memory;
  const exports = fns.map((f, i) => [...name(f.name), EXTERNAL_KIND.func, ...uleb128(i)]);
  const bytes = [
    ...MAGIC_AND_VERSION,
    ...section(SECTION.type, vec(types)),
    ...('import' in memory
      ? section(
          SECTION.import,
          vec([
            [
              ...name(memory.import.module),
              ...name(memory.import.name),
              EXTERNAL_KIND.memory,
              LIMITS_MIN_ONLY,
              ...uleb128(memory.minPages),
            ],
          ]),
        )
      : []),
    ...section(SECTION.function, vec(fns.map((_, i) => uleb128(i)))),
    ...('pages' in memory ? section(SECTION.memory, vec([[LIMITS_MIN_ONLY, ...uleb128(memory.pages)]])) : []),
    ...section(
      SECTION.export,
      vec('export' in memory ? [[...name(memory.export), EXTERNAL_KIND.memory, 0], ...exports] : exports),
    ),
    ...section(SECTION.code, vec(fns.map((f) => f.encodeBody()))),
  ];
  return Uint8Array.from(bytes);
}
