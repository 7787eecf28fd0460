import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableChecksum } from '@anomalia/db-sqlite';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabases, type TestDatabases } from './testing/fixtures';

// The built server (turbo runs this package's build before its test task): what an MCP client runs.
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

let dbs: TestDatabases;
beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`pnpm build\` (\`pnpm test\` builds it first)`);
  dbs = makeDatabases(200);
});
afterAll(() => dbs.cleanup());

describe('the built server over stdio', () => {
  it('starts with ANOMALIA_MCP_DB, lists its tools, and applies and restores a run', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI],
      env: { PATH: process.env.PATH ?? '', ANOMALIA_MCP_DB: dbs.sandbox },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-test', version: '0.0.0' });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'anomalia-mcp' });
      const { tools } = await client.listTools();
      // 10 accidental and 10 malicious modes, plus 5 catalogue, preview and ledger tools.
      expect(tools).toHaveLength(25);
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining([
          'corrupt_mlc_data',
          'subtle_dose_escalation',
          'preview',
          'list_runs',
          'restore_run',
          'describe_failure_mode',
        ]),
      );

      const before = tableChecksum(dbs.sandbox);
      const applied = (
        await client.callTool({ name: 'invalid_angles', arguments: { variant: 'collimator' } })
      ).structuredContent as { runId: string };
      expect(tableChecksum(dbs.sandbox)).not.toBe(before);
      await client.callTool({ name: 'restore_run', arguments: { run_id: applied.runId } });
      expect(tableChecksum(dbs.sandbox)).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('exits with a clear message when no target is configured or the config is bad', () => {
    const none = spawnSync(process.execPath, [CLI], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/anomalia-mcp: database: expected a target database/);
    expect(none.stdout).toBe('');

    const bad = spawnSync(process.execPath, [CLI, '--config', join(dbs.dir, 'none.json')], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--config: expected a readable JSON config file/);

    const unknown = spawnSync(process.execPath, [CLI, '--db', 'x'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(
      /arguments: expected only --config <file>, --help or --version, received "--db"/,
    );

    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: anomalia-mcp \[--config <config\.json>\]/);
  });
});
