import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load';
import { createLogger } from './log';
import { main } from './main';
import { assembleMonitor } from './service/assemble';
import { MemoryChangeSource } from './testing/memory-source';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-cli-'));
const configFile = join(dir, 'monitor.yaml');
const state = join(dir, 'state', 'monitor.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => {
    stdout += String(c);
  });
  err.on('data', (c) => {
    stderr += String(c);
  });
  const code = await main(argv, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  writeFileSync(
    configFile,
    [
      'source: { name: site-a, database: { type: sqlite, path: clinic.sqlite } }',
      'model: { dir: models/current/mosaiq-ebm }',
      `state: { path: ${JSON.stringify(state)} }`,
      `sinks: [{ name: file, type: jsonl, path: ${JSON.stringify(join(dir, 'alerts.jsonl'))} }]`,
    ].join('\n'),
  );
  const source = new MemoryChangeSource();
  [0.1, 0.2, 2.7].forEach((s, i) => {
    source.upsert({
      id: String(i + 1),
      patientId: `P${i}`,
      occurredAt: new Date(2026, 0, 5, 10, i).getTime(),
      features: { x: s },
    });
  });
  const monitor = assembleMonitor(
    parseConfig({
      source: { name: 'site-a', database: { type: 'sqlite', path: 'clinic.sqlite' } },
      model: { dir: 'm' },
      state: { path: state },
    }),
    { source, scorer: source.linearScorer({ name: 'ebm', version: '1' }, { x: 1 }) },
    { logger: createLogger({ level: 'silent', redactPatientIdentifiers: true }) },
  );
  await monitor.service.pollOnce();
  await monitor.close();
});

describe('anomalia-monitor', () => {
  it('report: prints the text report and writes the HTML next to the state store', async () => {
    const r = await run('report', '--config', configFile, '--day', '2026-01-05');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Daily QA Report \(2026-01-05\)\n {2}Total: 3\n/);
    expect(r.stdout).toContain('Critical: 1');
    const html = join(dir, 'state', 'reports', 'qa-2026-01-05.html');
    expect(r.stdout).toContain(`HTML report: ${html}`);
    expect(readFileSync(html, 'utf8')).toContain('<figure class="plot"');
  });

  it('alert: acknowledges an alert by key and records who did it; health shows the store', async () => {
    const r = await run(
      'alert',
      'site-a/3/ebm@1',
      '--state',
      'acknowledged',
      '--by',
      'dr.who',
      '--config',
      configFile,
    );
    expect(r).toMatchObject({ code: 0, stdout: 'site-a/3/ebm@1: open → acknowledged (by dr.who)\n' });
    const h = await run('health', '--config', configFile);
    expect(h.code).toBe(0);
    expect(JSON.parse(h.stdout)).toMatchObject({
      source: 'site-a',
      watermark: '3',
      counts: { scores: 3, alerts: 1, audit: 1 },
      sinks: [{ sink: 'file', type: 'jsonl' }],
    });
    expect((await run('alert', 'site-a/9/ebm@1', '--state', 'resolved', '--config', configFile)).stderr).toBe(
      'error: no alert with key site-a/9/ebm@1\n',
    );
    expect(
      (await run('alert', 'site-a/3/ebm@1', '--state', 'closed', '--config', configFile)).stderr,
    ).toMatch(/change.state: expected one of/);
  });

  it('explains what is wrong, with exit code 2', async () => {
    expect((await run('report', '--config', configFile)).stderr).toBe(
      'error: report needs --day YYYY-MM-DD\n',
    );
    expect((await run('report', '--config', configFile, '--day', '2026-13-01')).stderr).toContain(
      '--day: expected a calendar day',
    );
    expect((await run('--day')).code).toBe(2);
    expect((await run()).stderr).toMatch(/^error: --config is required/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'source: { database: { type: sqlite, path: x } }\nmodel: { dir: m }\nsinks: [{ name: a, type: pager }]\n',
    );
    expect(await run('--config', bad)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/bad.yaml: sinks\[0\].type: expected/),
    });
    const fresh = join(dir, 'fresh.yaml');
    writeFileSync(
      fresh,
      `source: { database: { type: sqlite, path: x } }\nmodel: { dir: m }\nstate: { path: ${JSON.stringify(join(dir, 'none.sqlite'))} }\n`,
    );
    expect((await run('health', '--config', fresh)).stderr).toMatch(
      /state.path: no state store at .*none.sqlite yet/,
    );
    expect(existsSync(join(dir, 'none.sqlite'))).toBe(false);
    // run without a wired cursor and model says so instead of pretending to watch.
    const r = await run('run', '--config', fresh);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/source.database \(sqlite\): the change cursor and model loading are not wired/);
  });

  it('worker and backfill: refuse what cannot work, naming the flag or key', async () => {
    const queued = join(dir, 'queued.yaml');
    writeFileSync(
      queued,
      [
        'source: { name: north, database: { type: sqlite, path: north.sqlite } }',
        'model: { dir: m }',
        `state: { path: ${JSON.stringify(join(dir, 'queued.sqlite'))} }`,
        'queue: { redis: "redis://127.0.0.1:9", sites: [{ name: north, database: { type: sqlite, path: x.sqlite } }] }',
      ].join('\n'),
    );
    expect(await run('worker', '--config', queued)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /queued.yaml: queue.sites\[0\].name: expected a site name not used before \("north" is/,
      ),
    });
    const badUrl = join(dir, 'bad-url.yaml');
    writeFileSync(
      badUrl,
      [
        'source: { name: north, database: { type: sqlite, path: n.sqlite } }',
        'model: { dir: m }',
        'queue: { redis: "http://h:6379" }',
      ].join('\n'),
    );
    expect((await run('worker', '--config', badUrl)).stderr).toMatch(
      /config: queue.redis: expected a redis:\/\/ or rediss:\/\/ URL \(got http:\/\/h:6379\/?\)/,
    );
    expect((await run('worker', '--config', configFile)).stderr).toMatch(
      /config: queue: expected `queue: \{ redis: url \}`: workers take their jobs from Redis/,
    );
    expect((await run('worker', '--config', configFile, '--roles', 'score,cook')).stderr).toMatch(
      /--roles: cook: expected a comma-separated list of score, store/,
    );
    expect((await run('backfill', '--config', configFile, '--from', '2026-01-01')).stderr).toBe(
      'error: backfill needs --from and --to\n',
    );
    expect(
      (await run('backfill', '--config', configFile, '--from', 'soon', '--to', '2026-01-02')).stderr,
    ).toMatch(/--from: soon: expected a date YYYY-MM-DD \(UTC\) or an ISO time/);
    expect(
      (await run('backfill', '--config', configFile, '--from', '2026-01-02', '--to', '2026-01-01')).stderr,
    ).toMatch(/--from\/--to: .*expected --from before --to/);
    expect(
      (
        await run(
          'backfill',
          '--config',
          configFile,
          '--from',
          '2026-01-01',
          '--to',
          '2026-01-02',
          '--sites',
          'south',
        )
      ).stderr,
    ).toMatch(/--sites: south: expected one of the config's sites \("site-a"\)/);
    const withHttp = join(dir, 'queued-http.yaml');
    writeFileSync(
      withHttp,
      [
        'source: { name: north, database: { type: sqlite, path: north.sqlite } }',
        'model: { dir: m }',
        'queue: { redis: "redis://127.0.0.1:9" }',
        'http: { bind: "127.0.0.1:0" }',
      ].join('\n'),
    );
    expect((await run('run', '--config', withHttp)).stderr).toMatch(
      /config: http: the dashboard is served by the single-process monitor only/,
    );
  });
});
