import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-proto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a monitor config with prototype keys', () => {
  it('is refused naming the file and the key, in YAML and in JSON', async () => {
    const yaml = join(dir, 'monitor.yaml');
    writeFileSync(
      yaml,
      'source:\n  database: { type: sqlite, path: clinic.sqlite, __proto__: { admin: true } }\nmodel:\n  dir: models/current/mosaiq-ebm\n',
    );
    await expect(loadConfig(yaml)).rejects.toThrow(
      `${yaml}: source.database.__proto__: expected an ordinary key (__proto__, prototype and constructor are refused)`,
    );
    const json = join(dir, 'monitor.json');
    writeFileSync(
      json,
      '{"source": {"database": {"type": "sqlite", "path": "c.sqlite"}}, "model": {"dir": "m", "constructor": {"prototype": {}}}}',
    );
    await expect(loadConfig(json)).rejects.toThrow(
      /monitor\.json: model\.constructor: expected an ordinary key/,
    );
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
