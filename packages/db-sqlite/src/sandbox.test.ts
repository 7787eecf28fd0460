import { ValidationError } from '@anomalia/core';
import { LEDGER_TABLE, RUN_TABLE, SANDBOX_MARKER_TABLE } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum } from './checksum';
import { openTreatmentReader } from './reader';
import { cloneAsSandbox, createSandbox, isSandbox, markAsSandbox, sandboxInfo } from './sandbox';
import { type Clinic, fileFingerprint, loadClinic, plainDatabase, tempDir } from './testing/fixtures';
import { openSandboxWriter } from './writer';

const tmp = tempDir();
let clinic: Clinic;

beforeAll(() => {
  clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 31, records: 300 });
});
afterAll(() => tmp.cleanup());

const tables = (path: string) => {
  const db = new Database(path, { readonly: true });
  const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
  db.close();
  return names as string[];
};

describe('createSandbox', () => {
  it('creates an empty Mosaiq database marked as a sandbox, with its run and ledger tables', () => {
    const path = tmp.path('empty-sandbox.sqlite');
    const info = createSandbox(path);
    expect(info).toMatchObject({ path, origin: 'created', source: null });
    expect(isSandbox(path)).toBe(true);
    expect(tables(path)).toEqual(
      expect.arrayContaining([SANDBOX_MARKER_TABLE, RUN_TABLE, LEDGER_TABLE, 'TxFieldPoint']),
    );
    const reader = openTreatmentReader(path);
    expect(reader.tableCounts().TrackTreatment).toBe(0);
    reader.closeSync();
    expect(() => createSandbox(path)).toThrow(/path: expected a path where no file exists yet/);
  });

  it('can hold a synthetic clinic, ready for a writer', () => {
    const path = tmp.path('clinic-sandbox.sqlite');
    createSandbox(path, { clinic: { seed: 31, records: 300 } });
    // The same clinic as the plain database: same content, same checksum.
    expect(tableChecksum(path)).toBe(tableChecksum(clinic.path));
    openSandboxWriter(path).closeSync();
  });

  it('creates no file when the clinic options are bad', () => {
    const path = tmp.path('bad.sqlite');
    expect(() => createSandbox(path, { clinic: { seed: 1, records: 0 } })).toThrow(/options\.records/);
    expect(() => fileFingerprint(path)).toThrow();
  });
});

describe('markAsSandbox', () => {
  it('needs an explicit confirmation, and changes nothing without it', () => {
    const plain = tmp.path('plain-clinic.sqlite');
    loadClinic(plain, { seed: 32, records: 50 });
    const before = fileFingerprint(plain);
    expect(() => markAsSandbox(plain, {} as never)).toThrow(/options\.confirm: expected true/);
    expect(() => markAsSandbox(plain, { confirm: 'yes' } as never)).toThrow(ValidationError);
    expect(fileFingerprint(plain)).toEqual(before);
    expect(isSandbox(plain)).toBe(false);

    const info = markAsSandbox(plain, { confirm: true });
    expect(info.origin).toBe('marked');
    expect(isSandbox(plain)).toBe(true);
    expect(markAsSandbox(plain, { confirm: true })).toEqual(info);
    expect(sandboxInfo(plain)).toEqual(info);
    openSandboxWriter(plain).closeSync();
  });

  it('refuses a database without the Mosaiq schema', () => {
    const path = plainDatabase(tmp.path('not-mosaiq.sqlite'));
    expect(() => markAsSandbox(path, { confirm: true })).toThrow(/not a Mosaiq database/);
    expect(isSandbox(path)).toBe(false);
    expect(() => sandboxInfo(path)).toThrow(/path: expected a sandbox database/);
  });
});

describe('cloneAsSandbox', () => {
  it('copies a clinic without touching the source (same bytes, same mtime) and marks only the copy', async () => {
    const before = fileFingerprint(clinic.path);
    // mtime has a coarse resolution on some file systems: make sure a write would show.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const target = tmp.path('clone.sqlite');
    const info = cloneAsSandbox(clinic.path, target);
    expect(info).toMatchObject({ path: target, origin: 'clone', source: clinic.path });
    expect(fileFingerprint(clinic.path)).toEqual(before);
    expect(isSandbox(clinic.path)).toBe(false);
    expect(isSandbox(target)).toBe(true);
    expect(tableChecksum(target)).toBe(tableChecksum(clinic.path));
    expect(fileFingerprint(clinic.path)).toEqual(before);
  });

  it('refuses an existing target and a source that is not a Mosaiq database', () => {
    const target = tmp.path('clone-2.sqlite');
    cloneAsSandbox(clinic.path, target);
    expect(() => cloneAsSandbox(clinic.path, target)).toThrow(
      /target: expected a path where no file exists yet/,
    );
    const notMosaiq = plainDatabase(tmp.path('notes.sqlite'));
    expect(() => cloneAsSandbox(notMosaiq, tmp.path('clone-3.sqlite'))).toThrow(/not a Mosaiq database/);
    expect(() => fileFingerprint(tmp.path('clone-3.sqlite'))).toThrow();
    expect(() => cloneAsSandbox(tmp.path('absent.sqlite'), tmp.path('clone-4.sqlite'))).toThrow(
      /source: expected an existing/,
    );
  });

  it('copies a sandbox with its runs, which can be restored in the copy alone', () => {
    const a = tmp.path('sandbox-a.sqlite');
    cloneAsSandbox(clinic.path, a);
    const original = tableChecksum(a);
    const field = clinic.rows.TxField[0]!;
    const writer = openSandboxWriter(a);
    const run = writer.applySync(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: field.FLD_ID,
          column: 'Meterset',
          oldValue: field.Meterset,
          newValue: -1,
        },
      ],
      { label: 'copied run' },
    );
    writer.closeSync();
    const changed = tableChecksum(a);

    const b = tmp.path('sandbox-b.sqlite');
    expect(cloneAsSandbox(a, b)).toMatchObject({ origin: 'clone', source: a });
    const copy = openSandboxWriter(b);
    expect(copy.listRunsSync().map((r) => r.runId)).toEqual([run.runId]);
    copy.restoreSync(run.runId);
    copy.closeSync();
    expect(tableChecksum(b)).toBe(original);
    expect(tableChecksum(a)).toBe(changed);
  });
});
