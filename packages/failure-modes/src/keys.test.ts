import { ValidationError } from '@anomalia/core';
import { emptyTableRows, recordsToRows } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { createKeyAllocator } from './keys';

describe('createKeyAllocator', () => {
  const rows = recordsToRows([exampleRecord()]);

  it('hands out keys above every known key, never twice', () => {
    const keys = createKeyAllocator({ rows });
    expect(keys.allocate('TrackTreatment')).toBe(2);
    expect(keys.allocate('TrackTreatment')).toBe(3);
    expect(keys.allocate('Patient')).toBe(10_002);
    expect(keys.isFree('TrackTreatment', 3)).toBe(false);
    expect(keys.isFree('TrackTreatment', 4)).toBe(true);
  });

  it('respects the database floor when the cohort is a subset', () => {
    const keys = createKeyAllocator({ rows, floor: { TrackTreatment: 5000 } });
    expect(keys.isFree('TrackTreatment', 4000)).toBe(false);
    expect(keys.allocate('TrackTreatment')).toBe(5001);
  });

  it('skips claimed keys and treats keys at or below the ceiling as taken', () => {
    const keys = createKeyAllocator({ rows: emptyTableRows() });
    keys.claim('Site', 1);
    expect(keys.allocate('Site')).toBe(2);
    expect(keys.isFree('Site', 0)).toBe(false);
    expect(keys.isFree('Site', 1.5)).toBe(false);
  });

  it('names a bad floor or table', () => {
    expect(() => createKeyAllocator({ floor: { Offset: 1.5 } })).toThrow(ValidationError);
    expect(() => createKeyAllocator({ floor: { Offset: 1.5 } })).toThrow(/floor\.Offset/);
    expect(() => createKeyAllocator().allocate('Nope' as never)).toThrow(/one of TrackTreatment/);
  });

  it('refuses to go past the int range', () => {
    const keys = createKeyAllocator({ floor: { Staff: 2_147_483_647 } });
    expect(() => keys.allocate('Staff')).toThrow(/free int key/);
  });
});
