import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatDuration } from './duration';
import { ConfigError, loadConfig, parseConfig } from './load';
import { resolveRoutes } from './schema';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const minimal = {
  source: { database: { type: 'sqlite', path: 'clinic.sqlite' } },
  model: { dir: 'models/current/mosaiq-ebm' },
};

describe('loadConfig', () => {
  it('fills every default from a minimal file', async () => {
    const file = join(dir, 'monitor.yaml');
    writeFileSync(
      file,
      'source:\n  database: { type: sqlite, path: clinic.sqlite }\nmodel:\n  dir: models/current/mosaiq-ebm\n',
    );
    const c = await loadConfig(file);
    expect(c.source).toEqual({ name: 'default', database: { type: 'sqlite', path: 'clinic.sqlite' } });
    expect(c.poll).toEqual({
      interval: 5_000,
      lookback: 86_400_000,
      batchSize: 10_000,
      retry: { initial: 1_000, max: 60_000 },
    });
    expect(c.state).toEqual({ path: '.anomalia/monitor/state.sqlite', synchronous: 'full' });
    expect(c.scoring).toEqual({ longitudinal: { enabled: true, historyDays: 120, maxFractions: 250_000 } });
    expect(c.sinks).toEqual([
      {
        name: 'alerts',
        type: 'jsonl',
        path: '.anomalia/monitor/alerts.jsonl',
        patientIdentifiers: 'omit',
        retry: { initial: 1_000, max: 300_000, factor: 2, maxAttempts: null },
      },
    ]);
    expect(c.inhibit).toEqual([
      { sourceBands: ['critical'], targetBands: ['high', 'medium', 'low'], equal: ['patient'] },
    ]);
    expect(c.log).toEqual({ level: 'info', redactPatientIdentifiers: true });
    expect(c.http).toBeUndefined();
    expect(c.queue).toBeUndefined();
    // Seed 001's routing over the one file sink.
    expect(
      resolveRoutes(c).map((r) => [
        r.name,
        r.bands,
        r.sinks,
        formatDuration(r.groupWait),
        r.repeatInterval && formatDuration(r.repeatInterval),
      ]),
    ).toEqual([
      ['critical', ['critical'], ['alerts'], '0ms', '1h'],
      ['high', ['high'], ['alerts'], '30s', '4h'],
      ['routine', ['medium', 'low'], ['alerts'], '30s', null],
    ]);
  });

  it('fills the queue section with its defaults and checks it', () => {
    const base = {
      source: { name: 'a', database: { type: 'sqlite', path: 'a.sqlite' } },
      model: { dir: 'm' },
    };
    expect(parseConfig({ ...base, queue: { redis: 'redis://127.0.0.1:6379' } }).queue).toEqual({
      redis: 'redis://127.0.0.1:6379',
      prefix: 'anomalia',
      sites: [],
      rangeSize: 500,
      maxOpenRanges: 64,
      concurrency: 1,
      lockDuration: 30_000,
    });
    expect(() => parseConfig({ ...base, queue: { redis: { env: 'R' }, prefix: 'a:b' } })).toThrow(
      /config: queue.prefix: expected up to 32 letters, digits, _ . -, received "a:b"/,
    );
    expect(() =>
      parseConfig({
        ...base,
        queue: { redis: 'redis://h', sites: [{ name: 'a', database: base.source.database }] },
      }),
    ).toThrow(
      /queue.sites\[0\].name: expected a site name not used before \("a" is; `source` is the first site\)/,
    );
  });

  it('reads the example config in configs/', async () => {
    const c = await loadConfig(new URL('../../configs/monitor.example.yaml', import.meta.url).pathname);
    expect(c.sinks.map((s) => s.type)).toEqual(['jsonl', 'webhook', 'email', 'slack']);
    expect(resolveRoutes(c)[0]).toMatchObject({
      name: 'page',
      groupWait: 0,
      groupInterval: 60_000,
      repeatInterval: 1_800_000,
    });
  });

  it('reads the demo config of the repository, whose simulated clinic is the one `pnpm start` trains on', async () => {
    const root = new URL('../../../../', import.meta.url).pathname;
    const c = await loadConfig(join(root, 'configs', 'monitor-demo.yaml'));
    expect(c.source.database).toEqual({ type: 'sqlite', path: '.anomalia/demo/clinic-live.sqlite' });
    expect(c.model.dir).toBe('models/current/mosaiq-ebm');
    expect(c.poll.interval).toBe(1_000);
    const train = parseYaml(readFileSync(join(root, 'configs', 'mosaiq-ebm.yaml'), 'utf8'));
    expect(c.simulator?.clinic).toEqual(train.dataset.synthesizeIfMissing);
    expect(`models/current/${train.name}`).toBe(c.model.dir);
  });

  it('names the file and key of every problem', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'source: [unclosed');
    await expect(loadConfig(bad)).rejects.toThrow(/bad.yaml: \(file\): not valid YAML/);
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toThrow(
      /--config: .*missing.yaml: cannot read it \(ENOENT\)/,
    );
    await expect(loadConfig(join(dir, 'monitor.toml'))).rejects.toThrow(
      /expected a .yaml, .yml or .json file/,
    );
    const cases: Array<[unknown, string]> = [
      [{ ...minimal, extra: 1 }, 'extra: expected no such key (unknown keys are refused, not ignored)'],
      [{ ...minimal, poll: { intervall: '5s' } }, 'poll.intervall: expected no such key'],
      [{ ...minimal, poll: { interval: '5 minutes' } }, 'poll.interval: expected'],
      [
        { ...minimal, source: { database: { type: 'oracle' } } },
        'source.database.type: expected a source whose type is one of "sqlite", "mssql", received "oracle"',
      ],
      [
        {
          ...minimal,
          source: { database: { type: 'mssql', url: 'mssql://r@db/MOSAIQ', isolation: 'dirty' } },
        },
        'source.database.isolation: expected one of "read-committed", "snapshot", "read-uncommitted"',
      ],
      [{ ...minimal, poll: { lookback: 'forever' } }, 'poll.lookback: expected'],
      [{ ...minimal, poll: { batchSize: 20_000 } }, 'poll.batchSize: expected a number ≤ 10000'],
      [
        { ...minimal, model: { dir: 'm', featureSet: 'qa75' } },
        'model.featureSet: expected one of "qa74", "qa74-cohort"',
      ],
      [
        { ...minimal, model: { dir: 'm', missingTables: 'ignore' } },
        'model.missingTables: expected one of "refuse", "warn"',
      ],
      [
        { ...minimal, scoring: { longitudinal: { historyDays: 0 } } },
        'scoring.longitudinal.historyDays: expected a number ≥ 1',
      ],
      [
        { ...minimal, scoring: { longitudinal: { enabled: 'yes' } } },
        'scoring.longitudinal.enabled: expected',
      ],
      [{ ...minimal, scoring: { tracker: {} } }, 'scoring.tracker: expected no such key'],
      [
        { ...minimal, guard: { minRecords: 500, window: 100 } },
        'guard.minRecords: expected at most guard.window (100)',
      ],
      [
        { ...minimal, simulator: { rate: 4 }, source: { database: { type: 'mssql', url: 'mssql://x@y/z' } } },
        'simulator: expected source.database to be an SQLite sandbox',
      ],
      [{ ...minimal, simulator: { corruptionRate: 2 } }, 'simulator.corruptionRate: expected a number ≤ 1'],
      [{ ...minimal, sinks: [{ name: 'x', type: 'webhook' }] }, 'sinks[0].url: expected'],
      [
        {
          ...minimal,
          sinks: [
            { name: 'x', type: 'jsonl', path: 'a' },
            { name: 'x', type: 'console' },
          ],
        },
        'sinks[1].name: expected a sink name not used before ("x" is)',
      ],
      [
        { ...minimal, routing: { routes: [{ name: 'r', bands: ['critical'], sinks: ['pager'] }] } },
        'routing.routes[0].sinks[0]: expected one of the sinks\' names ("alerts")',
      ],
      [
        { ...minimal, routing: { routes: [{ name: 'r', bands: ['urgent'], sinks: ['alerts'] }] } },
        'routing.routes[0].bands[0]: expected one of "low", "medium", "high", "critical"',
      ],
      [
        { ...minimal, http: { bind: '0.0.0.0:8080' } },
        'http.token: expected an access token (or `users`, or a trusted `proxy` header): binding to 0.0.0.0, beyond localhost, is refused without one',
      ],
      [
        {
          ...minimal,
          sinks: [{ name: 'm', type: 'email', host: 'smtp', from: 'not-an-address', to: ['a@b.org'] }],
        },
        'sinks[0].from: expected a valid email',
      ],
      [
        JSON.parse(
          '{"source":{"database":{"type":"sqlite","path":"x"},"__proto__":{"polluted":true}},"model":{"dir":"m"}}',
        ),
        'source.__proto__: expected an ordinary key',
      ],
    ];
    for (const [raw, message] of cases) {
      const error = (() => {
        try {
          parseConfig(raw, 'monitor.yaml');
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(error, message).toBeInstanceOf(ConfigError);
      expect(error!.message).toContain(`monitor.yaml: ${message}`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts a loopback bind without a token and other binds with one', () => {
    expect(parseConfig({ ...minimal, http: { bind: '127.0.0.1:8080' } }).http).toEqual({
      bind: '127.0.0.1:8080',
      timelineDays: 7,
    });
    expect(
      parseConfig({
        ...minimal,
        http: { bind: '10.1.2.3:8080', users: [{ name: 'alice', token: { env: 'ALICE_TOKEN' } }] },
      }).http?.users,
    ).toEqual([{ name: 'alice', token: { env: 'ALICE_TOKEN' } }]);
    expect(
      parseConfig({ ...minimal, http: { bind: '[::]:8080', proxy: { header: 'X-Forwarded-User' } } }).http
        ?.proxy,
    ).toEqual({ header: 'X-Forwarded-User', trusted: ['127.0.0.1', '::1'] });
    expect(
      parseConfig({ ...minimal, http: { bind: '0.0.0.0:8080', token: { env: 'MONITOR_TOKEN' } } }).http
        ?.token,
    ).toEqual({ env: 'MONITOR_TOKEN' });
  });
});
