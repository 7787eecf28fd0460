/**
 * LEB128, the variable-length integer encoding of the WebAssembly binary format: 7 bits per byte,
 * low bits first, the high bit set on every byte but the last. Unsigned for indices, counts and
 * offsets (u32); signed for `i32.const` (i32), where the last byte's bit 6 carries the sign.
 */

const U32_MAX = 0xffff_ffff;
const I32_MIN = -0x8000_0000;
const I32_MAX = 0x7fff_ffff;

/** Unsigned LEB128 of a u32 (0 ≤ n ≤ 2³² − 1). */
export function uleb128(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) {
    throw new RangeError(`uleb128: expected an integer in [0, 2^32 - 1], received ${n}`);
  }
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an i32 (−2³¹ ≤ n ≤ 2³¹ − 1), in the fewest bytes. */
export function sleb128(n: number): number[] {
  if (!Number.isInteger(n) || n < I32_MIN || n > I32_MAX) {
    throw new RangeError(`sleb128: expected an integer in [-2^31, 2^31 - 1], received ${n}`);
  }
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    // Done when the rest is all sign bits and bit 6 of this byte already says that sign.
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
