import { readFileSync } from 'node:fs';
import { sharedDataPath } from '@anomalia/core/testing';
import { decodeLeafSet, readMosaiqCsv, type TreatmentRecord, type TxFieldPointRow } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURE_NAMES } from './definitions';
import { extractQa74 } from './extract74';

const rows = readMosaiqCsv(
  'TxFieldPoint',
  readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv'), 'utf8'),
).rows;

/** A treatment of a real field: the sample's control points with an otherwise clean record. */
function recordFor(fieldId: number, meterset: number, typeEnum: number): TreatmentRecord {
  const base = exampleRecord({ createdAt: new Date('2020-04-27T08:03:28.513Z') });
  const points: TxFieldPointRow[] = rows.filter((r) => r.FLD_ID === fieldId);
  return {
    ...base,
    treatment: { ...base.treatment, FLD_ID: fieldId, Pat_ID1: 30121 },
    field: {
      ...base.field!,
      FLD_ID: fieldId,
      Meterset: meterset,
      Type_Enum: typeEnum,
      ControlPoints: points.length,
    },
    controlPoints: points,
  };
}

describe('features of the real TxFieldPoint sample', () => {
  const records = [recordFor(88043, 150, 2), recordFor(88064, 400, 13)];
  const fm = extractQa74(records, { asOf: Date.UTC(2030, 0, 1) });
  const get = (i: number, name: string) => fm.X.get(i, QA74_FEATURE_NAMES.indexOf(name));

  it('extracts without error or non-finite values', () => {
    expect(fm.X.rows).toBe(2);
    expect(fm.X.findNonFinite()).toBeNull();
    expect(fm.missing.every((v) => v === 0)).toBe(true);
  });

  it('reads every control point, 80 leaves each, 200-byte blobs', () => {
    expect(get(0, 'cp_count')).toBe(6);
    expect(get(1, 'cp_count')).toBe(111);
    for (const i of [0, 1]) {
      expect(get(i, 'cp_sequential')).toBe(1);
      expect(get(i, 'cp_minimum_met')).toBe(1);
      expect(get(i, 'a_byte_length')).toBe(200);
      expect(get(i, 'byte_length_even')).toBe(1);
      expect(get(i, 'leaf_count')).toBe(80);
      expect(get(i, 'negative_gap_count')).toBe(0);
      expect(get(i, 'a_out_of_range')).toBe(0);
      expect(get(i, 'mu_cp_mismatch')).toBe(0);
    }
    expect(get(0, 'min_gap')).toBeCloseTo(4.0, 10);
    expect(get(1, 'min_gap')).toBeCloseTo(0.35, 10);
    expect(get(0, 'mu_cp_sum')).toBeCloseTo(150, 6);
  });

  it('takes MLC statistics over all points, not point 0 and not the padding', () => {
    const stats = (points: readonly TxFieldPointRow[], leaves: number | null) => {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let sum = 0;
      let n = 0;
      for (const p of points) {
        for (const v of decodeLeafSet(p.A_Leaf_Set, leaves === null ? null : p.MLC_Leaves).positions) {
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
          n++;
        }
      }
      return { min, max, mean: sum / n, n };
    };
    records.forEach((r, i) => {
      const used = stats(r.controlPoints, 80);
      expect(used.n).toBe(r.controlPoints.length * 80);
      expect(get(i, 'a_min_pos')).toBeCloseTo(used.min, 10);
      expect(get(i, 'a_max_pos')).toBeCloseTo(used.max, 10);
      expect(get(i, 'a_mean_pos')).toBeCloseTo(used.mean, 10);
      // With the 20 zero padding slots (what the original decoded) the statistics would differ.
      const withPadding = stats(r.controlPoints, null);
      expect(withPadding.n).toBe(r.controlPoints.length * 100);
      expect(get(i, 'a_mean_pos')).not.toBeCloseTo(withPadding.mean, 3);
    });
    // Point 0 alone is not the whole field.
    const cp0 = stats(records[1]!.controlPoints.slice(0, 1), 80);
    expect(cp0.min).not.toBeCloseTo(get(1, 'a_min_pos'), 3);
  });

  it('sees a smooth arc: small gantry steps, no jumps', () => {
    expect(get(1, 'gantry_max_delta')).toBeLessThan(10);
    expect(get(1, 'gantry_suspicious_jumps')).toBe(0);
    expect(get(1, 'gantry_out_of_range')).toBe(0);
    expect(get(0, 'gantry_range')).toBe(0);
  });
});
