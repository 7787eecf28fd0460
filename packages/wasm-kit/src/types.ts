/** The WebAssembly value types and how they cross into JavaScript. */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

/** Binary codes of the value types. */
export const VALTYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

export const VALTYPES = Object.keys(VALTYPE_CODE) as readonly ValType[];

/** The JavaScript type of a value crossing the boundary (a v128 cannot: calling such a function throws). */
export type JsValue<T extends ValType> = T extends 'i64' ? bigint : T extends 'v128' ? never : number;

/** A WebAssembly.Memory, as far as the kernels use it (the project's TS libs have no DOM types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
