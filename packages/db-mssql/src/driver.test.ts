import {
  assembleRecords,
  emptyTableRows,
  NotASandboxError,
  TABLE_NAMES,
  type TableRows,
} from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MssqlClient } from './client';
import { mssqlTarget } from './config';
import { errorNumber, MssqlConnectionError, QueryCancelledError } from './errors';
import { openTreatmentReader } from './reader';
import { createSandbox, isSandbox, loadRows, markAsSandbox, sandboxInfo } from './sandbox';
import { createMosaiqSchemaStatement, probeMosaiqSchema, SchemaError } from './schema';
import { startTestServer, type TestSqlServer } from './test-server/server';
import { adminQuery, sqlServerStored } from './testing/harness';
import { openSandboxWriter } from './writer';

/**
 * The driver path end to end: mssql/tedious over TCP to the TDS test server, for what the
 * conformance kit does not look at: login and its errors, ApplicationIntent, isolation, retries
 * of deadlocks and dropped connections, cancellation, permissions, exact types, identity keys and
 * columns Anomalia does not use.
 */
let server: TestSqlServer;
let rows: TableRows;
let n = 0;
const env = {};

/** A new database on the test server holding the small clinic; its URL (extra options appended). */
async function clinicDatabase(more = ''): Promise<string> {
  const name = `driver${++n}`;
  if (n === 1) {
    server.createDatabase(name);
    await createSandbox(server.url(name), { confirm: true, rows, env });
  } else server.copyDatabase('driver1', name);
  return server.url(name, 'sa', more);
}

const sessionsOf = (app: string) => server.sessions.filter((s) => s.appName === app);
const everything = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') };

beforeAll(async () => {
  server = await startTestServer({
    users: {
      sa: { password: 'Owner-Passw0rd', role: 'owner' },
      reader: { password: 'Reader-Passw0rd', role: 'datareader' },
    },
  });
  rows = emptyTableRows();
  for (const b of generateClinic({ seed: 5, records: 120 }))
    for (const t of TABLE_NAMES) (rows[t] as unknown[]).push(...b.rows[t]);
});
afterAll(() => server.close());

describe('logging in', () => {
  it('a reader logs in with ApplicationIntent=ReadOnly at READ COMMITTED and sends only parameterised SELECTs', async () => {
    const url = await clinicDatabase('&appName=t-reader');
    const reader = await openTreatmentReader(url, { env });
    const page = await reader.listTreatments({ ...everything, pageSize: 10 });
    await reader.loadRecords(page.items.map((t) => t.TTX_ID));
    await reader.changesSince(null, { limit: 5 });
    await reader.close();
    const sessions = sessionsOf('t-reader');
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions) {
      expect(s.readOnlyIntent).toBe(true);
      expect(s.isolation[0]).toBe('read committed');
      expect(s.hints).toEqual([]);
      expect(s.transactions.begun).toBe(0);
    }
    // The driver's own session settings (lower-case SETs at login), then the reader's statements.
    const own = sessions.flatMap((s) => s.statements).filter((x) => !/^set /.test(x));
    expect(own.length).toBeGreaterThanOrEqual(5);
    for (const x of own) expect(x).toMatch(/^(SELECT|DECLARE) /);
    const listing = sessions
      .flatMap((s) => s.statements)
      .find((x) => x.includes('ORDER BY [Create_DtTm], [TTX_ID]'))!;
    expect(listing).toMatch(/\[Create_DtTm\] >= @p0 AND \[Create_DtTm\] < @p1/);
  });

  it('read-uncommitted is a documented session setting, snapshot reads run in snapshot transactions', async () => {
    const base = await clinicDatabase();
    const plain = await openTreatmentReader(base, { env });
    const expected = (await plain.loadRecords(rows.TrackTreatment.map((t) => t.TTX_ID))).records;
    await plain.close();
    for (const [isolation, app] of [
      ['read-uncommitted', 't-dirty'],
      ['snapshot', 't-snapshot'],
    ] as const) {
      const reader = await openTreatmentReader(`${base}&isolation=${isolation}&appName=${app}`, { env });
      const { records } = await reader.loadRecords(rows.TrackTreatment.map((t) => t.TTX_ID));
      expect(records).toEqual(expected);
      await reader.close();
      const sessions = sessionsOf(app);
      const log = sessions.flatMap((s) => s.isolation);
      if (isolation === 'snapshot') {
        expect(sessions.reduce((k, s) => k + s.transactions.begun, 0)).toBeGreaterThanOrEqual(1);
        expect(log).toContain('snapshot');
      } else expect(log[0]).toBe('read uncommitted');
      expect(sessions.flatMap((s) => s.hints)).toEqual([]);
    }
  });

  it('login failures say which setting to check and never show the password', async () => {
    const url = await clinicDatabase();
    const bad = url.replace('Owner-Passw0rd', 'wrong-Passw0rd');
    const errorOf = (p: Promise<unknown>) =>
      p.then(
        () => expect.fail('no error'),
        (e: unknown) => e as Error,
      );
    const login = await errorOf(openTreatmentReader(bad, { env }));
    expect(login).toBeInstanceOf(MssqlConnectionError);
    expect(login.message).toMatch(
      /login failed.*Login failed for user 'sa'.*check mssql\.user, mssql\.passwordEnv \(the password in \$MSSQL_PASSWORD\)/,
    );
    expect(login.message).not.toContain('wrong-Passw0rd');
    const database = await errorOf(openTreatmentReader(url.replace(/\/driver\d+\?/, '/nowhere?'), { env }));
    expect(database.message).toMatch(/Cannot open database "nowhere".*check mssql\.database/);
    const closed = await startTestServer();
    const port = closed.port;
    await closed.close();
    const refused = await errorOf(
      openTreatmentReader(`mssql://sa:x@127.0.0.1:${port}/M?encrypt=false&connectTimeoutMs=2000`, { env }),
    );
    expect(refused.message).toMatch(/could not reach the server.*check mssql\.server, mssql\.port/);
    const tls = await startTestServer({ requireEncryption: true, databases: ['M'] });
    try {
      const e = await errorOf(openTreatmentReader(tls.url('M'), { env }));
      expect(e.message).toMatch(
        /Server requires encryption.*check mssql\.encrypt, mssql\.trustServerCertificate/,
      );
    } finally {
      await tls.close();
    }
  });

  it('a db_datareader login reads; marking a sandbox with it fails on the server permission, naming nothing secret', async () => {
    const url = await clinicDatabase();
    const asReader = url.replace('sa:Owner-Passw0rd', 'reader:Reader-Passw0rd');
    const reader = await openTreatmentReader(asReader, { env });
    expect((await reader.listTreatments({ ...everything, pageSize: 3 })).items).toHaveLength(3);
    await reader.close();
    await expect(isSandbox(asReader, { env })).resolves.toBe(true);
    const other = `driver-blank${n}`;
    server.createDatabase(other);
    await adminQuery(server.url(other), createMosaiqSchemaStatement('dbo').sql);
    await expect(markAsSandbox(server.url(other, 'reader'), { confirm: true, env })).rejects.toThrow(
      /permission denied/,
    );
    await expect(isSandbox(server.url(other), { env })).resolves.toBe(false);
    const info = await markAsSandbox(server.url(other), { confirm: true, env });
    expect(info.origin).toBe('marked');
    expect(await sandboxInfo(server.url(other), { env })).toEqual(info);
    expect(await markAsSandbox(server.url(other), { confirm: true, env })).toEqual(info);
    await expect(markAsSandbox(server.url(other), { confirm: false as never, env })).rejects.toThrow(
      /^options\.confirm: expected true/,
    );
  });
});

describe('retries and cancellation', () => {
  const treatmentSelect = ({ sql }: { sql: string }) => sql.startsWith('SELECT [TTX_ID], [Create_DtTm]');

  it('a deadlock victim is run again: a read, and a whole run of changes', async () => {
    const url = await clinicDatabase('&appName=t-deadlock');
    const reader = await openTreatmentReader(url, { env });
    const ids = rows.TrackTreatment.map((t) => t.TTX_ID);
    const remove = server.addFault({
      match: treatmentSelect,
      error: {
        number: 1205,
        message:
          'Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
        severity: 13,
      },
    });
    const { records } = await reader.loadRecords(ids);
    remove();
    expect(records).toEqual(assembleRecords(sqlServerStored(rows)));
    const runs = sessionsOf('t-deadlock')
      .flatMap((s) => s.statements)
      .filter((s) => treatmentSelect({ sql: s }));
    expect(runs).toHaveLength(2);
    await reader.close();

    const writer = await openSandboxWriter(url.replace('t-deadlock', 't-deadlock-w'), { env });
    const field = sqlServerStored(rows).TxField[0]!;
    server.addFault({
      match: ({ sql }) => sql.startsWith('UPDATE [dbo].[TxField] SET [Meterset]'),
      error: { number: 1205, message: 'chosen as the deadlock victim', severity: 13 },
    });
    const run = await writer.apply(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: field.FLD_ID,
          column: 'Meterset',
          oldValue: field.Meterset,
          newValue: 1,
        },
      ],
      { label: 'retried' },
    );
    expect(await writer.listRuns()).toEqual([run]);
    expect(await writer.ledger(run.runId)).toHaveLength(1);
    const tx = sessionsOf('t-deadlock-w').reduce(
      (a, s) => ({
        begun: a.begun + s.transactions.begun,
        committed: a.committed + s.transactions.committed,
        rolledBack: a.rolledBack + s.transactions.rolledBack,
      }),
      { begun: 0, committed: 0, rolledBack: 0 },
    );
    expect(tx).toEqual({ begun: 2, committed: 1, rolledBack: 1 });
    await writer.restore(run.runId);
    await writer.close();
  });

  it('a deadlock that keeps coming back fails after retry.attempts tries, with its error number', async () => {
    const url = await clinicDatabase('&retryAttempts=2&appName=t-persistent');
    const reader = await openTreatmentReader(url, { env });
    const remove = server.addFault({
      match: treatmentSelect,
      error: { number: 1205, message: 'deadlock victim', severity: 13 },
      times: 100,
    });
    const error = await reader.loadRecords([rows.TrackTreatment[0]!.TTX_ID]).catch((e: unknown) => e);
    remove();
    expect(errorNumber(error)).toBe(1205);
    expect(
      sessionsOf('t-persistent')
        .flatMap((s) => s.statements)
        .filter((s) => treatmentSelect({ sql: s })),
    ).toHaveLength(2);
    await reader.close();
  });

  it('a dropped connection is retried on a new one', async () => {
    const url = await clinicDatabase('&appName=t-reset');
    const reader = await openTreatmentReader(url, { env });
    server.addFault({ match: treatmentSelect, reset: true });
    const { records } = await reader.loadRecords([rows.TrackTreatment[0]!.TTX_ID]);
    expect(records).toHaveLength(1);
    expect(sessionsOf('t-reset').length).toBeGreaterThanOrEqual(2);
    await reader.close();
  });

  it('an AbortSignal cancels a running query (an attention on the wire); the reader goes on working', async () => {
    const url = await clinicDatabase();
    const reader = await openTreatmentReader(url, { env });
    const remove = server.addFault({ match: treatmentSelect, delayMs: 20_000 });
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);
    await expect(
      reader.loadRecords([rows.TrackTreatment[0]!.TTX_ID], { signal: controller.signal }),
    ).rejects.toBeInstanceOf(QueryCancelledError);
    expect(performance.now() - started).toBeLessThan(10_000);
    remove();
    expect((await reader.loadRecords([rows.TrackTreatment[0]!.TTX_ID])).records).toHaveLength(1);
    await expect(
      reader.listTreatments({ ...everything }, { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(QueryCancelledError);
    await reader.close();
  });

  it('a query over requestTimeoutMs is cancelled and retried; with no tries left the timeout is the error', async () => {
    const url = await clinicDatabase('&requestTimeoutMs=1000');
    const reader = await openTreatmentReader(url, { env });
    server.addFault({ match: treatmentSelect, delayMs: 3000 });
    expect((await reader.loadRecords([rows.TrackTreatment[0]!.TTX_ID])).records).toHaveLength(1);
    await reader.close();
    const once = await openTreatmentReader(`${url}&retryAttempts=1`, { env });
    const remove = server.addFault({ match: treatmentSelect, delayMs: 3000 });
    await expect(once.loadRecords([rows.TrackTreatment[0]!.TTX_ID])).rejects.toThrow(
      /Timeout: Request failed to complete in 1000ms/,
    );
    remove();
    await once.close();
  });
});

describe('values and schemas', () => {
  it('gives back exactly what SQL Server stores: edges of every type, NULLs, rowversions', async () => {
    const name = `driver-types${++n}`;
    server.createDatabase(name);
    const base = sqlServerStored(rows);
    const t = base.TrackTreatment[0]!;
    const point = base.TxFieldPoint.find((p) => p.FLD_ID === t.FLD_ID)!;
    const edge = emptyTableRows();
    edge.TrackTreatment.push(
      {
        ...t,
        TTX_ID: -2147483648,
        Create_DtTm: new Date('1899-12-31T23:59:59.997Z'),
        WasQAMode: false,
        WasBeamComplete: true,
      },
      Object.fromEntries(Object.keys(t).map((k) => [k, k === 'TTX_ID' ? 2147483647 : null])) as never,
    );
    edge.TxFieldPoint.push({
      ...point,
      A_Leaf_Set: new Uint8Array(200).fill(0xff),
      B_Leaf_Set: new Uint8Array(200),
      Gantry_Ang: -12345.678,
      Point: -32768,
      Gantry_Dir_Enum: 255,
      Index: 0.0001,
    });
    edge.TxField.push(base.TxField.find((f) => f.FLD_ID === t.FLD_ID)!);
    edge.Staff.push({
      Staff_ID: t.Machine_ID_Staff_ID!,
      Type: 'Ångström',
      Category: 0,
      Last_Name: 'Ü',
      First_Name: '',
      Machine_Type: 0,
      Status_inactive: true,
    });
    await createSandbox(server.url(name), { confirm: true, rows: edge, env });
    const reader = await openTreatmentReader(server.url(name), { env });
    const { records } = await reader.loadRecords([-2147483648, 2147483647]);
    const expected = assembleRecords(sqlServerStored(edge));
    expect(records).toEqual(expected);
    expect(records[0]!.machine!.Last_Name).toBe('Ü'.padEnd(20, ' '));
    expect(records[0]!.controlPoints[0]!.A_Leaf_Set).toEqual(new Uint8Array(200).fill(0xff));
    expect(records[0]!.controlPoints[0]!.A_Leaf_Set!.constructor).toBe(Uint8Array);
    expect(records[1]!.treatment.Create_DtTm).toBeNull();
    const changes = await reader.changesSince(null);
    expect(changes.items.map((i) => i.version)).toEqual(['0x00000000000007d1', '0x00000000000007d2']);
    expect(await reader.maxKeys()).toMatchObject({
      TrackTreatment: 2147483647,
      TxFieldPoint: point.TFP_ID,
      Offset: null,
    });
    expect(await reader.tableCounts()).toMatchObject({
      TrackTreatment: 2,
      TxFieldPoint: 1,
      Staff: 1,
      Offset: 0,
    });
    await reader.close();
  });

  it('a value SQL Server cannot hold as given is refused before anything is sent', async () => {
    const url = await clinicDatabase('&appName=t-refuse');
    const writer = await openSandboxWriter(url, { env });
    const point = sqlServerStored(rows).TxFieldPoint[0]!;
    const sent = () =>
      sessionsOf('t-refuse')
        .flatMap((s) => s.statements)
        .filter((s) => /^(UPDATE|INSERT|DELETE)/.test(s));
    await expect(
      writer.apply(
        [
          {
            kind: 'update',
            table: 'TxFieldPoint',
            key: point.TFP_ID,
            column: 'A_Leaf_Set',
            oldValue: point.A_Leaf_Set,
            newValue: new Uint8Array(201),
          },
        ],
        { label: 'odd bytes' },
      ),
    ).rejects.toThrow('changes[0].newValue: expected exactly 200 bytes (the column is binary(200))');
    await expect(
      writer.apply(
        [
          {
            kind: 'update',
            table: 'TxFieldPoint',
            key: point.TFP_ID,
            column: 'Gantry_Ang',
            oldValue: point.Gantry_Ang,
            newValue: 123456.5,
          },
        ],
        { label: 'too wide' },
      ),
    ).rejects.toThrow(
      /changes\[0\]\.newValue: expected a number below 10\^5 in magnitude \(the column is decimal\(8,3\)\)/,
    );
    expect(sent()).toEqual([]);
    expect(await writer.listRuns()).toEqual([]);
    await writer.close();
  });

  it('keeps an identity key and the columns Anomalia does not use: a deleted row is restored whole', async () => {
    const name = `driver-wide${++n}`;
    server.createDatabase(name);
    const url = server.url(name, 'sa', '&appName=t-wide');
    const ddl = createMosaiqSchemaStatement('dbo').sql.replace(
      '[TTX_ID] int NOT NULL,',
      '[TTX_ID] int IDENTITY(1,1) NOT NULL,\n  [MAC_ID] int NULL,\n  [Notes] varchar(200) NULL,',
    );
    await adminQuery(url, ddl);
    await markAsSandbox(url, { confirm: true, env });
    const client = await MssqlClient.connect(mssqlTarget(url, { env }), { role: 'writer' });
    const columns = await probeMosaiqSchema(client, 'dbo');
    expect(columns.TrackTreatment.find((c) => c.name === 'TTX_ID')).toMatchObject({ identity: true });
    await loadRows(client, 'dbo', columns, rows);
    await client.close();
    const victim = sqlServerStored(rows).TrackTreatment[3]!;
    await adminQuery(
      url,
      `UPDATE [dbo].[TrackTreatment] SET [MAC_ID] = 77, [Notes] = 'kept' WHERE [TTX_ID] = ${victim.TTX_ID};`,
    );
    const writer = await openSandboxWriter(url, { env });
    const before = await writer.checksum();
    const run = await writer.apply(
      [{ kind: 'delete', table: 'TrackTreatment', key: victim.TTX_ID, row: victim }],
      { label: 'wide' },
    );
    expect((await writer.checksum()).total).not.toBe(before.total);
    await writer.restore(run.runId);
    expect(await writer.checksum()).toEqual(before);
    await writer.close();
    const log = sessionsOf('t-wide').flatMap((s) => s.statements);
    expect(log).toContain('SET IDENTITY_INSERT [dbo].[TrackTreatment] ON');
    expect(
      log.some((s) => /^INSERT INTO \[dbo\]\.\[TrackTreatment\] \(.*\[MAC_ID\], \[Notes\]\)/.test(s)),
    ).toBe(true);
  });

  it('names what is missing from a database that is not Mosaiq, and refuses to write to one that is not a sandbox', async () => {
    const name = `driver-empty${++n}`;
    server.createDatabase(name);
    await expect(openTreatmentReader(server.url(name), { env })).rejects.toThrow(
      /driver-empty\d+ as sa: not a Mosaiq database of @anomalia\/db-mssql: table dbo\.TrackTreatment is missing; table dbo\.TxField is missing/,
    );
    await expect(openSandboxWriter(server.url(name), { env })).rejects.toBeInstanceOf(NotASandboxError);
    await adminQuery(
      server.url(name),
      'CREATE TABLE [dbo].[TrackTreatment] ([TTX_ID] int NOT NULL, [Create_DtTm] varchar(30) NULL);',
    );
    const error = await openTreatmentReader(server.url(name), { env }).catch(
      (e: unknown) => e as SchemaError,
    );
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as SchemaError).problems).toContain('table dbo.TxField is missing');
    await expect(
      openSandboxWriter(`${server.url(name)}&applicationIntent=ReadOnly`, { env }),
    ).rejects.toThrow(/^mssql\.applicationIntent: expected ReadWrite for a writer/);
    await expect(createSandbox(server.url(name), { confirm: true, env })).rejects.toThrow(
      /^mssql\.database: expected an empty database \(it has dbo\.TrackTreatment; to use a copy of Mosaiq, markAsSandbox it\)/,
    );
  });
});
