import { decodeLeafSet, LEAF_SET_BYTES, readLeafSlot, type UpdateChange } from '@anomalia/mosaiq';
import { describe, expect, it } from 'vitest';
import { failureCatalogue } from '../catalogue';
import { COHORT } from '../test-support/harness';

const mlc = failureCatalogue.mode('corrupt_mlc_data');
const target = COHORT.records.find(
  (r) => r.controlPoints.length > 10 && r.controlPoints[0]!.MLC_Leaves === 80,
)!;
const cp0 = target.controlPoints[0]!;
const updates = (variant: string, params?: unknown) =>
  mlc.apply({ variant, target, cohort: COHORT, params, rng: 7 }).changes as UpdateChange[];

describe('corrupt_mlc_data in binary(200)', () => {
  it('odd_bytes inserts a stray byte and shifts the rest, keeping 200 bytes', () => {
    const [c] = updates('odd_bytes', { leaf: 10, byte: 0xab });
    const before = cp0.A_Leaf_Set!;
    const after = c!.newValue as Uint8Array;
    expect(c).toMatchObject({ table: 'TxFieldPoint', key: cp0.TFP_ID, column: 'A_Leaf_Set' });
    expect(after.length).toBe(LEAF_SET_BYTES);
    expect(after.subarray(0, 20)).toEqual(before.subarray(0, 20));
    expect(after[20]).toBe(0xab);
    expect(after.subarray(21)).toEqual(before.subarray(20, 199));
    // Leaf 11 now reads the high byte of leaf 10 and the low byte of leaf 11: it straddles two slots.
    expect(readLeafSlot(after, 11)).toBe(((before[21]! | (before[22]! << 8)) << 16) >> 16);
    // Nothing for a length check to see: the blob still decodes as 80 leaves.
    expect(decodeLeafSet(after, 80).issues).not.toContain('odd_length');
  });

  it('out_of_range writes one leaf at −100 cm (A) or +100 cm (B) and nothing else', () => {
    for (const [bank, units] of [
      ['A', -10000],
      ['B', 10000],
    ] as const) {
      const [c] = updates('out_of_range', { bank, leaf: 40 });
      const before = bank === 'A' ? cp0.A_Leaf_Set! : cp0.B_Leaf_Set!;
      const after = c!.newValue as Uint8Array;
      expect(after.length).toBe(LEAF_SET_BYTES);
      const differing = [...Array(100).keys()].filter(
        (i) => readLeafSlot(after, i) !== readLeafSlot(before, i),
      );
      expect(differing).toEqual([40]);
      expect(readLeafSlot(after, 40)).toBe(units);
    }
  });

  it('negative_gap swaps open pairs so that B < A, in both banks', () => {
    const changes = updates('negative_gap', { pairs: 4 });
    expect(changes.map((c) => c.column).sort()).toEqual(['A_Leaf_Set', 'B_Leaf_Set']);
    const a = changes.find((c) => c.column === 'A_Leaf_Set')!.newValue as Uint8Array;
    const b = changes.find((c) => c.column === 'B_Leaf_Set')!.newValue as Uint8Array;
    const crossed = [...Array(80).keys()].filter((i) => readLeafSlot(b, i) < readLeafSlot(a, i));
    expect(crossed).toHaveLength(4);
    for (const i of crossed) {
      expect(readLeafSlot(a, i)).toBe(readLeafSlot(cp0.B_Leaf_Set!, i));
      expect(readLeafSlot(b, i)).toBe(readLeafSlot(cp0.A_Leaf_Set!, i));
    }
    expect(a.length).toBe(LEAF_SET_BYTES);
  });

  it('random_bytes fills only the used slots of every point and keeps the zero padding', () => {
    const changes = updates('random_bytes');
    expect(changes).toHaveLength(target.controlPoints.length);
    for (const c of changes) {
      const blob = c.newValue as Uint8Array;
      expect(blob.length).toBe(LEAF_SET_BYTES);
      expect(blob.subarray(160).every((x) => x === 0)).toBe(true);
      expect(decodeLeafSet(blob, 80).issues).toEqual([]);
    }
    expect(updates('random_bytes', { bank: 'both', points: 'first' }).map((c) => c.column)).toEqual([
      'A_Leaf_Set',
      'B_Leaf_Set',
    ]);
  });

  it('refuses a leaf beyond MLC_Leaves and a point that does not exist', () => {
    expect(mlc.check({ variant: 'out_of_range', target, cohort: COHORT, params: { leaf: 85 } })).toMatch(
      /not a used leaf/,
    );
    expect(mlc.check({ variant: 'odd_bytes', target, cohort: COHORT, params: { points: [9999] } })).toMatch(
      /no control point with Point 9999/,
    );
  });
});
