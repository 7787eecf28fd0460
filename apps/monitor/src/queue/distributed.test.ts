import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTreatmentReader } from '@anomalia/db-sqlite';
import { openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { loadClinic } from '@anomalia/db-sqlite/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationMessage } from '../message';
import { startHttpReceiver } from '../testing/receivers';
import { requireRedisServer, startRedis } from '../testing/redis-server';

/**
 * The distributed mode end to end, in real processes: two sites (db-sqlite files with the change
 * cursor), three `anomalia-monitor worker` processes (two with the store role on this host, one
 * scoring only), a private redis-server, a webhook receiver. One worker is killed with SIGKILL
 * while it is scoring; later Redis is restarted without persistence (it comes back empty: every
 * queued job, schedule and lease is lost). Every treatment must be scored exactly once in the
 * store and every alert delivered, each in exactly one notification.
 */

const redisPath = requireRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-distributed-'));
afterAll(() => (process.env.KEEP_TEST_DIR ? undefined : rmSync(dir, { recursive: true, force: true })));
const child = new URL('../testing/queue-worker-child.ts', import.meta.url).pathname;
const SITES = { alpha: { seed: 21, records: 1_500 }, beta: { seed: 22, records: 1_000 } };
const TOTAL = SITES.alpha.records + SITES.beta.records;

interface Proc {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly log: string;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

function startWorker(name: string, config: string, roles: string): Proc {
  const log = join(dir, `${name}.scored`);
  writeFileSync(log, '');
  const out = openSync(join(dir, `${name}.log`), 'w');
  const proc = spawn(process.execPath, ['--import', 'tsx', child, config, roles, log, '80'], {
    cwd: new URL('../..', import.meta.url).pathname,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { name, proc, log, exited };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number, logs: () => string) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('distributed mode across processes', () => {
  it('scores every treatment once and delivers every alert once across kill -9 of a worker mid-job and a Redis restart', async () => {
    for (const [name, o] of Object.entries(SITES)) loadClinic(join(dir, `${name}.sqlite`), o);
    const redis = await startRedis(redisPath, mkdtempSync(join(dir, 'redis-')));
    const receiver = await startHttpReceiver();
    const state = join(dir, 'state.sqlite');
    const config = join(dir, 'monitor.json');
    writeFileSync(
      config,
      JSON.stringify({
        source: { name: 'alpha', database: { type: 'sqlite', path: join(dir, 'alpha.sqlite') } },
        model: { dir: 'unused' },
        state: { path: state },
        poll: { interval: '200ms' },
        sinks: [
          {
            name: 'hook',
            type: 'webhook',
            url: receiver.url,
            timeout: '5s',
            retry: { initial: '50ms', max: '1s' },
          },
        ],
        routing: {
          routes: [
            {
              name: 'all',
              bands: ['low', 'medium', 'high', 'critical'],
              sinks: ['hook'],
              groupWait: '0s',
              groupInterval: '0s',
            },
          ],
        },
        inhibit: [],
        queue: {
          redis: redis.url,
          sites: [{ name: 'beta', database: { type: 'sqlite', path: join(dir, 'beta.sqlite') } }],
          rangeSize: 20,
          maxOpenRanges: 8,
          lockDuration: '2s',
        },
        log: { level: 'warn' },
      }),
    );
    const workers = [
      startWorker('w1', config, 'store,score'),
      startWorker('w2', config, 'score'),
      startWorker('w3', config, 'store,score'),
    ];
    const logs = () =>
      workers
        .map((w) => `--- ${w.name}\n${readFileSync(join(dir, `${w.name}.log`), 'utf8').slice(-3_000)}`)
        .join('\n');
    const lines = (w: Proc) => readFileSync(w.log, 'utf8').split('\n').filter(Boolean);
    const scoresInStore = () => {
      if (!existsSync(state)) return 0;
      const s = openMonitorStore(state);
      try {
        return s.counts().scores;
      } finally {
        s.close();
      }
    };
    const uniqueAlerts = () =>
      new Set(
        receiver.requests.flatMap((r) =>
          (JSON.parse(r.body) as NotificationMessage).alerts.map((a) => a.idempotencyKey),
        ),
      ).size;
    let victim: Proc | null = null;
    try {
      // Kill w3 while it is inside a scoring call (its log's last line is a `begin`), after a few jobs.
      const w3 = workers[2]!;
      await until(
        'w3 in the middle of its third scoring job',
        () => {
          const l = lines(w3);
          return l.filter((x) => x.startsWith('begin')).length >= 3 && l[l.length - 1]!.startsWith('begin');
        },
        60_000,
        logs,
      );
      w3.proc.kill('SIGKILL');
      victim = w3;
      expect((await w3.exited).signal).toBe('SIGKILL');
      const scoredAtKill = scoresInStore();
      expect(scoredAtKill).toBeLessThan(TOTAL);

      // Restart Redis (empty) once a good part is done and work is still queued.
      await until('40 % scored', () => scoresInStore() >= TOTAL * 0.4, 60_000, logs);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 500));
      await redis.start();
      const scoredAtRestart = scoresInStore();
      expect(scoredAtRestart).toBeLessThan(TOTAL);

      await until('every treatment scored', () => scoresInStore() === TOTAL, 120_000, logs);
      const store = openMonitorStore(state);
      const alerts = store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
      store.close();
      await until('every alert delivered', () => uniqueAlerts() === alerts.length, 60_000, logs);
      await until(
        'an empty outbox',
        () => {
          const s = openMonitorStore(state);
          try {
            return s.backlog().every((b) => b.queued === 0 && b.pending === 0);
          } finally {
            s.close();
          }
        },
        30_000,
        logs,
      );
      for (const w of workers.slice(0, 2)) w.proc.kill('SIGTERM');
      for (const w of workers.slice(0, 2)) expect((await w.exited).code, logs()).toBe(0);

      // Scored exactly once, counted in the store: one score per treatment, every range committed
      // once with all its records (a duplicated commit is absorbed and counted, never written).
      const s = openMonitorStore(state);
      const scores = s.scoresBetween(0, Number.MAX_SAFE_INTEGER);
      const perSite = (site: string) => scores.filter((x) => x.source === site).length;
      expect(scores).toHaveLength(TOTAL);
      expect(perSite('alpha')).toBe(SITES.alpha.records);
      expect(perSite('beta')).toBe(SITES.beta.records);
      const streams = s.streamSummaries();
      expect(streams.map((x) => [x.source, x.records, x.scored, x.open])).toEqual([
        ['alpha', SITES.alpha.records, SITES.alpha.records, 0],
        ['beta', SITES.beta.records, SITES.beta.records, 0],
      ]);
      for (const site of Object.keys(SITES)) {
        const reader = openTreatmentReader(join(dir, `${site}.sqlite`));
        expect(s.watermark(site)).toBe(await reader.currentWatermark());
        await reader.close();
      }

      // Delivered exactly once by idempotency key: every stored alert in exactly one notification.
      const notifications = new Map<string, string[]>();
      for (const r of receiver.requests) {
        const m = JSON.parse(r.body) as NotificationMessage;
        expect(r.headers['idempotency-key']).toBe(m.id);
        const keys = m.alerts.map((a) => a.idempotencyKey);
        const before = notifications.get(m.id);
        if (before) expect(keys).toEqual(before);
        notifications.set(m.id, keys);
      }
      const delivered = [...notifications.values()].flat();
      const stored = s.alertsBetween(0, Number.MAX_SAFE_INTEGER).map((a) => `${a.key}#${a.revision}`);
      expect(delivered.length).toBe(new Set(delivered).size);
      expect(new Set(delivered)).toEqual(new Set(stored));
      expect(stored.length).toBeGreaterThan(100);

      // What the store absorbed and what a non-deduplicating receiver would have seen.
      const raw = new Map<string, number>();
      for (const w of workers)
        for (const l of lines(w))
          if (!l.startsWith('begin') && !l.startsWith('end')) raw.set(l, (raw.get(l) ?? 0) + 1);
      expect(raw.size).toBe(TOTAL);
      const begun = workers.reduce((n, w) => n + lines(w).filter((l) => l.startsWith('begin')).length, 0);
      const workerLogs = workers.map((w) => readFileSync(join(dir, `${w.name}.log`), 'utf8')).join('\n');
      const requeued = [...workerLogs.matchAll(/"requeued":(\d+),"redisWasEmpty":true/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      // w3's scoring call in flight when it was killed was begun and never finished: BullMQ gave its
      // job to another worker after the lock expired. Redis came back empty: the store side found
      // the open ranges whose jobs were lost and enqueued them again.
      expect(begun).toBeGreaterThan(streams.reduce((n, x) => n + x.ranges, 0));
      expect(lines(w3).at(-1)).toMatch(/^begin/);
      expect(requeued).toBeGreaterThan(0);
      const evidence = {
        name: 'distributed-exactly-once',
        treatments: TOTAL,
        scores_in_store: scores.length,
        ranges: streams.reduce((n, x) => n + x.ranges, 0),
        duplicate_commits_absorbed: streams.reduce((n, x) => n + x.duplicateCommits, 0),
        scoring_calls_begun: begun,
        scorings_computed: [...raw.values()].reduce((a, b) => a + b, 0),
        ranges_requeued_after_redis_lost_data: requeued,
        treatments_scored_more_than_once_in_memory: [...raw.values()].filter((n) => n > 1).length,
        scored_in_store_at_kill: scoredAtKill,
        scored_in_store_at_redis_restart: scoredAtRestart,
        alerts: stored.length,
        notifications: notifications.size,
        posts: receiver.requests.length,
        raw_duplicate_posts: receiver.requests.length - notifications.size,
        scored_by: Object.fromEntries(
          workers.map((w) => [w.name, lines(w).filter((l) => l.startsWith('end')).length]),
        ),
      };
      console.log(JSON.stringify(evidence));
      s.close();
    } finally {
      for (const w of workers) if (w !== victim) w.proc.kill('SIGKILL');
      await receiver.close();
      await redis.stop();
    }
  }, 240_000);
});
