import wabtInit from 'wabt';
import { uleb128 } from './leb128';

/**
 * For the kit's tests: wabt (the WebAssembly Binary Toolkit, an independent assembler) and a
 * reader of the parts of a binary module the tests compare.
 */

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined;

/** The binary of a module in the text format, assembled by wabt (SIMD on, not validated). */
export async function wat2wasm(text: string): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const module = wabt.parseWat('test.wat', text, { simd: true });
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

function readU32(bytes: Uint8Array, at: { i: number }): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at.i++]!;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return result;
}

export interface FunctionCode {
  /** Local declarations as (count, type code). */
  locals: Array<[number, number]>;
  /** The instructions without the final `end`. */
  instructions: number[];
}

/** The sections of a module by id, and its function bodies decoded. */
export function readModule(bytes: Uint8Array): { sections: Map<number, Uint8Array>; code: FunctionCode[] } {
  const sections = new Map<number, Uint8Array>();
  const at = { i: 8 };
  while (at.i < bytes.length) {
    const id = bytes[at.i++]!;
    const size = readU32(bytes, at);
    sections.set(id, bytes.subarray(at.i, at.i + size));
    at.i += size;
  }
  const code: FunctionCode[] = [];
  const section = sections.get(10);
  if (section) {
    const p = { i: 0 };
    const count = readU32(section, p);
    for (let f = 0; f < count; f++) {
      const size = readU32(section, p);
      const end = p.i + size;
      const groups = readU32(section, p);
      const locals: Array<[number, number]> = [];
      for (let g = 0; g < groups; g++) locals.push([readU32(section, p), section[p.i++]!]);
      code.push({ locals, instructions: Array.from(section.subarray(p.i, end - 1)) });
      p.i = end;
    }
  }
  return { sections, code };
}

/** Round-trip check for the reader: u32 LEB128 as the reader decodes it. */
export const decodeU32 = (n: number): number => readU32(Uint8Array.from(uleb128(n)), { i: 0 });
