import { describe, expect, it } from 'vitest';
import {
  decodeTreatmentCursor,
  encodeTreatmentCursor,
  NotASandboxError,
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
