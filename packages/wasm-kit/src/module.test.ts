import { describe, expect, expectTypeOf, it } from 'vitest';
import { forLoop } from './control';
import { func } from './function';
import { type ModuleExports, wasmModule } from './module';
import { f32, f64, i32, local, v128 } from './ops';
import { compileModule, WasmModuleError } from './runtime';
import { readModule, wat2wasm } from './test-support';
import { moduleDigests } from './testing';

/** sum(p, n) → Σ f32 at p[0..n) */
const sum = func('sum', ['p:i32', 'n:i32'], ['f32'], (fn, { p, n }) => {
  const [i, end] = fn.locals(2, 'i32');
  const acc = fn.local('f32');
  return [
    [local.get(n), i32.const(2), i32.shl, local.set(end)],
    forLoop(i, i32.const(0), end, 4, [
      local.get(acc),
      local.get(p),
      local.get(i),
      i32.add,
      f32.load(),
      f32.add,
      local.set(acc),
    ]),
    local.get(acc),
  ];
});

/** scale(p, n, s): p[i] *= s */
const scale = func('scale', ['p:i32', 'n:i32', 's:f64'], [], (fn, { p, n, s }) => {
  const [i, end, at] = fn.locals(3, 'i32');
  return [
    [local.get(n), i32.const(2), i32.shl, local.set(end)],
    forLoop(i, i32.const(0), end, 4, [
      [local.get(p), local.get(i), i32.add, local.tee(at)],
      [local.get(at), f32.load(), f64.promote_f32, local.get(s), f64.mul, f32.demote_f64, f32.store()],
    ]),
  ];
});

describe('wasmModule', () => {
  it('encodes the same module as wabt, with an exported memory', async () => {
    const module = wasmModule({
      name: 'kit test',
      memory: { export: 'mem', pages: 2 },
      functions: [sum, scale],
    });
    const text = `(module
      (type (func (param i32 i32) (result f32)))
      (type (func (param i32 i32 f64)))
      (memory (export "mem") 2)
      (func (export "sum") (type 0) (local i32 i32 f32)
        local.get 1 i32.const 2 i32.shl local.set 3
        i32.const 0 local.set 2
        block loop local.get 2 local.get 3 i32.ge_u br_if 1
          local.get 4 local.get 0 local.get 2 i32.add f32.load f32.add local.set 4
          local.get 2 i32.const 4 i32.add local.set 2 br 0 end end
        local.get 4)
      (func (export "scale") (type 1) (local i32 i32 i32)
        local.get 1 i32.const 2 i32.shl local.set 4
        i32.const 0 local.set 3
        block loop local.get 3 local.get 4 i32.ge_u br_if 1
          local.get 0 local.get 3 i32.add local.tee 5
          local.get 5 f32.load f64.promote_f32 local.get 2 f64.mul f32.demote_f64 f32.store
          local.get 3 i32.const 4 i32.add local.set 3 br 0 end end))`;
    expect(Array.from(module.bytes())).toEqual(Array.from(await wat2wasm(text)));
  });

  it('encodes the same module as wabt, with an imported memory', async () => {
    const module = wasmModule({
      name: 'kit test',
      memory: { import: { module: 'env', name: 'memory' }, minPages: 1 },
      functions: [func('size', [], ['i32'], () => i32.const(65536))],
    });
    const text = `(module (type (func (result i32))) (import "env" "memory" (memory 1))
      (func (export "size") (type 0) i32.const 65536))`;
    expect(Array.from(module.bytes())).toEqual(Array.from(await wat2wasm(text)));
  });

  it('declares locals after the parameters, one entry per run of a type', () => {
    const f = func('f', ['a:i32', 'x:f64'], [], (fn) => {
      const [b, c] = fn.locals(2, 'i32');
      const v = fn.local('v128');
      const d = fn.local('i32');
      expect([b.index, c.index, v.index, d.index]).toEqual([2, 3, 4, 5]);
      return [local.get(d), local.set(b), v128.const(Array(16).fill(0)), local.set(v)];
    });
    const module = wasmModule({ name: 'locals', memory: { export: 'memory', pages: 0 }, functions: [f] });
    expect(readModule(module.bytes()).code[0]!.locals).toEqual([
      [2, 0x7f],
      [1, 0x7b],
      [1, 0x7f],
    ]);
  });

  it('types the exports from the declarations, and they run', () => {
    const module = wasmModule({
      name: 'kit run',
      memory: { export: 'memory', pages: 1 },
      functions: [sum, scale],
    });
    const exports = compileModule(module)!.instantiate();
    expectTypeOf(exports.sum).toEqualTypeOf<(p: number, n: number) => number>();
    expectTypeOf(exports.scale).toEqualTypeOf<(p: number, n: number, s: number) => undefined>();
    expectTypeOf(exports.memory.buffer).toEqualTypeOf<ArrayBuffer>();
    const heap = new Float32Array(exports.memory.buffer);
    heap.set([1, 2, 3, 4.5], 4);
    exports.scale(16, 4, 2);
    expect(Array.from(heap.subarray(4, 8))).toEqual([2, 4, 6, 9]);
    expect(exports.sum(16, 4)).toBe(21);
    const i64 = func('wide', ['x:i64'], ['i64', 'f32'], (_fn, { x }) => [local.get(x), f32.const(1)]);
    const wide = wasmModule({ name: 'wide', memory: { export: 'memory', pages: 0 }, functions: [i64] });
    expectTypeOf<ModuleExports<typeof wide>['wide']>().toEqualTypeOf<(x: bigint) => [bigint, number]>();
    expect(
      compileModule(wide)!
        .instantiate()
        .wide(2n ** 40n),
    ).toEqual([2n ** 40n, 1]);
  });

  it('refuses malformed declarations with the function and parameter named', () => {
    expect(() => func('f', ['a:i33' as 'a:i32'], [], () => [])).toThrow(
      /f: parameter "a:i33" must be name:type/,
    );
    expect(() => func('f', [':i32' as 'a:i32'], [], () => [])).toThrow(
      /f: parameter ":i32" must be name:type/,
    );
    expect(() => func('f', ['a:i32', 'a:f32'], [], () => [])).toThrow(/f: parameter "a" declared twice/);
    expect(() =>
      wasmModule({ name: 'twice', memory: { export: 'sum', pages: 0 }, functions: [sum] }),
    ).toThrow(/twice: two exports named "sum"/);
  });

  it('refuses a v128 in an exported signature when it encodes', () => {
    const f = func('f', ['v:v128'], [], () => []);
    const module = wasmModule({
      name: 'v128 export',
      memory: { export: 'memory', pages: 0 },
      functions: [f],
    });
    expect(() => module.bytes()).toThrow(/v128 export: f is exported, so it cannot take or return a v128/);
    expect(() => compileModule(module)).toThrow(WasmModuleError);
  });
});

describe('moduleDigests', () => {
  it('is the SHA-256 of each module’s bytes, by name', async () => {
    const { createHash } = await import('node:crypto');
    const module = wasmModule({ name: 'digest', memory: { export: 'memory', pages: 1 }, functions: [sum] });
    const expected = createHash('sha256').update(module.bytes()).digest('hex');
    expect(moduleDigests([module])).toEqual({ digest: expected });
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });
});
