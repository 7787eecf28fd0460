/**
 * Benchmarks of the alert path, as JSON lines `{ name, n, seconds, rows_per_s, ... }`:
 * - backlog: records from a change source through scoring, triage and the durable commit
 *   (scores + alerts + outbox + watermark per transaction), 5 % of them alerts;
 * - alerts: every record an alert with two deliveries (alerts written durably per second);
 * - deliver: notifications sent and recorded, to the JSONL sink (fsync each) and a local webhook.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@anomalia/core';
import { parseConfig } from '../src/config/load';
import { createLogger } from '../src/log';
import { assembleMonitor } from '../src/service/assemble';
import { MemoryChangeSource } from '../src/testing/memory-source';
import { startHttpReceiver } from '../src/testing/receivers';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-bench-'));
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
let run = 0;
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return +((d.user + d.system) / 1e6).toFixed(3);
};

function clinic(n: number, alertFraction: number, seed: number): MemoryChangeSource {
  const rng = new Rng(seed);
  const source = new MemoryChangeSource();
  for (let i = 1; i <= n; i++) {
    const anomalous = rng.random() < alertFraction;
    const severity = anomalous ? 0.5 + rng.random() * 2.5 : rng.random() * 0.35;
    source.upsert({
      id: String(i),
      patientId: `P${i % 5000}`,
      occurredAt: 1_767_600_000_000 + i * 1000,
      features: { mu_delta: severity * 0.7, mlc_gap: severity * 0.2, offset_age: severity * 0.1 },
      labels: { machine: `LA${i % 4}` },
    });
  }
  return source;
}

function monitorFor(source: MemoryChangeSource, over: Record<string, unknown>, extraSinks: unknown[] = []) {
  run++;
  const config = parseConfig({
    source: { name: 'bench', database: { type: 'sqlite', path: 'unused.sqlite' } },
    model: { dir: 'unused' },
    state: { path: join(dir, `state-${run}.sqlite`) },
    sinks: [{ name: 'file', type: 'jsonl', path: join(dir, `alerts-${run}.jsonl`) }, ...extraSinks],
    ...over,
  });
  return assembleMonitor(
    config,
    {
      source,
      scorer: source.linearScorer(
        { name: 'linear', version: '1' },
        { mu_delta: 1, mlc_gap: 1, offset_age: 1 },
      ),
    },
    { logger },
  );
}

async function backlog(n: number, alertFraction: number, synchronous: 'full' | 'normal', name: string) {
  const source = clinic(n, alertFraction, 7);
  const m = monitorFor(source, {
    poll: { batchSize: 5000 },
    state: { path: join(dir, `state-b${++run}.sqlite`), synchronous },
  });
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let alerts = 0;
  let deliveries = 0;
  for (;;) {
    const r = await m.service.pollOnce();
    alerts += r.alertsCreated;
    deliveries += r.deliveriesQueued;
    if (r.caughtUp) break;
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  emit({
    name,
    n,
    seconds: +seconds.toFixed(3),
    cpu_seconds: cpuSeconds(cpu),
    rows_per_s: Math.round(n / seconds),
    alerts,
    alerts_per_s: Math.round(alerts / seconds),
    deliveries,
    batch: 5000,
    synchronous,
  });
  await m.close();
}

async function deliver(n: number, kind: 'jsonl' | 'webhook') {
  const receiver = kind === 'webhook' ? await startHttpReceiver() : null;
  const source = new MemoryChangeSource();
  for (let i = 1; i <= n; i++)
    source.upsert({
      id: String(i),
      patientId: `P${i}`,
      occurredAt: 1_767_600_000_000 + i,
      features: { x: 2.8 },
    });
  run++;
  const sinks = receiver
    ? [{ name: 'hook', type: 'webhook', url: receiver.url, secret: 'bench-secret' }]
    : [{ name: 'file', type: 'jsonl', path: join(dir, `deliver-${run}.jsonl`) }];
  const config = parseConfig({
    source: { name: 'bench', database: { type: 'sqlite', path: 'unused.sqlite' } },
    model: { dir: 'unused' },
    state: { path: join(dir, `state-d${run}.sqlite`) },
    sinks,
    routing: { routes: [{ name: 'all', bands: ['critical'], sinks: [sinks[0]!.name], groupWait: '0s' }] },
  });
  const m = assembleMonitor(
    config,
    { source, scorer: source.linearScorer({ name: 'l', version: '1' }, { x: 1 }) },
    { logger },
  );
  await m.service.pollOnce();
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let delivered = 0;
  while (delivered < n) delivered += (await m.dispatcher.runOnce()).delivered;
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  emit({
    name: `deliver-${kind}`,
    n,
    seconds: +seconds.toFixed(3),
    cpu_seconds: cpuSeconds(cpu),
    rows_per_s: Math.round(n / seconds),
    unit: 'notifications (one alert each), formed, sent and recorded',
  });
  await m.close();
  await receiver?.close();
}

const only = process.argv[2];
try {
  if (only === 'deliver') {
    await deliver(2_000, 'jsonl');
    await deliver(2_000, 'webhook');
    process.exit(0);
  }
  await backlog(100_000, 0.05, 'full', 'backlog-to-durable-alert');
  await backlog(100_000, 0.05, 'normal', 'backlog-to-durable-alert');
  await backlog(20_000, 1, 'full', 'alerts-durable');
  await deliver(2_000, 'jsonl');
  await deliver(2_000, 'webhook');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
