import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli-main';
import { startTestServer, type TestSqlServer } from './test-server/server';

let server: TestSqlServer;
beforeAll(async () => {
  server = await startTestServer({ databases: ['cli'] });
});
afterAll(() => server.close());

async function run(args: string[], env: Record<string, string> = {}) {
  const lines: string[] = [];
  const code = await main(args, env, (l) => lines.push(l));
  return { code, out: lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : l)) };
}

describe('anomalia-db-mssql', () => {
  it('creates a sandbox with a synthetic clinic only when confirmed, then checks it and checksums it', async () => {
    const url = server.url('cli');
    await expect(run(['create-sandbox', '--url', url, '--records', '40'])).rejects.toThrow(
      /^--confirm: expected the flag/,
    );
    const created = await run(['create-sandbox', '--confirm', '--records', '40', '--seed', '3'], {
      MSSQL_URL: url,
    });
    expect(created.out[0]).toMatchObject({ origin: 'created', loaded: { TrackTreatment: 40 } });
    const check = await run(['check', '--url', url]);
    expect(check.out[0]).toMatchObject({
      sandbox: true,
      tables: { TrackTreatment: 40 },
      watermark: expect.stringMatching(/^0x[0-9a-f]{16}$/),
    });
    expect((await run(['mark-sandbox', '--confirm', '--url', url])).out[0]).toMatchObject({
      origin: 'created',
    });
    const sum = await run(['checksum', '--url', url]);
    expect(sum.out[0].total).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(['checksum', '--url', url])).out[0]).toEqual(sum.out[0]);
  });

  it('explains itself and names what is missing', async () => {
    expect((await run(['--help'])).out[0]).toMatch(/^anomalia-db-mssql <command>/);
    expect((await run([])).code).toBe(2);
    await expect(run(['check'])).rejects.toThrow(/^--url: expected a connection URL \(or MSSQL_URL/);
    await expect(run(['frob', '--url', server.url('cli')])).rejects.toThrow(
      /^command: expected check, mark-sandbox/,
    );
    await expect(
      run(['create-sandbox', '--confirm', '--records', 'ten', '--url', server.url('cli')]),
    ).rejects.toThrow(/^--records: expected a whole number/);
  });
});
