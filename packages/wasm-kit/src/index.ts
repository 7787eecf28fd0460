export { block, type Code, flatten, forLoop, if_, ifElse, loop, whileBelow } from './control';
export {
  type Body,
  type FunctionBuilder,
  func,
  type JsFunction,
  type Param,
  type ParamLocals,
  type WasmFunction,
} from './function';
export { sleb128, uleb128 } from './leb128';
export { Local } from './local';
export {
  type ExportsOf,
  type MemorySpec,
  type ModuleExports,
  type ModuleSpec,
  type WasmModule,
  wasmModule,
} from './module';
export {
  br,
  br_if,
  drop,
  f32,
  f32x4,
  f64,
  f64x2,
  type Instr,
  i8x16,
  i32,
  i32x4,
  i64x2,
  local,
  type MemArg,
  nop,
  return_,
  select,
  unreachable,
  v128,
} from './ops';
export {
  type CompiledModule,
  compileModule,
  createMemory,
  WASM_ENV,
  WasmModuleError,
  wasmEnabled,
} from './runtime';
export { type JsValue, VALTYPE_CODE, VALTYPES, type ValType, type WasmMemory } from './types';
