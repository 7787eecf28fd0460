import { ValidationError } from '@anomalia/core';

/**
 * MLC leaf sets as Mosaiq stores them: `TxFieldPoint.A_Leaf_Set` / `B_Leaf_Set` are fixed-length
 * `binary(200)`: 100 little-endian int16 slots in 1/100 cm. Only the first `MLC_Leaves` slots are
 * leaves (80 for Agility, 60 for Millennium); the rest are zero.
 */
export const LEAF_SET_BYTES = 200;
export const LEAF_SET_SLOTS = 100;
/** Stored units per cm (the slots hold 1/100 cm). */
export const LEAF_UNITS_PER_CM = 100;

/**
 * What can be wrong with a stored leaf set. The decoder reports these and never pads or repairs.
 * - `missing`: the column is NULL.
 * - `odd_length`: an odd number of bytes (the trailing byte is not decoded).
 * - `short` / `long`: fewer / more than the 200 bytes of `binary(200)`.
 * - `truncated`: fewer complete slots than `MLC_Leaves` (only the slots present are decoded).
 * - `invalid_leaf_count`: `MLC_Leaves` is NULL, < 1 or > 100 (every complete slot is decoded).
 * - `nonzero_padding`: a slot beyond `MLC_Leaves` is not zero.
 */
export type LeafSetIssue =
  | 'missing'
  | 'odd_length'
  | 'short'
  | 'long'
  | 'truncated'
  | 'invalid_leaf_count'
  | 'nonzero_padding';

export interface DecodedLeafSet {
  /** Leaf positions in cm, one per decoded leaf (never padded). */
  positions: Float64Array;
  /** The `MLC_Leaves` the row declares (null when NULL). */
  declaredLeaves: number | null;
  /** Length of the stored blob in bytes (0 when NULL). */
  byteLength: number;
  /** Everything that deviates from a well-formed 200-byte leaf set; empty when well formed. */
  issues: LeafSetIssue[];
}

/** The signed int16 in slot `slot` of a leaf set, in 1/100 cm. The caller checks bounds. */
export function readLeafSlot(blob: Uint8Array, slot: number): number {
  const i = slot << 1;
  return ((blob[i]! | (blob[i + 1]! << 8)) << 16) >> 16;
}

/** True when `mlcLeaves` is a usable leaf count (1–100). */
export function isValidLeafCount(mlcLeaves: number | null | undefined): mlcLeaves is number {
  return (
    typeof mlcLeaves === 'number' &&
    Number.isInteger(mlcLeaves) &&
    mlcLeaves >= 1 &&
    mlcLeaves <= LEAF_SET_SLOTS
  );
}

/**
 * The number of leaves to decode from a blob of `byteLength` bytes with the given `MLC_Leaves`:
 * the declared count, or fewer when the blob is too short; every complete slot when the declared
 * count is unusable.
 */
export function usedLeafCount(byteLength: number, mlcLeaves: number | null | undefined): number {
  const slots = byteLength >> 1;
  return isValidLeafCount(mlcLeaves) ? Math.min(mlcLeaves, slots) : slots;
}

/** Decodes a leaf set tolerantly: it reports every irregularity and never throws. */
export function decodeLeafSet(blob: Uint8Array | null | undefined, mlcLeaves: number | null): DecodedLeafSet {
  const issues: LeafSetIssue[] = [];
  if (!isValidLeafCount(mlcLeaves)) issues.push('invalid_leaf_count');
  if (blob == null) {
    issues.unshift('missing');
    return { positions: new Float64Array(0), declaredLeaves: mlcLeaves, byteLength: 0, issues };
  }
  const byteLength = blob.length;
  if (byteLength % 2 === 1) issues.push('odd_length');
  if (byteLength < LEAF_SET_BYTES) issues.push('short');
  if (byteLength > LEAF_SET_BYTES) issues.push('long');
  const slots = byteLength >> 1;
  const n = usedLeafCount(byteLength, mlcLeaves);
  if (isValidLeafCount(mlcLeaves) && slots < mlcLeaves) issues.push('truncated');
  const positions = new Float64Array(n);
  for (let i = 0; i < n; i++) positions[i] = readLeafSlot(blob, i) / LEAF_UNITS_PER_CM;
  if (isValidLeafCount(mlcLeaves)) {
    for (let s = n; s < slots; s++) {
      if (readLeafSlot(blob, s) !== 0) {
        issues.push('nonzero_padding');
        break;
      }
    }
  }
  return { positions, declaredLeaves: mlcLeaves, byteLength, issues };
}

/**
 * Decodes a leaf set that must be well formed (200 bytes, a valid `MLC_Leaves`, zero padding);
 * anything else is a ValidationError naming `field` and the irregularities found.
 */
export function decodeLeafSetStrict(
  blob: Uint8Array | null | undefined,
  mlcLeaves: number | null,
  field = 'A_Leaf_Set',
): Float64Array {
  const decoded = decodeLeafSet(blob, mlcLeaves);
  if (decoded.issues.length > 0) {
    throw new ValidationError(
      field,
      `a ${LEAF_SET_BYTES}-byte leaf set with MLC_Leaves in 1..${LEAF_SET_SLOTS} and zero padding`,
      `${decoded.byteLength} bytes, MLC_Leaves ${mlcLeaves} (${decoded.issues.join(', ')})`,
    );
  }
  return decoded.positions;
}

/**
 * Encodes leaf positions (cm) into a stored leaf set of `byteLength` bytes (200 by default):
 * rounded to 1/100 cm, little-endian int16, the remaining slots zero.
 */
export function encodeLeafSet(
  positionsCm: ArrayLike<number>,
  options: { byteLength?: number; field?: string } = {},
): Uint8Array {
  const byteLength = options.byteLength ?? LEAF_SET_BYTES;
  const field = options.field ?? 'positions';
  if (!Number.isInteger(byteLength) || byteLength < 0) {
    throw new ValidationError('byteLength', 'a non-negative integer', byteLength);
  }
  if (positionsCm.length * 2 > byteLength) {
    throw new ValidationError(
      `${field}.length`,
      `at most ${byteLength >> 1} leaves for ${byteLength} bytes`,
      positionsCm.length,
    );
  }
  const out = new Uint8Array(byteLength);
  for (let i = 0; i < positionsCm.length; i++) {
    const cm = positionsCm[i]!;
    const units = Math.round(cm * LEAF_UNITS_PER_CM);
    if (!Number.isFinite(cm) || units < -32768 || units > 32767) {
      throw new ValidationError(`${field}[${i}]`, 'a finite position within ±327.67 cm', cm);
    }
    out[2 * i] = units & 0xff;
    out[2 * i + 1] = (units >> 8) & 0xff;
  }
  return out;
}
