import { describe, expect, it } from 'vitest';
import { compactBlobPair, compactValue, summarizeChange, summarizeChanges } from './change-summary';

describe('change summaries', () => {
  it('shows blobs as their leading bytes and length, dates as ISO strings', () => {
    const blob = new Uint8Array(200);
    blob[0] = 0xab;
    blob[7] = 0x01;
    expect(compactValue(blob)).toBe('0xab00000000000001… (200 bytes)');
    expect(compactValue(new Uint8Array([1, 2, 3]))).toBe('0x010203 (3 bytes)');
    expect(compactValue(new Uint8Array(0))).toBe('0x (0 bytes)');
    expect(compactValue(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))).toBe('2024-01-02T03:04:05.000Z');
    expect(compactValue(null)).toBeNull();
    expect(compactValue(true)).toBe(true);
  });

  it('shows where two versions of a blob differ', () => {
    const a = new Uint8Array(200).fill(0xab);
    const b = a.slice();
    b[54] = 0x18;
    b[55] = 0xd8;
    const change = summarizeChange({
      kind: 'update',
      table: 'TxFieldPoint',
      key: 1,
      column: 'A_Leaf_Set',
      oldValue: a,
      newValue: b,
    });
    expect(change).toMatchObject({ old: '200 bytes; @54–55: 0xabab', new: '200 bytes; @54–55: 0x18d8' });
    // A long difference is cut at 16 bytes; a shorter blob shows its own length.
    const c = new Uint8Array(199).fill(1);
    expect(compactBlobPair(a, c)).toEqual([
      `200 bytes; @0–199: 0x${'ab'.repeat(16)}…`,
      `199 bytes; @0–199: 0x${'01'.repeat(16)}…`,
    ]);
    expect(compactBlobPair(a, a.slice())).toEqual([
      '0xabababababababab… (200 bytes)',
      '0xabababababababab… (200 bytes)',
    ]);
  });

  it('summarizes updates, inserts and deletes, and counts what it leaves out', () => {
    const update = summarizeChange({
      kind: 'update',
      table: 'TxField',
      key: 5,
      column: 'Meterset',
      oldValue: 100,
      newValue: -100,
    });
    expect(update).toEqual({
      kind: 'update',
      table: 'TxField',
      key: 5,
      column: 'Meterset',
      old: 100,
      new: -100,
    });
    const insert = summarizeChange({
      kind: 'insert',
      table: 'Site',
      key: 9,
      row: { SIT_ID: 9, Site_Name: 'Prostate', Edit_DtTm: new Date(0) },
    });
    expect(insert).toEqual({
      kind: 'insert',
      table: 'Site',
      key: 9,
      row: { SIT_ID: 9, Site_Name: 'Prostate', Edit_DtTm: '1970-01-01T00:00:00.000Z' },
    });
    const many = Array.from({ length: 7 }, (_, i) => ({
      kind: 'update' as const,
      table: 'TxField' as const,
      key: i,
      column: 'Meterset',
      oldValue: 1,
      newValue: 2,
    }));
    const out = summarizeChanges(many, 5);
    expect(out.changes.map((c) => c.key)).toEqual([0, 1, 2, 3, 4]);
    expect(out.changesOmitted).toBe(2);
  });
});
