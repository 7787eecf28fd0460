import type { Local } from './local';
import { br, br_if, type Instr, i32, local } from './ops';

/**
 * Structured control flow. Code is instructions nested in arrays as convenient; it is flattened
 * when the function is encoded. Branch depths inside a helper's body count the helper's own labels
 * (a `whileBelow` body sits inside a block and a loop: `br(0)` continues, `br(1)` breaks).
 */

export type Code = Instr | readonly Code[];

/** The bytes of some code, in order. */
export function flatten(code: Code, out: number[] = []): number[] {
  for (const item of code) {
    if (typeof item === 'number') out.push(item);
    else flatten(item, out);
  }
  return out;
}

const EMPTY_BLOCK_TYPE = 0x40;
const END: Instr = [0x0b];

/** `block … end` (no result): `br` to it jumps past its end. */
export const block = (...body: Code[]): Code => [[0x02, EMPTY_BLOCK_TYPE], body, END];

/** `loop … end` (no result): `br` to it jumps back to its start. */
export const loop = (...body: Code[]): Code => [[0x03, EMPTY_BLOCK_TYPE], body, END];

/** `if … end` (no result): runs the body when the popped i32 is not 0. */
export const if_ = (...body: Code[]): Code => [[0x04, EMPTY_BLOCK_TYPE], body, END];

/** `if … else … end` (no result). */
export const ifElse = (then: Code, otherwise: Code): Code => [
  [0x04, EMPTY_BLOCK_TYPE],
  then,
  [0x05],
  otherwise,
  END,
];

/** while (i < end, unsigned) { body }: the body advances `i` itself. */
export const whileBelow = (i: Local, end: Local, ...body: Code[]): Code =>
  block(loop(local.get(i), local.get(end), i32.ge_u, br_if(1), body, br(0)));

/** for (i = start; i < end (unsigned); i += step) { body }; `start` is code pushing an i32. */
export const forLoop = (i: Local, start: Code, end: Local, step: number, ...body: Code[]): Code => [
  start,
  local.set(i),
  whileBelow(i, end, body, local.get(i), i32.const(step), i32.add, local.set(i)),
];
