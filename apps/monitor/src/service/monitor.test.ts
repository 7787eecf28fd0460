import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { createLogger } from '../log';
import type { NotificationMessage } from '../message';
import { MemoryChangeSource, type MemoryRecord } from '../testing/memory-source';
import { startHttpReceiver } from '../testing/receivers';
import { assembleMonitor } from './assemble';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const model = { name: 'linear', version: '1' };
const record = (id: number, severity: number, patient = `P${id % 7}`): MemoryRecord => ({
  id: String(id),
  patientId: patient,
  occurredAt: Date.UTC(2026, 0, 5, 8, 0) + id * 60_000,
  features: { mu_delta: severity, baseline: 0.05 },
  labels: { machine: id % 2 ? 'LA1' : 'LA2' },
});

function setup(over: Record<string, unknown> = {}, webhook?: string) {
  n++;
  const logs = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  logs.on('data', (c) =>
    String(c)
      .trim()
      .split('\n')
      .forEach((l) => {
        if (l) lines.push(JSON.parse(l));
      }),
  );
  const config = parseConfig({
    source: { name: 'site-a', database: { type: 'sqlite', path: 'unused.sqlite' } },
    model: { dir: 'unused' },
    state: { path: join(dir, `state-${n}.sqlite`), synchronous: 'normal' },
    poll: { interval: '50ms', batchSize: 100 },
    sinks: [
      { name: 'file', type: 'jsonl', path: join(dir, `alerts-${n}.jsonl`) },
      ...(webhook
        ? [{ name: 'hook', type: 'webhook', url: webhook, retry: { initial: '50ms', max: '200ms' } }]
        : []),
    ],
    ...over,
  });
  const source = new MemoryChangeSource();
  const logger = createLogger({ level: 'debug', redactPatientIdentifiers: true }, logs);
  const scorer = source.linearScorer(model, { mu_delta: 1, baseline: 1 });
  const monitor = assembleMonitor(config, { source, scorer }, { logger });
  return { config, source, scorer, monitor, lines };
}

describe('MonitorService.pollOnce', () => {
  it('scores changes since the watermark, stores alerts by band and moves the watermark with them', async () => {
    const { source, monitor } = setup();
    const severities = [0.1, 0.2, 0.55, 1.1, 1.95, 2.75, 0.15];
    severities.forEach((s, i) => {
      source.upsert(record(i + 1, s));
    });
    const first = await monitor.service.pollOnce();
    expect(first).toEqual({
      changed: 7,
      scored: 7,
      missing: 0,
      invalid: 0,
      notJudged: {},
      held: 0,
      alertsCreated: 4,
      alertsEscalated: 0,
      alertsUnchanged: 0,
      deliveriesQueued: 4,
      caughtUp: true,
      watermark: '7',
    });
    const alerts = monitor.store.alertsBetween(0, Date.UTC(2027, 0, 1));
    expect(alerts.map((a) => [a.recordId, a.band, a.action, a.labels.machine])).toEqual([
      ['3', 'low', 'log', 'LA1'],
      ['4', 'medium', 'queue', 'LA2'],
      ['5', 'high', 'urgent_review', 'LA1'],
      ['6', 'critical', 'page', 'LA2'],
    ]);
    expect((alerts[3]!.detail as { saliency: unknown[] }).saliency[0]).toEqual({
      feature: 'mu_delta',
      value: 2.75,
      contribution: 2.75,
    });
    expect(monitor.store.watermark('site-a')).toBe('7');

    // Nothing changed: nothing scored. An edit re-scores: worse → escalation, same band → nothing.
    expect((await monitor.service.pollOnce()).changed).toBe(0);
    source.upsert(record(3, 2.9));
    source.upsert(record(4, 1.2));
    const edits = await monitor.service.pollOnce();
    expect(edits).toMatchObject({ changed: 2, alertsEscalated: 1, alertsUnchanged: 1, watermark: '9' });
    expect(monitor.store.alertByKey('site-a/3/linear@1')).toMatchObject({ band: 'critical', revision: 2 });
    await monitor.close();
  });

  it('catches up in batches, skips deleted records and stores non-finite energies as invalid', async () => {
    const { source, monitor } = setup({ poll: { batchSize: 4 } });
    for (let i = 1; i <= 10; i++) source.upsert(record(i, i === 5 ? Number.NaN : 0.1));
    source.delete('2');
    const batches = [];
    for (;;) {
      const r = await monitor.service.pollOnce();
      batches.push([r.changed, r.missing, r.invalid, r.caughtUp]);
      if (r.caughtUp) break;
    }
    expect(batches).toEqual([
      [4, 1, 0, false],
      [4, 0, 1, false],
      [2, 0, 0, true],
    ]);
    expect(monitor.store.counts()).toMatchObject({ scores: 9, alerts: 0 });
    expect(
      monitor.store.scoresBetween(0, Date.UTC(2027, 0, 1)).find((s) => s.recordId === '5'),
    ).toMatchObject({ energy: null, band: 'invalid' });
    await monitor.close();
  });

  it('reads the next batch ahead while catching up, tells the scorer its ids, and polls again when that failed', async () => {
    const { source, scorer, monitor } = setup({ poll: { batchSize: 4 } });
    for (let i = 1; i <= 10; i++) source.upsert(record(i, 0.1));
    const polled: (string | null)[] = [];
    const poll = source.poll.bind(source);
    // The read-ahead of the second batch fails once: the next pollOnce polls it again.
    source.poll = async (watermark, limit) => {
      polled.push(watermark);
      if (polled.length === 2) throw new Error('connection reset');
      return poll(watermark, limit);
    };
    const prefetched: string[][] = [];
    Object.assign(scorer, {
      prefetch: (ids: readonly string[]) => {
        prefetched.push([...ids]);
      },
    });
    const batches: [number, string | null][] = [];
    for (;;) {
      const r = await monitor.service.pollOnce();
      batches.push([r.changed, r.watermark]);
      if (r.caughtUp) break;
    }
    expect(batches).toEqual([
      [4, '4'],
      [4, '8'],
      [2, '10'],
    ]);
    // Batch 2 polled twice (its read-ahead failed), batch 3 once: read ahead while batch 2 was scored.
    expect(polled).toEqual([null, '4', '4', '8']);
    expect(prefetched).toEqual([['9', '10']]);
    expect(monitor.store.counts().scores).toBe(10);
    // Caught up: nothing is read ahead.
    await monitor.service.pollOnce();
    expect(polled).toEqual([null, '4', '4', '8', '10']);
    await monitor.close();
  });

  it('commits nothing when the source fails, and health says so', async () => {
    const { source, monitor } = setup();
    source.upsert(record(1, 2.8));
    source.failNext(1);
    await expect(monitor.service.pollOnce()).rejects.toThrow(/ECONNREFUSED/);
    expect(monitor.store.counts().scores).toBe(0);
    expect(monitor.store.watermark('site-a')).toBeNull();
    await monitor.service.pollOnce();
    expect(monitor.store.counts()).toMatchObject({ scores: 1, alerts: 1 });
    await monitor.close();
  });

  it('refuses a queue config (that runs in queue workers) and an unset secret, naming the key', () => {
    expect(() => setup({ queue: { redis: 'redis://127.0.0.1:6379' } })).toThrow(
      /config: queue: this is the single-process monitor/,
    );
    expect(() =>
      setup({ sinks: [{ name: 'hook', type: 'webhook', url: { env: 'ANOMALIA_TEST_UNSET_URL' } }] }),
    ).toThrow(
      'environment: sinks[0].url: expected the environment variable ANOMALIA_TEST_UNSET_URL to be set',
    );
  });
});

describe('MonitorService.run', () => {
  it('pages a critical record within seconds, retries through a sink outage, and stops cleanly', async () => {
    const receiver = await startHttpReceiver((_, i) => (i === 0 ? 503 : 200));
    const { source, monitor, lines } = setup({}, receiver.url);
    const controller = new AbortController();
    const running = monitor.service.run(controller.signal);
    source.upsert(record(1, 0.1));
    const started = Date.now();
    source.upsert(record(2, 2.8, 'PAT-SECRET'));
    // Delivered = the receiver answered 200 and the store recorded it.
    const delivered = () =>
      monitor.store.sinkStates().some((s) => s.sink === 'hook' && s.lastSuccessAt !== null);
    while (!delivered() && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 10));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2_000);
    const [first, second] = receiver.requests.map((r) => JSON.parse(r.body) as NotificationMessage);
    expect(first!.id).toBe(second!.id); // the retry after the 503 is the same notification
    expect(second!.alerts.map((a) => [a.recordId, a.band])).toEqual([['2', 'critical']]);

    const health = monitor.service.health();
    expect(health).toMatchObject({
      status: 'ok',
      source: { name: 'site-a', kind: 'memory', caughtUp: true, consecutiveFailures: 0 },
    });
    expect(health.sinks.map((s) => [s.sink, s.consecutiveFailures])).toEqual([
      ['file', 0],
      ['hook', 0],
    ]);

    controller.abort();
    await running;
    await monitor.close();
    expect(monitor.store.isOpen).toBe(false);
    await receiver.close();
    // Logs name records, never the patient.
    const text = JSON.stringify(lines);
    expect(text).not.toContain('PAT-SECRET');
    expect(lines.some((l) => l.msg === 'notification delivered')).toBe(true);
    expect(lines.some((l) => l.msg === 'notification failed; will retry')).toBe(true);
  });
});
