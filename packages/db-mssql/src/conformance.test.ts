import { adapterConformance } from '@anomalia/mosaiq/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestServer, type TestSqlServer } from './test-server/server';
import { liveBackend, mssqlHarness, testServerBackend } from './testing/harness';

/**
 * The adapter conformance kit of @anomalia/mosaiq through the real driver: against the TDS test
 * server always, and against a real SQL Server when MSSQL_URL is set (see the README).
 */
describe('the adapter conformance kit on db-mssql, through mssql/tedious to the TDS test server', () => {
  let server: TestSqlServer;
  const backend = testServerBackend(() => server);
  const kit = adapterConformance({ harness: mssqlHarness(backend, 'kit') });
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await kit.dispose();
    await server.close();
  });
  for (const check of kit.checks) it(check.name, check.run);
});

const live = process.env.MSSQL_URL;
describe.skipIf(!live)('the adapter conformance kit on db-mssql, live on SQL Server (MSSQL_URL)', () => {
  const kit = adapterConformance({
    harness: mssqlHarness(liveBackend(live ?? 'mssql://unset@localhost/x'), `anomalia_kit_${process.pid}_`),
  });
  afterAll(() => kit.dispose());
  for (const check of kit.checks) it(check.name, check.run);
});
