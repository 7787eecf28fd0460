import { describe, expect, it } from 'vitest';
import { withReaderThread } from './parts';

describe('the SQLite source’s reader thread', () => {
  const sqlite = { type: 'sqlite', path: 'clinic.sqlite' } as const;

  it('is on where there are cores for it (4 or more), unless the config says', () => {
    expect(withReaderThread(sqlite, 2)).toEqual({ ...sqlite, readerThread: false });
    expect(withReaderThread(sqlite, 4)).toEqual({ ...sqlite, readerThread: true });
    expect(withReaderThread({ ...sqlite, readerThread: true }, 2)).toEqual({ ...sqlite, readerThread: true });
    expect(withReaderThread({ ...sqlite, readerThread: false }, 16)).toEqual({
      ...sqlite,
      readerThread: false,
    });
  });

  it('leaves a server source alone (its reads never block the main thread)', () => {
    const mssql = { type: 'mssql', url: 'mssql://db/mosaiq' } as never;
    expect(withReaderThread(mssql, 16)).toBe(mssql);
  });
});
