import { readFileSync } from 'node:fs';
import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64Url, parseCsv, readMosaiqCsv } from './csv';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded separators and CRLF', () => {
    expect(parseCsv('a,"b,c","d""e"\r\n1,,3\n')).toEqual([
      ['a', 'b,c', 'd"e'],
      ['1', '', '3'],
    ]);
    expect(parseCsv('x,y')).toEqual([['x', 'y']]);
    expect(() => parseCsv('a,"b')).toThrow(/closing quote/);
  });
});

describe('base64', () => {
  it('round-trips every length in both alphabets', () => {
    for (let n = 0; n < 12; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff);
      const text = encodeBase64Url(bytes);
      expect(text).not.toMatch(/[+/]/);
      expect(Array.from(decodeBase64(text))).toEqual(Array.from(bytes));
      expect(Array.from(decodeBase64(text.replace(/-/g, '+').replace(/_/g, '/')))).toEqual(Array.from(bytes));
    }
    expect(encodeBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8=');
  });

  it('rejects characters outside base64, naming the field', () => {
    expect(() => decodeBase64('ab$d', 'A_Leaf_Set')).toThrow(/A_Leaf_Set/);
    expect(() => decodeBase64('abcde')).toThrow(/impossible/);
  });
});

describe('readMosaiqCsv', () => {
  it('reads the real TxFieldPoint sample into typed rows', () => {
    const rows = readMosaiqCsv(
      'TxFieldPoint',
      readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv'), 'utf8'),
    );
    expect(rows).toHaveLength(117);
    expect(rows.filter((r) => r.FLD_ID === 88043)).toHaveLength(6);
    expect(rows.filter((r) => r.FLD_ID === 88064)).toHaveLength(111);
    const r = rows[1]!;
    expect(r).toMatchObject({
      TFP_ID: 948005,
      Point: 1,
      Index: 33.333,
      MLC_Leaves: 80,
      Coll_Y1: -12,
      Coll_Y2: 12,
    });
    expect(r.Edit_DtTm!.toISOString()).toBe('2020-04-27T07:55:24.020Z');
    expect(r.A_Leaf_Set).toBeInstanceOf(Uint8Array);
    // Unused columns pass through as text.
    expect((r as Record<string, unknown>).Couch_Top).toBeDefined();
  });

  it('names the line and column of a bad cell', () => {
    const text = 'id,DHS_ID,Pat_ID1,SIT_ID,FLD_ID,Tx_DtTm\n0,1,2,3,4,2020-01-01\n1,2,x,3,4,2020-01-01\n';
    expect(() => readMosaiqCsv('Dose_Hst', text)).toThrow(/csv line 3: Dose_Hst\.Pat_ID1/);
    expect(() => readMosaiqCsv('Dose_Hst', 'DHS_ID\n1\n')).toThrow(/Pat_ID1/);
  });
});
