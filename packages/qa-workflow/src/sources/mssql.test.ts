import { existsSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { createSandbox, MssqlClient, mssqlTarget, tableChecksum } from '@anomalia/db-mssql';
import { tempDir } from '@anomalia/db-sqlite/testing';
import { NotASandboxError } from '@anomalia/mosaiq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The TDS test server of @anomalia/db-mssql (real mssql/tedious driver over TCP, SQLite underneath).
import { startTestServer, type TestSqlServer } from '../../../db-mssql/src/test-server/server';
import { prepareTrainingSet } from '../training-set';
import { describeSource, openSandbox, openSource, resolveSource } from './registry';

const tmp = tempDir();
let server: TestSqlServer;
const RECORDS = 1500;

beforeAll(async () => {
  server = await startTestServer({
    databases: ['mosaiq', 'sandbox'],
    users: {
      sa: { password: 'Owner-Passw0rd', role: 'owner' },
      reader: { password: 'Reader-Passw0rd', role: 'datareader' },
    },
  });
  // A production-like Mosaiq: loaded through a sandbox, then its marker dropped.
  const env = { MSSQL_PASSWORD: 'Owner-Passw0rd' };
  await createSandbox(server.url('mosaiq', 'sa'), {
    confirm: true,
    clinic: { seed: 11, records: RECORDS },
    env,
  });
  const owner = await MssqlClient.connect(mssqlTarget(server.url('mosaiq', 'sa')), { role: 'writer' });
  for (const t of ['Anomalia_Ledger', 'Anomalia_Run', 'Anomalia_Sandbox'])
    await owner.query({ sql: `DROP TABLE [anomalia].[${t}];`, params: [] });
  await owner.close();
  await createSandbox(server.url('sandbox', 'sa'), {
    confirm: true,
    clinic: { seed: 12, records: 200 },
    env,
  });
}, 120_000);
afterAll(async () => {
  await server?.close();
  tmp.cleanup();
});

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('did not throw');
}

describe('a SQL Server source', () => {
  it('is configured as { type: mssql, url } plus the settings of db-mssql, each validated', () => {
    const config = resolveSource({
      type: 'mssql',
      url: 'mssql://reader@db:1433/MOSAIQ',
      isolation: 'snapshot',
    });
    expect(config).toEqual({ type: 'mssql', url: 'mssql://reader@db:1433/MOSAIQ', isolation: 'snapshot' });
    expect(resolveSource({ type: 'mssql', url: { env: 'MOSAIQ_URL' } }, 'source')).toEqual({
      type: 'mssql',
      url: { env: 'MOSAIQ_URL' },
    });
    expect(fieldOf(() => resolveSource({ type: 'mssql', url: 'x', isolation: 'dirty' }, 'database'))).toBe(
      'database.isolation',
    );
    expect(fieldOf(() => resolveSource({ type: 'mssql', url: 'x', pool: { max: 0 } }, 'database'))).toBe(
      'database.pool.max',
    );
    expect(fieldOf(() => resolveSource({ type: 'mssql', url: 'x', password: 'p' }, 'database'))).toMatch(
      /^database/,
    );
    expect(fieldOf(() => resolveSource({ type: 'oracle', url: 'x' }, 'database'))).toBe('database.type');
    // Never the password in messages.
    expect(describeSource(resolveSource({ type: 'mssql', url: 'mssql://sa:secret@db/MOSAIQ' }))).toBe(
      'mssql://sa:***@db/MOSAIQ',
    );
  });

  it('is opened read-only through the registry, with every table present and its key ceilings', async () => {
    const source = resolveSource({ type: 'mssql', url: server.url('mosaiq', 'reader') });
    const opened = await openSource(source);
    try {
      expect(opened.name).toContain('/mosaiq as reader');
      expect((await opened.reader.tablePresence()).absent).toEqual([]);
      const page = await opened.reader.listTreatments({
        from: new Date(0),
        to: new Date('2100-01-01'),
        pageSize: 50,
      });
      const { records } = await opened.reader.loadRecords(page.items.map((t) => t.TTX_ID));
      expect(records).toHaveLength(50);
      expect((await opened.reader.maxKeys()).TrackTreatment).toBeGreaterThan(1_000_000);
      const changes = await opened.reader.changesSince(null, { limit: 10 });
      expect(changes.items).toHaveLength(10);
    } finally {
      await opened.close();
    }
  });

  it('reads the URL from the environment when given as { env }', async () => {
    const source = resolveSource({ type: 'mssql', url: { env: 'ANOMALIA_TEST_MSSQL_URL' } });
    await expect(openSource(source)).rejects.toThrow(/ANOMALIA_TEST_MSSQL_URL/);
    process.env.ANOMALIA_TEST_MSSQL_URL = server.url('mosaiq', 'reader');
    try {
      const opened = await openSource(source);
      await opened.close();
    } finally {
      delete process.env.ANOMALIA_TEST_MSSQL_URL;
    }
  });

  it('writes only through the sandbox writer of a marked sandbox', async () => {
    await expect(
      openSandbox(resolveSource({ type: 'mssql', url: server.url('mosaiq', 'sa') })),
    ).rejects.toThrow(NotASandboxError);
    const sandbox = await openSandbox(resolveSource({ type: 'mssql', url: server.url('sandbox', 'sa') }));
    try {
      expect(await sandbox.writer.listRuns()).toEqual([]);
      expect(sandbox.staleness()).toBeNull();
    } finally {
      await sandbox.close();
    }
  });

  it('says which runs a sandbox still has applied (training refuses such a source), and none for a production database', async () => {
    const production = await openSource(
      resolveSource({ type: 'mssql', url: server.url('mosaiq', 'reader') }),
    );
    try {
      expect(await production.reader.unrestoredRuns()).toEqual([]);
    } finally {
      await production.close();
    }
    const sandbox = await openSandbox(resolveSource({ type: 'mssql', url: server.url('sandbox', 'sa') }));
    const reader = await openSource(resolveSource({ type: 'mssql', url: server.url('sandbox', 'sa') }));
    try {
      const page = await sandbox.reader.listTreatments({
        from: new Date(0),
        to: new Date('2100-01-01'),
        pageSize: 1,
      });
      const t = page.items[0]!;
      const run = await sandbox.writer.apply(
        [
          {
            kind: 'update',
            table: 'TrackTreatment',
            key: t.TTX_ID,
            column: 'Edit_DtTm',
            oldValue: t.Edit_DtTm,
            newValue: new Date(0),
          },
        ],
        { label: 'one edited treatment' },
      );
      expect((await sandbox.reader.unrestoredRuns()).map((r) => r.runId)).toEqual([run.runId]);
      expect((await reader.reader.unrestoredRuns()).map((r) => r.runId)).toEqual([run.runId]);
      await sandbox.writer.restore(run.runId);
      expect(await sandbox.reader.unrestoredRuns()).toEqual([]);
      expect(await reader.reader.unrestoredRuns()).toEqual([]);
    } finally {
      await reader.close();
      await sandbox.close();
    }
  });

  it('trains from it: the cohort is corrupted in a SQLite sandbox holding its rows, the server never written', async () => {
    const source = resolveSource({ type: 'mssql', url: server.url('mosaiq', 'reader') });
    const before = await tableChecksum(server.url('mosaiq', 'sa'), { env: {} });
    const sandboxPath = tmp.path('mssql-training.sqlite');
    const set = await prepareTrainingSet({
      source,
      recentDays: 3650,
      normal: 60,
      adversarial: 60,
      includeMalicious: false,
      seed: 5,
      sandboxPath,
      featureSet: 'qa74-cohort',
    });
    expect(set.features.X.rows).toBe(120);
    expect(set.cohort.records.length).toBeGreaterThan(RECORDS * 0.9);
    expect(set.plan.changes.length).toBeGreaterThan(0);
    const report = await set.finish();
    expect(report.restored).toBe(true);
    expect(existsSync(sandboxPath)).toBe(false);
    expect((await tableChecksum(server.url('mosaiq', 'sa'), { env: {} })).total).toBe(before.total);
  }, 120_000);
});
