import { join } from 'node:path';
import { ValidationError } from '@anomalia/core';
import { createSandbox, tableChecksum } from '@anomalia/db-sqlite';
import { loadClinic, plainDatabase, tempDir } from '@anomalia/db-sqlite/testing';
import { emptyTableRows, NotASandboxError } from '@anomalia/mosaiq';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cloneToSqliteSandbox,
  describeSource,
  openSandbox,
  openSource,
  resolveSource,
  sourceExists,
  synthesizeSource,
} from './registry';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('did not throw');
}

describe('resolveSource', () => {
  it('reads a plain path as an SQLite file, resolved against the base directory', () => {
    expect(resolveSource('clinic.sqlite', 'dataset.source', '/data')).toEqual({
      type: 'sqlite',
      path: '/data/clinic.sqlite',
    });
    expect(resolveSource({ type: 'sqlite', path: 'a/b.sqlite' }, 'database', '/etc/anomalia')).toEqual({
      type: 'sqlite',
      path: '/etc/anomalia/a/b.sqlite',
    });
    expect(resolveSource({ type: 'sqlite', path: '/abs.sqlite' }, 'database', '/x')).toEqual({
      type: 'sqlite',
      path: '/abs.sqlite',
    });
  });

  it('refuses unknown types and keys, naming the field', () => {
    expect(fieldOf(() => resolveSource({ type: 'oracle', url: 'oracle://x' }, 'database'))).toBe(
      'database.type',
    );
    expect(fieldOf(() => resolveSource({ type: 'sqlite', path: 'x', pw: 1 }, 'database'))).toMatch(
      /^database/,
    );
    expect(fieldOf(() => resolveSource('', 'dataset.source'))).toBe('dataset.source');
    const polluted = JSON.parse('{"type": "sqlite", "path": "x", "__proto__": {"admin": true}}');
    expect(fieldOf(() => resolveSource(polluted, 'database'))).toBe('database.__proto__');
  });
});

describe('opening SQLite sources', () => {
  const clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 3, records: 300 });
  const source = resolveSource(clinic.path);

  it('reads a source read-only, with its key ceilings', async () => {
    const before = tableChecksum(clinic.path);
    const opened = await openSource(source);
    try {
      expect(opened.name).toBe(clinic.path);
      const { records } = await opened.reader.loadRecords([clinic.records[0]!.treatment.TTX_ID]);
      expect(records).toHaveLength(1);
      const max = await opened.reader.maxKeys();
      expect(max.TrackTreatment).toBe(Math.max(...clinic.rows.TrackTreatment.map((r) => r.TTX_ID)));
    } finally {
      await opened.close();
    }
    expect(tableChecksum(clinic.path)).toBe(before);
  });

  it('opens a sandbox for writing, and refuses a database that is not one', async () => {
    await expect(openSandbox(source)).rejects.toThrow(NotASandboxError);
    await expect(openSandbox(resolveSource(plainDatabase(tmp.path('plain.sqlite'))))).rejects.toThrow();
    const sandboxPath = tmp.path('sandbox.sqlite');
    createSandbox(sandboxPath, { clinic: { seed: 3, records: 100 } });
    const sandbox = await openSandbox(resolveSource(sandboxPath));
    try {
      expect(await sandbox.writer.listRuns()).toEqual([]);
      expect((await sandbox.reader.listTreatments({ from: new Date(0), to: new Date() })).items.length).toBe(
        100,
      );
    } finally {
      await sandbox.close();
    }
  });

  it('synthesises a missing source and copies a source into a sandbox', async () => {
    const missing = resolveSource(join(tmp.dir, 'new', 'clinic.sqlite'));
    expect(sourceExists(missing)).toBe(false);
    synthesizeSource(missing, { records: 150, seed: 5 });
    expect(sourceExists(missing)).toBe(true);
    expect(describeSource(missing)).toBe(join(tmp.dir, 'new', 'clinic.sqlite'));

    const copy = tmp.path('copy.sqlite');
    await cloneToSqliteSandbox(source, copy, { rows: emptyTableRows() });
    expect(tableChecksum(copy)).toBe(tableChecksum(clinic.path));
    const sandbox = await openSandbox(resolveSource(copy));
    await sandbox.close();
  });
});
