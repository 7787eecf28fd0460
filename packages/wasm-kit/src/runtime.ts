import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import type { ModuleExports, WasmModule } from './module';
import type { WasmMemory } from './types';

/**
 * Compiling and instantiating modules, with one policy for every package that bundles the kit:
 * - `ANOMALIA_WASM=off` runs the JavaScript path, explicitly (any value but `on`/`off` is an error);
 * - an engine without WebAssembly (e.g. `node --jitless`) runs the JavaScript path after one
 *   warning per module (`process.emitWarning`, code ANOMALIA_WASM_UNAVAILABLE);
 * - a module the engine rejects (encoding, validation, compilation or instantiation) throws a
 *   WasmModuleError naming it: a broken kernel is a bug to fix, never a silent fallback.
 */

/** The environment variable that turns the WebAssembly kernels off (`off`) or on (`on`, the default). */
export const WASM_ENV = 'ANOMALIA_WASM';

const WasmSetting = z.enum(['on', 'off']);

/** Whether ANOMALIA_WASM allows WebAssembly kernels (a ValidationError for any other value). */
export function wasmEnabled(): boolean {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[
    WASM_ENV
  ];
  if (value === undefined || value === '') return true;
  return parseWith(WasmSetting, value, WASM_ENV) === 'on';
}

/** A module the engine rejected (or that could not be encoded or instantiated). */
export class WasmModuleError extends Error {
  override readonly name = 'WasmModuleError';
  constructor(
    /** The module's name, e.g. `@anomalia/neural gemm`. */
    readonly module: string,
    /** What failed: `encode`, `compile` or `instantiate`. */
    readonly stage: 'encode' | 'compile' | 'instantiate',
    override readonly cause: unknown,
    functionNames: readonly string[] = [],
  ) {
    const reason = (cause as Error)?.message ?? String(cause);
    // Engines name a function by its index ("function #3"): say which one that is.
    const index = /function #(\d+)/.exec(reason)?.[1];
    const named =
      index !== undefined && functionNames[+index] ? ` (function #${index} is ${functionNames[+index]})` : '';
    super(
      `WebAssembly module "${module}" failed to ${stage}: ${reason}${named}. ` +
        `This is a bug in the kernel's definition; ${WASM_ENV}=off runs the JavaScript path meanwhile.`,
    );
  }
}

/** The part of the WebAssembly API used here (the project's TS libs have no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}

const wasmApi = (): WasmApi | undefined => (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

export interface CompiledModule<E> {
  readonly name: string;
  /** A new instance (its own state and, unless imported, its own memory). */
  instantiate(imports?: object): E;
}

type Compiled = { module: CompiledModule<unknown> | null } | { error: Error };
const compiled = new WeakMap<WasmModule<unknown>, Compiled>();
const warned = new Set<string>();

function warnOnce(module: string, reason: string): void {
  if (warned.has(module)) return;
  warned.add(module);
  const message = `${module}: ${reason}; its JavaScript path runs instead (${WASM_ENV}=off says so explicitly and silences this warning).`;
  const proc = (globalThis as { process?: { emitWarning?(m: string, o: { code: string }): void } }).process;
  if (proc?.emitWarning) proc.emitWarning(message, { code: 'ANOMALIA_WASM_UNAVAILABLE' });
  else console.warn(message);
}

function compile<E>(mod: WasmModule<E>): Compiled {
  if (!wasmEnabled()) return { module: null };
  const api = wasmApi();
  if (!api) {
    warnOnce(mod.name, 'WebAssembly is not available in this engine');
    return { module: null };
  }
  let bytes: Uint8Array;
  try {
    bytes = mod.bytes();
  } catch (e) {
    return { error: new WasmModuleError(mod.name, 'encode', e) };
  }
  let module: object;
  try {
    // Validates as it compiles; its CompileError names the function and the offending instruction.
    module = new api.Module(bytes);
  } catch (e) {
    return { error: new WasmModuleError(mod.name, 'compile', e, mod.functionNames) };
  }
  return {
    module: {
      name: mod.name,
      instantiate(imports) {
        try {
          return new api.Instance(module, imports).exports as E;
        } catch (e) {
          throw new WasmModuleError(mod.name, 'instantiate', e);
        }
      },
    },
  };
}

/**
 * The compiled module, or null when the JavaScript path is to run (ANOMALIA_WASM=off, or no
 * WebAssembly in this engine: warned once). Throws a WasmModuleError when the engine rejects it.
 * Compiled once per module and process; ANOMALIA_WASM is read at that first call.
 */
export function compileModule<M extends WasmModule<unknown>>(
  mod: M,
): CompiledModule<ModuleExports<M>> | null {
  let entry = compiled.get(mod);
  if (!entry) {
    entry = compile(mod);
    compiled.set(mod, entry);
  }
  if ('error' in entry) throw entry.error;
  return entry.module as CompiledModule<ModuleExports<M>> | null;
}

/** A new WebAssembly.Memory of `pages` 64 KiB pages, for modules that import their memory. */
export function createMemory(pages: number): WasmMemory {
  const api = wasmApi();
  if (!api) throw new Error('createMemory: WebAssembly is not available in this engine');
  return new api.Memory({ initial: pages });
}
