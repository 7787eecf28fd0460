import { describe, expect, it } from 'vitest';
import { block, flatten, forLoop, if_, ifElse, loop, whileBelow } from './control';
import { Local } from './local';
import * as ops from './ops';
import { readModule, wat2wasm } from './test-support';

/** Our bytes for an instruction sequence vs wabt's for the same text in a function with a memory. */
async function expectSameAsWabt(ours: ops.Instr | readonly number[], text: string, locals = '') {
  const wasm = await wat2wasm(`(module (memory 1) (func ${locals} ${text}))`);
  expect({ text, bytes: Array.from(ours) }).toEqual({ text, bytes: readModule(wasm).code[0]!.instructions });
}

const NAMESPACES = {
  i32: ops.i32,
  f32: ops.f32,
  f64: ops.f64,
  v128: ops.v128,
  i8x16: ops.i8x16,
  i32x4: ops.i32x4,
  i64x2: ops.i64x2,
  f32x4: ops.f32x4,
  f64x2: ops.f64x2,
};

describe('the opcode table', () => {
  it('encodes every immediate-free instruction as wabt does', async () => {
    let checked = 0;
    for (const [ns, table] of Object.entries(NAMESPACES)) {
      for (const [name, entry] of Object.entries(table)) {
        if (typeof entry === 'function') continue;
        await expectSameAsWabt(entry as ops.Instr, `${ns}.${name}`);
        checked++;
      }
    }
    for (const [instr, text] of [
      [ops.unreachable, 'unreachable'],
      [ops.nop, 'nop'],
      [ops.return_, 'return'],
      [ops.drop, 'drop'],
      [ops.select, 'select'],
    ] as const) {
      await expectSameAsWabt(instr, text);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('encodes constants as wabt does', async () => {
    for (const v of [0, 1, -1, 2, 0.1, -0, 1e-30, 3.4e38, Number.POSITIVE_INFINITY]) {
      const text = Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : String(v)) : 'inf';
      await expectSameAsWabt(ops.f32.const(v), `f32.const ${text}`);
      await expectSameAsWabt(ops.f64.const(v), `f64.const ${text}`);
    }
    const bytes = Array.from({ length: 16 }, (_, i) => (i * 37) & 0xff);
    await expectSameAsWabt(ops.v128.const(bytes), `v128.const i8x16 ${bytes.join(' ')}`);
    expect(() => ops.v128.const([1, 2, 3])).toThrow(/v128.const: expected 16 bytes/);
  });

  it('encodes memory accesses with their offsets and alignments as wabt does', async () => {
    const cases: Array<[ops.Instr, string]> = [
      [ops.i32.load(), 'i32.load'],
      [ops.i32.load({ offset: 12 }), 'i32.load offset=12'],
      [ops.i32.store({ offset: 300, align: 0 }), 'i32.store offset=300 align=1'],
      [ops.f32.load({ align: 1 }), 'f32.load align=2'],
      [ops.f32.store(), 'f32.store'],
      [ops.f64.load({ offset: 8 }), 'f64.load offset=8'],
      [ops.f64.store({ offset: 16, align: 2 }), 'f64.store offset=16 align=4'],
      [ops.v128.load(), 'v128.load'],
      [ops.v128.load({ align: 2 }), 'v128.load align=4'],
      [ops.v128.store({ offset: 200, align: 2 }), 'v128.store offset=200 align=4'],
      [ops.v128.load32_splat(), 'v128.load32_splat'],
      [ops.v128.load64_splat({ offset: 8 }), 'v128.load64_splat offset=8'],
      [ops.v128.store32_lane(2, { offset: 8, align: 2 }), 'v128.store32_lane offset=8 align=4 2'],
      [ops.v128.store32_lane(3), 'v128.store32_lane 3'],
      [ops.v128.store64_lane(0, { align: 2 }), 'v128.store64_lane align=4 0'],
      [ops.v128.store64_lane(1), 'v128.store64_lane 1'],
    ];
    for (const [ours, text] of cases) await expectSameAsWabt(ours, text);
    expect(() => ops.f32.load({ align: 3 })).toThrow(/align must be an integer exponent in \[0, 2\]/);
  });

  it('encodes lane immediates as wabt does, and refuses lanes out of range', async () => {
    const cases: Array<[ops.Instr, string]> = [
      [ops.i32x4.extract_lane(3), 'i32x4.extract_lane 3'],
      [ops.i64x2.extract_lane(1), 'i64x2.extract_lane 1'],
      [ops.f32x4.extract_lane(2), 'f32x4.extract_lane 2'],
      [ops.f32x4.replace_lane(1), 'f32x4.replace_lane 1'],
      [ops.f64x2.extract_lane(1), 'f64x2.extract_lane 1'],
      [ops.f64x2.replace_lane(0), 'f64x2.replace_lane 0'],
    ];
    for (const [ours, text] of cases) await expectSameAsWabt(ours, text);
    const lanes = [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 31, 30, 29, 28];
    await expectSameAsWabt(ops.i8x16.shuffle(lanes), `i8x16.shuffle ${lanes.join(' ')}`);
    expect(() => ops.f32x4.extract_lane(4)).toThrow(/lane index must be an integer in \[0, 3\]/);
    expect(() => ops.i8x16.shuffle([...lanes.slice(1), 32])).toThrow(
      /lane index must be an integer in \[0, 31\]/,
    );
  });

  it('encodes locals (one- and two-byte indices) and branches as wabt does', async () => {
    const locals = `(local ${Array(201).fill('i32').join(' ')})`;
    for (const index of [0, 127, 128, 200]) {
      const l = new Local(index, 'i32', `l${index}`);
      await expectSameAsWabt(ops.local.get(l), `local.get ${index}`, locals);
      await expectSameAsWabt(ops.local.set(l), `local.set ${index}`, locals);
      await expectSameAsWabt(ops.local.tee(l), `local.tee ${index}`, locals);
    }
    expect(() => ops.local.get(3 as unknown as Local)).toThrow(/take a Local/);
    await expectSameAsWabt(
      flatten(block(block(ops.br(1), ops.br_if(0)))),
      'block block br 1 br_if 0 end end',
    );
  });
});

describe('control flow', () => {
  const [i, end] = [new Local(0, 'i32', 'i'), new Local(1, 'i32', 'end')];

  it('block, loop, if and if-else are the structured instructions', async () => {
    await expectSameAsWabt(flatten(loop(ops.nop)), 'loop nop end');
    await expectSameAsWabt(flatten(if_(ops.nop)), 'if nop end');
    await expectSameAsWabt(flatten(ifElse(ops.nop, [ops.nop, ops.nop])), 'if nop else nop nop end');
  });

  it('whileBelow and forLoop are a block around a loop that tests first', async () => {
    await expectSameAsWabt(
      flatten(whileBelow(i, end, ops.nop)),
      'block loop local.get 0 local.get 1 i32.ge_u br_if 1 nop br 0 end end',
      '(local i32 i32)',
    );
    await expectSameAsWabt(
      flatten(forLoop(i, ops.i32.const(4), end, 16, ops.nop)),
      'i32.const 4 local.set 0 block loop local.get 0 local.get 1 i32.ge_u br_if 1 nop ' +
        'local.get 0 i32.const 16 i32.add local.set 0 br 0 end end',
      '(local i32 i32)',
    );
  });
});
