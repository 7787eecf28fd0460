import { describe, expect, it } from 'vitest';
import {
  decodeTreatmentCursor,
  decodeWatermark,
  encodeTreatmentCursor,
  encodeWatermark,
  NotASandboxError,
  parseChangeOptions,
  parseTreatmentQuery,
} from './adapters';

describe('parseTreatmentQuery', () => {
  const from = new Date('2024-01-01T00:00:00Z');
  const to = new Date('2024-02-01T00:00:00Z');

  it('fills defaults', () => {
    expect(parseTreatmentQuery({ from, to })).toEqual({
      from,
      to,
      completedOnly: false,
      qaMode: 'include',
      pageSize: 1000,
      cursor: null,
    });
  });

  it('names the bad field', () => {
    expect(() => parseTreatmentQuery({ from: to, to: from })).toThrow(/query\.to/);
    expect(() => parseTreatmentQuery({ from, to, pageSize: 0 })).toThrow(/query\.pageSize/);
    expect(() => parseTreatmentQuery({ from, to, qaMode: 'maybe' })).toThrow(/query\.qaMode/);
    expect(() => parseTreatmentQuery({ from, to, machineIds: [] })).toThrow(/query\.machineIds/);
    expect(() => parseTreatmentQuery({ from, to, limit: 5 })).toThrow(/query/);
  });
});

describe('treatment cursors', () => {
  it('round-trip and reject garbage', () => {
    const c = { createdAt: new Date('2020-04-27T07:55:23.973Z'), ttxId: 1_000_123 };
    expect(decodeTreatmentCursor(encodeTreatmentCursor(c))).toEqual(c);
    expect(() => decodeTreatmentCursor('not a cursor')).toThrow(/query\.cursor/);
  });

  it('NotASandboxError says why it refuses', () => {
    expect(new NotASandboxError('MOSAIQ').message).toMatch(
      /MOSAIQ: not a sandbox \(no Anomalia_Sandbox table\)/,
    );
  });
});

describe('watermarks', () => {
  it('are 8-byte row versions in hex, in the order of their versions', () => {
    expect(encodeWatermark(0x7d1n)).toBe('0x00000000000007d1');
    expect(decodeWatermark('0x00000000000007d1')).toBe(2001n);
    expect(encodeWatermark((1n << 64n) - 1n)).toBe('0xffffffffffffffff');
    const versions = [0n, 9n, 10n, 255n, 256n, 1n << 40n];
    const encoded = versions.map(encodeWatermark);
    expect([...encoded].sort()).toEqual(encoded);
  });

  it('refuse anything that is not one, naming the watermark', () => {
    for (const bad of ['2001', '0x7d1', '0X00000000000007D1', null, 7, '0x00000000000007d1 ']) {
      expect(() => decodeWatermark(bad), String(bad)).toThrow(/^watermark: expected a watermark returned by/);
    }
    expect(() => encodeWatermark(-1n)).toThrow(/watermark/);
    expect(() => encodeWatermark(1n << 64n)).toThrow(/watermark/);
  });

  it('change options default to pages of 1000 and name a bad limit', () => {
    expect(parseChangeOptions(undefined)).toEqual({ limit: 1000 });
    expect(parseChangeOptions({ limit: 5 })).toEqual({ limit: 5 });
    expect(() => parseChangeOptions({ limit: 0 })).toThrow(/^options\.limit/);
    expect(() => parseChangeOptions({ limit: 10, since: 3 })).toThrow(/^options/);
  });
});
