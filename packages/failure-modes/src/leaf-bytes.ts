import {
  isValidLeafCount,
  LEAF_SET_BYTES,
  LEAF_UNITS_PER_CM,
  readLeafSlot,
  type TxFieldPointRow,
} from '@anomalia/mosaiq';

/**
 * Byte-level edits of stored leaf sets. Every function returns a new blob of exactly the input's
 * length: `A_Leaf_Set`/`B_Leaf_Set` are `binary(200)`, which SQL Server pads or truncates to 200
 * bytes, so a corruption that changed the length could never reach a real Mosaiq.
 */

export type Bank = 'A' | 'B';
export const bankColumn = (bank: Bank) => (bank === 'A' ? 'A_Leaf_Set' : 'B_Leaf_Set');

/** Why a control point's leaf sets cannot be edited leaf by leaf, or null when they can. */
export function leafSetProblem(cp: TxFieldPointRow, banks: readonly Bank[]): string | null {
  if (!isValidLeafCount(cp.MLC_Leaves)) return `Point ${cp.Point} has MLC_Leaves ${cp.MLC_Leaves}`;
  for (const bank of banks) {
    const blob = cp[bankColumn(bank)];
    if (blob === null) return `Point ${cp.Point} has a NULL ${bankColumn(bank)}`;
    if (blob.length !== LEAF_SET_BYTES) {
      return `Point ${cp.Point} has a ${blob.length}-byte ${bankColumn(bank)} (binary(200) expected)`;
    }
  }
  return null;
}

/** Writes a signed int16 (1/100 cm) into slot `slot`, in place (pass a copy). */
export function writeLeafSlot(blob: Uint8Array, slot: number, units: number): void {
  const u = units & 0xffff;
  blob[2 * slot] = u & 0xff;
  blob[2 * slot + 1] = u >> 8;
}

/** cm → stored units, rounded like `encodeLeafSet`. */
export const toUnits = (cm: number) => Math.round(cm * LEAF_UNITS_PER_CM);

/**
 * A stray byte inserted at the start of slot `slot`: everything after it moves one byte right and
 * the last byte falls off the fixed 200-byte end. Each leaf from `slot` on is then read from the
 * high byte of its predecessor and its own low byte: it straddles two slots.
 */
export function insertStrayByte(blob: Uint8Array, slot: number, byte: number): Uint8Array {
  const out = new Uint8Array(blob.length);
  const at = 2 * slot;
  out.set(blob.subarray(0, at), 0);
  out[at] = byte;
  out.set(blob.subarray(at, blob.length - 1), at + 1);
  return out;
}

/** The used slots of a blob (raw int16 values). */
export function readSlots(blob: Uint8Array, count: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = readLeafSlot(blob, i);
  return out;
}
