import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServerConfig, resolveConfig } from './config';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-mcp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('resolveConfig', () => {
  it('takes a SQLite path from ANOMALIA_MCP_DB, relative to the working directory, with default limits', () => {
    const config = resolveConfig({ env: { ANOMALIA_MCP_DB: 'data/sandbox.sqlite' }, cwd: '/srv' });
    expect(config).toEqual({
      database: { type: 'sqlite', path: '/srv/data/sandbox.sqlite' },
      maxTargets: 100,
      maxCandidates: 2000,
    });
  });

  it('prefers --config over the environment and resolves the path against the config file', () => {
    const file = writeConfig('a.json', { database: { type: 'sqlite', path: 'box.sqlite' }, maxTargets: 5 });
    const config = resolveConfig({
      configFile: file,
      env: { ANOMALIA_MCP_DB: '/elsewhere.sqlite' },
      cwd: '/',
    });
    expect(config.database).toEqual({ type: 'sqlite', path: join(dir, 'box.sqlite') });
    expect(config.maxTargets).toBe(5);
    const viaEnv = resolveConfig({ env: { ANOMALIA_MCP_CONFIG: file }, cwd: '/' });
    expect(viaEnv.database).toEqual({ type: 'sqlite', path: join(dir, 'box.sqlite') });
  });

  it('names the missing target and every way to give one', () => {
    expect(() => resolveConfig({ env: {}, cwd: '/' })).toThrow(
      /database: expected a target database: --config <file.json>, or ANOMALIA_MCP_CONFIG=.*ANOMALIA_MCP_DB=/,
    );
    expect(() => resolveConfig({ env: { ANOMALIA_MCP_DB: '  ' }, cwd: '/' })).toThrow(/database: expected/);
  });

  it('reports unreadable or malformed files naming --config', () => {
    expect(() => resolveConfig({ configFile: join(dir, 'missing.json'), env: {}, cwd: '/' })).toThrow(
      /--config: expected a readable JSON config file/,
    );
    const bad = writeConfig('bad.json', '{ "database": ');
    expect(() => resolveConfig({ configFile: bad, env: {}, cwd: '/' })).toThrow(
      /--config: expected valid JSON/,
    );
  });
});

describe('parseServerConfig', () => {
  it('names the bad field, with the file it came from', () => {
    expect(() => parseServerConfig({ database: { type: 'oracle', path: 'x' } }, 'c.json')).toThrow(
      /c\.json\.database\.type: expected .*sqlite/,
    );
    // SQL Server is a source type too: its URL is what it needs.
    expect(() => parseServerConfig({ database: { type: 'mssql', path: 'x' } }, 'c.json')).toThrow(
      /c\.json\.database\.url: expected a database URL/,
    );
    expect(() => parseServerConfig({ database: { type: 'sqlite', path: '' } })).toThrow(
      /config\.database\.path/,
    );
    expect(() => parseServerConfig({ database: { type: 'sqlite', path: 'x' }, maxTargets: 0 })).toThrow(
      /config\.maxTargets: expected .*received 0/,
    );
    expect(() => parseServerConfig({ database: { type: 'sqlite', path: 'x' }, maxTarget: 3 })).toThrow(
      /config\.maxTarget: expected no such key/,
    );
    expect(() => parseServerConfig({})).toThrow(/config\.database: expected/);
    expect(() =>
      parseServerConfig(
        JSON.parse('{"database": {"type": "sqlite", "path": "x", "__proto__": {"path": "/etc"}}}'),
        'c.json',
      ),
    ).toThrow(
      'c.json.database.__proto__: expected an ordinary key (__proto__, prototype and constructor are refused)',
    );
  });
});
