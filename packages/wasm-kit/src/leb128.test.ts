import { describe, expect, it } from 'vitest';
import { func } from './function';
import { sleb128, uleb128 } from './leb128';
import { wasmModule } from './module';
import { i32 } from './ops';
import { compileModule } from './runtime';
import { decodeU32, readModule, wat2wasm } from './test-support';

const U32_MAX = 2 ** 32 - 1;

describe('uleb128', () => {
  it.each([
    [0, [0x00]],
    [1, [0x01]],
    [63, [0x3f]],
    [64, [0x40]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [255, [0xff, 0x01]],
    [16383, [0xff, 0x7f]],
    [16384, [0x80, 0x80, 0x01]],
    [2 ** 31 - 1, [0xff, 0xff, 0xff, 0xff, 0x07]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
    [U32_MAX, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('%i → %j', (n, bytes) => {
    expect(uleb128(n)).toEqual(bytes);
    expect(decodeU32(n)).toBe(n);
  });

  it.each([-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d (not a u32)', (n) => {
    expect(() => uleb128(n)).toThrow(/uleb128: expected an integer in \[0, 2\^32 - 1\]/);
  });

  it('agrees with wabt on memory offsets up to 2^32 - 1', async () => {
    for (const offset of [0, 63, 64, 127, 128, 16384, 2 ** 31 - 1, U32_MAX]) {
      const wabt = readModule(
        await wat2wasm(`(module (memory 1) (func i32.const 0 i32.load offset=${offset} drop))`),
      );
      const ours = [...i32.const(0), ...i32.load({ offset }), 0x1a];
      expect(wabt.code[0]!.instructions).toEqual(ours);
    }
  });
});

describe('sleb128', () => {
  it.each([
    [0, [0x00]],
    [1, [0x01]],
    [-1, [0x7f]],
    [63, [0x3f]],
    [64, [0xc0, 0x00]],
    [-64, [0x40]],
    [-65, [0xbf, 0x7f]],
    [127, [0xff, 0x00]],
    [128, [0x80, 0x01]],
    [-128, [0x80, 0x7f]],
    [-129, [0xff, 0x7e]],
    [2 ** 31 - 1, [0xff, 0xff, 0xff, 0xff, 0x07]],
    [-(2 ** 31), [0x80, 0x80, 0x80, 0x80, 0x78]],
  ])('%i → %j', (n, bytes) => {
    expect(sleb128(n)).toEqual(bytes);
  });

  it.each([2 ** 31, -(2 ** 31) - 1, 0.5, Number.NaN])('refuses %d (not an i32)', (n) => {
    expect(() => sleb128(n)).toThrow(/sleb128: expected an integer in \[-2\^31, 2\^31 - 1\]/);
  });

  const edges = [
    0,
    1,
    -1,
    63,
    64,
    -64,
    -65,
    127,
    128,
    -128,
    -129,
    8191,
    8192,
    -8193,
    2 ** 31 - 1,
    -(2 ** 31),
  ];

  it('agrees with wabt', async () => {
    for (const v of edges) {
      const wabt = readModule(await wat2wasm(`(module (func (result i32) i32.const ${v}))`));
      expect(wabt.code[0]!.instructions).toEqual(i32.const(v));
    }
  });

  it('is read back by the engine as the same i32', () => {
    const functions = edges.map((v, k) => func(`c${k}`, [], ['i32'], () => i32.const(v)));
    const module = wasmModule({ name: 'leb128 test', memory: { export: 'memory', pages: 0 }, functions });
    const exports = compileModule(module)!.instantiate() as unknown as Record<string, () => number>;
    edges.forEach((v, k) => {
      expect(exports[`c${k}`]!()).toBe(v);
    });
  });
});
