import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MonitorStore, openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCommit } from '../alerts';
import type { InhibitRule, ResolvedRoute } from '../config/schema';
import { createLogger } from '../log';
import type { NotificationMessage } from '../message';
import type { ScoredRecord } from '../seam';
import { JsonlSink } from '../sinks/jsonl';
import { WebhookSink } from '../sinks/webhook';
import { startHttpReceiver } from '../testing/receivers';
import { retryDelay } from './backoff';
import { Dispatcher } from './dispatcher';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-dispatch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });

const S = 1_000;
const M = 60 * S;
const t0 = Date.UTC(2026, 0, 5, 9, 0);
const routes: ResolvedRoute[] = [
  {
    name: 'page',
    bands: ['critical'],
    sinks: ['hook', 'file'],
    groupBy: ['patient'],
    groupWait: 0,
    groupInterval: M,
    repeatInterval: 30 * M,
    continue: false,
  },
  {
    name: 'review',
    bands: ['high'],
    sinks: ['hook'],
    groupBy: ['patient'],
    groupWait: 30 * S,
    groupInterval: 5 * M,
    repeatInterval: null,
    continue: false,
  },
  {
    name: 'queue',
    bands: ['medium', 'low'],
    sinks: ['file'],
    groupBy: ['band'],
    groupWait: 5 * M,
    groupInterval: 5 * M,
    repeatInterval: null,
    continue: false,
  },
];
const inhibit: InhibitRule[] = [
  { sourceBands: ['critical'], targetBands: ['high', 'medium', 'low'], equal: ['patient'] },
];
const ENERGY = { low: 0.6, medium: 1.2, high: 2.0, critical: 2.8 } as const;

let n = 0;
let store: MonitorStore;
let receiver: Awaited<ReturnType<typeof startHttpReceiver>>;
let clock: number;
let dispatcher: Dispatcher;
let filePath: string;

function scored(id: string, band: keyof typeof ENERGY, patient: string): ScoredRecord {
  return {
    recordId: id,
    patientId: patient,
    occurredAt: t0 - 10 * M,
    energy: ENERGY[band],
    saliency: [{ feature: 'mu_delta', value: 1, contribution: ENERGY[band] }],
  };
}

function commit(at: number, ...records: ScoredRecord[]) {
  const { commit } = buildCommit(records, null, {
    source: 'site-a',
    model: { name: 'ebm', version: '3' },
    routes,
    minRank: 1,
    maliciousThreshold: 0.5,
    at,
  });
  return store.commitScored(commit);
}

const bodies = () => receiver.requests.map((r) => JSON.parse(r.body) as NotificationMessage);
const records = (m: NotificationMessage) => m.alerts.map((a) => a.recordId);
const fileLines = () => {
  try {
    return readFileSync(filePath, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as NotificationMessage);
  } catch {
    return [];
  }
};

beforeEach(async () => {
  n++;
  store = openMonitorStore(join(dir, `state-${n}.sqlite`));
  receiver = await startHttpReceiver();
  filePath = join(dir, `alerts-${n}.jsonl`);
  clock = t0;
  let id = 0;
  const retry = { initial: S, max: M, factor: 2, maxAttempts: null };
  dispatcher = new Dispatcher({
    store,
    sinks: [
      {
        sink: new WebhookSink('hook', { url: receiver.url, timeoutMs: 5 * S }),
        retry,
        patientIdentifiers: 'omit',
      },
      { sink: new JsonlSink('file', filePath), retry, patientIdentifiers: 'include' },
    ],
    routes,
    defaults: { groupWait: 30 * S, groupInterval: 5 * M, repeatInterval: null },
    inhibit,
    logger,
    random: () => 0.5,
    newId: () => `n${++id}`,
    clock: () => clock,
  });
});

afterEach(async () => {
  await dispatcher.close();
  await receiver.close();
  store.close();
});

async function at(t: number) {
  clock = t;
  return dispatcher.runOnce(t);
}

describe('Dispatcher grouping (Alertmanager timing)', () => {
  it('pages one group per patient at once, waits group_wait for high, group_interval for late joiners', async () => {
    commit(
      t0,
      scored('1', 'critical', 'P1'),
      scored('2', 'critical', 'P1'),
      scored('3', 'high', 'P2'),
      scored('4', 'critical', 'P3'),
    );
    expect(await at(t0)).toEqual({ formed: 4, delivered: 4, failed: 0 }); // hook: P1, P3; file: P1, P3
    expect(bodies().map(records)).toEqual([['1', '2'], ['4']]);
    expect(bodies()[0]!.summary.title).toBe(
      'CRITICAL: 2 alerts for patient [redacted] (page; respond 15–30 min)',
    );
    expect(fileLines().map((m) => [records(m), m.group.labels.patient])).toEqual([
      [['1', '2'], 'P1'],
      [['4'], 'P3'],
    ]);

    await at(t0 + 29 * S);
    expect(receiver.requests).toHaveLength(2); // high P2 still in its group wait
    await at(t0 + 30 * S);
    expect(bodies().map(records)).toEqual([['1', '2'], ['4'], ['3']]);

    // A late critical alert for P1 joins a group notified at t0: it waits for group_interval (1 min).
    commit(t0 + 40 * S, scored('5', 'critical', 'P1'));
    await at(t0 + 59 * S);
    expect(receiver.requests).toHaveLength(3);
    expect(dispatcher.nextDueAt()).toBe(t0 + 60 * S);
    await at(t0 + 60 * S);
    expect(bodies().map(records).at(-1)).toEqual(['5']);
    expect(new Set(bodies().map((b) => b.id)).size).toBe(4);
  });

  it('groups low and medium alerts by band on the file only, after five minutes', async () => {
    commit(t0, scored('1', 'low', 'P1'), scored('2', 'low', 'P2'), scored('3', 'medium', 'P3'));
    await at(t0 + 4 * M);
    expect(fileLines()).toEqual([]);
    await at(t0 + 5 * M);
    expect(fileLines().map(records)).toEqual([['1', '2'], ['3']]);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('Dispatcher inhibition', () => {
  it('silences lower alerts of a patient with an open critical alert, until it is no longer open', async () => {
    commit(
      t0,
      scored('1', 'critical', 'P1'),
      scored('2', 'high', 'P1'),
      scored('3', 'high', 'P2'),
      scored('4', 'low', 'P1'),
    );
    await at(t0 + 10 * M);
    expect(bodies().map(records)).toEqual([['1'], ['3']]);
    expect(fileLines().map(records)).toEqual([['1']]);
    const critical = store.alertByKey('site-a/1/ebm@3')!;
    store.setAlertState(critical.id, { state: 'resolved', actor: 'physicist', at: t0 + 11 * M });
    commit(t0 + 12 * M, scored('5', 'high', 'P1'));
    await at(t0 + 13 * M);
    expect(bodies().map(records).at(-1)).toEqual(['5']);
  });

  it('lets an alert escalated to critical through (it does not inhibit itself)', async () => {
    commit(t0, scored('1', 'high', 'P1'));
    commit(t0 + S, scored('1', 'critical', 'P1'));
    await at(t0 + S);
    expect(bodies().map((b) => b.alerts.map((a) => [a.recordId, a.band, a.revision]))).toEqual([
      [['1', 'critical', 2]],
    ]);
  });
});

describe('Dispatcher repeat interval', () => {
  it('reminds about open critical alerts every repeat_interval until acknowledged', async () => {
    commit(t0, scored('1', 'critical', 'P1'));
    await at(t0);
    await at(t0 + 29 * M);
    expect(receiver.requests).toHaveLength(1);
    await at(t0 + 30 * M);
    expect(bodies().map((b) => [b.kind, records(b)])).toEqual([
      ['firing', ['1']],
      ['repeat', ['1']],
    ]);
    expect(bodies()[1]!.summary.title).toMatch(/^STILL OPEN: CRITICAL: 1 alert/);
    store.setAlertState(store.alertByKey('site-a/1/ebm@3')!.id, {
      state: 'acknowledged',
      actor: 'physicist',
      at: t0 + 31 * M,
    });
    await at(t0 + 61 * M);
    expect(receiver.requests).toHaveLength(2);
  });
});

describe('Dispatcher retries', () => {
  it('retries a failing sink with backoff, resending the same message and id, without holding up other sinks', async () => {
    receiver.setResponder((_, i) => (i < 2 ? 503 : 200));
    commit(t0, scored('1', 'critical', 'P1'));
    expect(await at(t0)).toMatchObject({ delivered: 1, failed: 1 }); // the file got it, the hook did not
    expect(fileLines()).toHaveLength(1);
    const policy = { initial: S, max: M, factor: 2, maxAttempts: null };
    const first = retryDelay(policy, 1, () => 0.5);
    expect(first).toBe(750); // half of 1 s fixed, half jittered
    await at(t0 + first - 1);
    expect(receiver.requests).toHaveLength(1);
    await at(t0 + first);
    expect(receiver.requests).toHaveLength(2);
    const [health] = store.backlog().filter((b) => b.sink === 'hook');
    expect(health).toMatchObject({
      pending: 1,
      nextAttemptAt: t0 + first + retryDelay(policy, 2, () => 0.5),
    });
    expect(store.sinkStates().find((s) => s.sink === 'hook')).toMatchObject({ consecutiveFailures: 2 });
    await at(t0 + first + 1_500);
    expect(receiver.requests).toHaveLength(3);
    const keys = receiver.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    expect(store.backlog()).toEqual([]);
    expect(store.sinkStates().find((s) => s.sink === 'hook')).toMatchObject({
      consecutiveFailures: 0,
      lastSuccessAt: t0 + first + 1_500,
    });
  });

  it('keeps a notification as dead after maxAttempts, and health shows it', async () => {
    receiver.setResponder(() => 500);
    const d = new Dispatcher({
      store,
      sinks: [
        {
          sink: new WebhookSink('hook', { url: receiver.url, timeoutMs: 5 * S }),
          retry: { initial: S, max: M, factor: 2, maxAttempts: 2 },
          patientIdentifiers: 'omit',
        },
      ],
      routes,
      defaults: routes[1]!,
      inhibit: [],
      logger,
      random: () => 0,
      clock: () => clock,
    });
    commit(t0, scored('1', 'critical', 'P1'));
    clock = t0;
    await d.runOnce(t0);
    clock = t0 + 10 * S;
    await d.runOnce(clock);
    clock = t0 + 10 * M;
    await d.runOnce(clock);
    expect(receiver.requests).toHaveLength(2);
    expect(store.backlog().find((b) => b.sink === 'hook')).toMatchObject({ dead: 1, pending: 0 });
  });
});
