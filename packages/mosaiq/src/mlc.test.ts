import { readFileSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { readMosaiqCsv } from './csv';
import { decodeLeafSet, decodeLeafSetStrict, encodeLeafSet, LEAF_SET_BYTES, readLeafSlot } from './mlc';

const runs = (values: ArrayLike<number>) => {
  const out: [number, number][] = [];
  for (const v of Array.from(values)) {
    const last = out[out.length - 1];
    if (last && last[0] === v) last[1]++;
    else out.push([v, 1]);
  }
  return out;
};

describe('MLC codec', () => {
  it('round-trips positions through the 200-byte little-endian format', () => {
    const positions = [-2, -9.01, 0, 3.27, 20, -20];
    const blob = encodeLeafSet(positions);
    expect(blob).toHaveLength(LEAF_SET_BYTES);
    expect(Array.from(blob.subarray(0, 4))).toEqual([0x38, 0xff, 0x7b, 0xfc]); // -200 = 0xff38, -901 = 0xfc7b
    expect(readLeafSlot(blob, 3)).toBe(327);
    expect(Array.from(blob.subarray(12)).every((b) => b === 0)).toBe(true);
    const decoded = decodeLeafSet(blob, positions.length);
    expect(decoded.issues).toEqual([]);
    expect(Array.from(decoded.positions)).toEqual(positions);
    expect(Array.from(decodeLeafSetStrict(blob, 6))).toEqual(positions);
  });

  it('reports odd, short, long, missing and badly counted blobs without padding them', () => {
    const good = encodeLeafSet(new Array(80).fill(1.5));
    const odd = new Uint8Array(201);
    odd.set(good);
    const oddResult = decodeLeafSet(odd, 80);
    expect(oddResult.issues).toEqual(['odd_length', 'long']);
    expect(oddResult.positions).toHaveLength(80);

    const short = decodeLeafSet(Uint8Array.of(0x10, 0x27), 80); // one slot: +100.00 cm
    expect(short.issues).toEqual(['short', 'truncated']);
    expect(Array.from(short.positions)).toEqual([100]); // not padded to 80
    expect(decodeLeafSet(new Uint8Array(21), 80).positions).toHaveLength(10);

    expect(decodeLeafSet(null, 80)).toMatchObject({ byteLength: 0, issues: ['missing'] });
    expect(decodeLeafSet(good, null).issues).toEqual(['invalid_leaf_count']);
    expect(decodeLeafSet(good, null).positions).toHaveLength(100);
    expect(decodeLeafSet(good, 0).issues).toEqual(['invalid_leaf_count']);

    const padded = good.slice();
    padded[199] = 1;
    expect(decodeLeafSet(padded, 80).issues).toEqual(['nonzero_padding']);
  });

  it('strict decoding and encoding name what is wrong', () => {
    expect(() => decodeLeafSetStrict(new Uint8Array(201), 80, 'B_Leaf_Set')).toThrow(
      /B_Leaf_Set.*odd_length/,
    );
    expect(() => encodeLeafSet([0, Number.NaN])).toThrow(/positions\[1\]/);
    expect(() => encodeLeafSet([400])).toThrow(ValidationError);
    expect(() => encodeLeafSet(new Array(101).fill(0))).toThrow(/positions\.length/);
    expect(encodeLeafSet([1, 2], { byteLength: 4 })).toHaveLength(4);
  });

  describe('on the real TxFieldPoint sample', () => {
    const rows = readMosaiqCsv(
      'TxFieldPoint',
      readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv'), 'utf8'),
    ).rows;

    it('decodes field 88043 control point 0 as the notes describe', () => {
      const cp0 = rows.find((r) => r.FLD_ID === 88043 && r.Point === 0)!;
      expect(cp0.A_Leaf_Set).toHaveLength(200);
      const a = decodeLeafSet(cp0.A_Leaf_Set, cp0.MLC_Leaves);
      const b = decodeLeafSet(cp0.B_Leaf_Set, cp0.MLC_Leaves);
      expect(a.issues).toEqual([]);
      expect(b.issues).toEqual([]);
      expect(runs(a.positions)).toEqual([
        [-2, 14],
        [-9, 52],
        [-2, 14],
      ]);
      expect(runs(b.positions)).toEqual([
        [2, 14],
        [-3, 52],
        [2, 14],
      ]);
      // The 20 padding slots are zero and are not decoded.
      expect(runs(decodeLeafSet(cp0.A_Leaf_Set, null).positions).at(-1)).toEqual([0, 20]);
    });

    it('has B − A ≥ 0 on every used leaf of both fields, and well-formed blobs everywhere', () => {
      const minGap = new Map<number, number>();
      for (const r of rows) {
        const a = decodeLeafSetStrict(r.A_Leaf_Set, r.MLC_Leaves, 'A_Leaf_Set');
        const b = decodeLeafSetStrict(r.B_Leaf_Set, r.MLC_Leaves, 'B_Leaf_Set');
        for (let i = 0; i < a.length; i++) {
          minGap.set(r.FLD_ID!, Math.min(minGap.get(r.FLD_ID!) ?? Number.POSITIVE_INFINITY, b[i]! - a[i]!));
        }
      }
      expect([...minGap.keys()].sort()).toEqual([88043, 88064]);
      expect(minGap.get(88043)).toBeCloseTo(4.0, 10);
      expect(minGap.get(88064)).toBeCloseTo(0.35, 10);
    });
  });
});
