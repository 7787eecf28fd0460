import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@anomalia/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { func } from './function';
import { wasmModule } from './module';
import { f32, i32, local } from './ops';
import { compileModule, createMemory, WASM_ENV, WasmModuleError, wasmEnabled } from './runtime';

const add = () =>
  func('add', ['a:i32', 'b:i32'], ['i32'], (_fn, { a, b }) => [local.get(a), local.get(b), i32.add]);
const valid = (name = 'runtime test') =>
  wasmModule({ name, memory: { export: 'memory', pages: 1 }, functions: [add()] });

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('compileModule', () => {
  it('compiles once and instantiates as often as asked', () => {
    const module = valid();
    const compiled = compileModule(module)!;
    expect(compileModule(module)).toBe(compiled);
    const [x, y] = [compiled.instantiate(), compiled.instantiate()];
    expect(x.add(2, 3)).toBe(5);
    expect(x.memory).not.toBe(y.memory);
  });

  it('throws a WasmModuleError naming the module and the engine’s reason when it does not validate', () => {
    // f32.add on two i32 operands: a type error the engine reports.
    const broken = wasmModule({
      name: '@anomalia/test broken',
      memory: { export: 'memory', pages: 1 },
      functions: [func('bad', ['a:i32'], ['f32'], (_fn, { a }) => [local.get(a), local.get(a), f32.add])],
    });
    let error: unknown;
    try {
      compileModule(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WasmModuleError);
    const e = error as WasmModuleError;
    expect(e.module).toBe('@anomalia/test broken');
    expect(e.stage).toBe('compile');
    expect(e.message).toMatch(
      /^WebAssembly module "@anomalia\/test broken" failed to compile: .*function #0.*f32\.add.*\(function #0 is bad\)/,
    );
    expect(e.message).toMatch(/ANOMALIA_WASM=off runs the JavaScript path/);
    // Every later call reports it again: no silent fallback on the second try.
    expect(() => compileModule(broken)).toThrow(e);
  });

  it('throws a WasmModuleError when a body cannot be encoded or the module cannot be instantiated', () => {
    const unencodable = wasmModule({
      name: 'unencodable',
      memory: { export: 'memory', pages: 1 },
      functions: [func('big', [], ['i32'], () => i32.const(2 ** 40))],
    });
    expect(() => compileModule(unencodable)).toThrow(/module "unencodable" failed to encode: sleb128/);
    const importing = wasmModule({
      name: 'importing',
      memory: { import: { module: 'env', name: 'memory' }, minPages: 1 },
      functions: [add()],
    });
    const compiled = compileModule(importing)!;
    expect(() => compiled.instantiate({})).toThrow(/module "importing" failed to instantiate/);
    expect(compiled.instantiate({ env: { memory: createMemory(1) } }).add(1, 1)).toBe(2);
  });

  it(`returns null when ${WASM_ENV}=off, compiles when on or unset, and refuses any other value`, () => {
    vi.stubEnv(WASM_ENV, 'off');
    expect(wasmEnabled()).toBe(false);
    expect(compileModule(valid())).toBeNull();
    vi.stubEnv(WASM_ENV, 'on');
    expect(compileModule(valid())).not.toBeNull();
    vi.stubEnv(WASM_ENV, '');
    expect(wasmEnabled()).toBe(true);
    vi.stubEnv(WASM_ENV, '0');
    expect(() => compileModule(valid())).toThrow(ValidationError);
    expect(() => wasmEnabled()).toThrow(/ANOMALIA_WASM: expected one of "on", "off", received "0"/);
  });

  it('runs the JavaScript path with one warning per module where the engine has no WebAssembly', () => {
    // node --jitless has no WebAssembly global: a real engine without it, not a stub.
    const script = join(tmpdir(), `wasm-kit-jitless-${process.pid}.ts`);
    const kit = fileURLToPath(new URL('./index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { compileModule, func, i32, wasmModule } from ${JSON.stringify(kit)};
const m = (name: string) => wasmModule({ name, memory: { export: 'memory', pages: 1 }, functions: [func('one', [], ['i32'], () => i32.const(1))] });
const a = m('@anomalia/test first');
const b = m('@anomalia/test second');
console.log(JSON.stringify([compileModule(a), compileModule(a), compileModule(b), typeof WebAssembly]));
`,
    );
    const run = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, [WASM_ENV]: '' },
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([null, null, null, 'undefined']);
    const warnings = run.stderr.split('\n').filter((line) => line.includes('ANOMALIA_WASM_UNAVAILABLE'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /@anomalia\/test first: WebAssembly is not available in this engine; its JavaScript path runs instead/,
    );
    expect(warnings[1]).toMatch(/@anomalia\/test second: WebAssembly is not available/);
  });
});
