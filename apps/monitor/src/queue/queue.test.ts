import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTreatmentReader } from '@anomalia/db-sqlite';
import { openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { loadClinic } from '@anomalia/db-sqlite/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/load';
import type { MonitorConfigInput } from '../config/schema';
import { createLogger } from '../log';
import type { NotificationMessage } from '../message';
import type { ScoringPartsFactory } from '../service/assemble';
import { startHttpReceiver } from '../testing/receivers';
import { freePort, requireRedisServer, startRedis, type TestRedis } from '../testing/redis-server';
import { sqliteSiteParts } from '../testing/sqlite-site';
import { runBackfill } from './backfill';
import { startQueueWorker } from './worker';

const redisPath = requireRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-queue-'));
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
let redis: TestRedis | null = null;
let prefixNo = 0;

const SITES = { alpha: { seed: 11, records: 600 }, beta: { seed: 12, records: 400 } };

beforeAll(() => {
  for (const [name, o] of Object.entries(SITES)) loadClinic(join(dir, `${name}.sqlite`), o);
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const parts: ScoringPartsFactory = async (config) => {
  const db = config.source.database;
  if (db.type !== 'sqlite') throw new Error('sqlite sites only');
  return sqliteSiteParts(db.path, config.source.name);
};

function config(state: string, url: string, over: Partial<MonitorConfigInput> = {}) {
  return parseConfig({
    source: { name: 'alpha', database: { type: 'sqlite', path: join(dir, 'alpha.sqlite') } },
    model: { dir: 'unused' },
    state: { path: join(dir, state), synchronous: 'normal' },
    poll: { interval: '100ms' },
    sinks: [{ name: 'hook', type: 'webhook', url, timeout: '5s', retry: { initial: '50ms', max: '500ms' } }],
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
      redis: redis!.url,
      prefix: `t${++prefixNo}`,
      sites: [{ name: 'beta', database: { type: 'sqlite', path: join(dir, 'beta.sqlite') } }],
      rangeSize: 100,
      lockDuration: '2s',
    },
    log: { level: 'silent' },
    ...over,
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alertKeysOf = (requests: readonly { body: string }[]) =>
  new Set(
    requests.flatMap((r) => (JSON.parse(r.body) as NotificationMessage).alerts.map((a) => a.idempotencyKey)),
  );

describe('distributed mode (in-process workers)', () => {
  beforeAll(async () => {
    redis = await startRedis(redisPath, mkdtempSync(join(dir, 'redis-')));
  });

  it('polls two sites, scores, commits and delivers every alert; the watermarks reach the sources', async () => {
    const receiver = await startHttpReceiver();
    const c = config('live.sqlite', receiver.url);
    const worker = await startQueueWorker(c, { roles: ['score', 'store'], createParts: parts, logger });
    try {
      const store = worker.store!;
      await until('every record scored', () => store.counts().scores === 1_000);
      const alerts = store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
      expect(alerts.length).toBeGreaterThan(50);
      await until('every alert delivered', () => alertKeysOf(receiver.requests).size === alerts.length);
      for (const site of ['alpha', 'beta']) {
        const reader = openTreatmentReader(join(dir, `${site}.sqlite`));
        await until(
          `${site} watermark`,
          async () => store.watermark(site) === (await reader.currentWatermark()),
        );
        await reader.close();
      }
      const streams = store.streamSummaries();
      expect(streams.map((s) => [s.source, s.stream, s.records, s.scored, s.open])).toEqual([
        ['alpha', 'changes', 600, 600, 0],
        ['beta', 'changes', 400, 400, 0],
      ]);
    } finally {
      await worker.close();
      await receiver.close();
    }
  });

  it('refuses a Redis whose eviction policy could drop jobs, naming queue.redis', async () => {
    const lru = await startRedis(redisPath, mkdtempSync(join(dir, 'redis-lru-')), {
      policy: 'allkeys-lru',
    });
    try {
      const c = config('lru.sqlite', 'http://127.0.0.1:9/none', {});
      const bad = { ...c, queue: { ...c.queue!, redis: lru.url } };
      await expect(startQueueWorker(bad, { roles: ['score'], createParts: parts, logger })).rejects.toThrow(
        /config: queue\.redis: Redis at redis:\/\/127\.0\.0\.1:\d+\/? has maxmemory-policy allkeys-lru; BullMQ needs noeviction/,
      );
    } finally {
      await lru.stop();
    }
  });

  it('does not start on a configuration problem of a site, nor without an answering Redis', async () => {
    const c = config('never.sqlite', 'http://127.0.0.1:9/none');
    const broken: ScoringPartsFactory = async (cfg) => {
      if (cfg.source.name === 'beta') throw new ConfigError('config', 'model.dir', 'no promoted model there');
      return parts(cfg, logger);
    };
    await expect(startQueueWorker(c, { roles: ['score'], createParts: broken, logger })).rejects.toThrow(
      'config: model.dir: no promoted model there',
    );
    const closed = { ...c, queue: { ...c.queue!, redis: `redis://127.0.0.1:${await freePort()}` } };
    await expect(
      startQueueWorker(closed, { roles: ['score'], createParts: parts, logger, connectTimeoutMs: 500 }),
    ).rejects.toThrow(/config: queue\.redis: no answer from redis:\/\/127\.0\.0\.1:\d+\/? within 1 s/);
  });

  it('refuses a second store worker on another state store of the same queue', async () => {
    const c = config('first.sqlite', 'http://127.0.0.1:9/none');
    const first = await startQueueWorker(c, { roles: ['store'], createParts: parts, logger });
    try {
      const other = { ...c, state: { ...c.state, path: join(dir, 'second.sqlite') } };
      await expect(startQueueWorker(other, { roles: ['store'], createParts: parts, logger })).rejects.toThrow(
        /config: state\.path: this queue's state store is .*first\.sqlite on .*second\.sqlite on .* is another store/,
      );
      // A scoring-only worker needs no store and is welcome.
      const scorer = await startQueueWorker(other, { roles: ['score'], createParts: parts, logger });
      expect(scorer.store).toBeNull();
      await scorer.close();
    } finally {
      await first.close();
    }
  });

  it('backfills a time range in workers and in one process with the same scores and alerts', async () => {
    const receiver = await startHttpReceiver();
    const base = config('backfill-queued.sqlite', receiver.url);
    // Small ranges and at most 2 open backfill ranges per site: windows wait for scoring to catch up.
    const queued = { ...base, queue: { ...base.queue!, rangeSize: 50, maxOpenRanges: 2 } };
    const workers = await Promise.all(
      [0, 1].map(() => startQueueWorker(queued, { roles: ['score', 'store'], createParts: parts, logger })),
    );
    const lines: string[] = [];
    const out = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    const from = Date.UTC(2024, 0, 1);
    const to = Date.UTC(2024, 0, 2);
    let maxOpen = 0;
    const watch = setInterval(() => {
      const store = workers[0]!.store!;
      for (const site of ['alpha', 'beta'])
        maxOpen = Math.max(maxOpen, store.openRangeCount(site, 'backfill/'));
    }, 10);
    try {
      const summary = await runBackfill(queued, {
        from,
        to,
        windowMs: 3_600_000,
        run: 'q1',
        wait: true,
        createParts: parts,
        logger,
        out,
        progressEveryMs: 0,
      });
      expect(summary).toMatchObject({
        finished: true,
        windows: 48,
        windowsPlanned: 48,
        open: 0,
        records: 1_000,
        scored: 1_000,
      });
      expect(lines.join('')).toMatch(
        /backfill q1: 48\/48 windows planned, \d+\/\d+ jobs committed, 1,000\/1,000 records scored/,
      );
      // The bound holds up to the window jobs planning at once (2 store workers × 2).
      expect(maxOpen).toBeGreaterThan(0);
      expect(maxOpen).toBeLessThanOrEqual(2 + 4);
      expect(summary.ranges).toBeGreaterThanOrEqual(20);
    } finally {
      clearInterval(watch);
      await Promise.all(workers.map((w) => w.close()));
      await receiver.close();
    }
    const local = {
      ...queued,
      queue: undefined,
      state: { ...queued.state, path: join(dir, 'backfill-local.sqlite') },
    };
    const summary = await runBackfill(local, {
      from,
      to,
      windowMs: 3_600_000,
      run: 'l1',
      wait: true,
      createParts: parts,
      logger,
      out,
    });
    // Without a queue there are no further sites: `source` (alpha) alone.
    expect(summary).toMatchObject({
      finished: true,
      windows: 24,
      windowsPlanned: 24,
      records: 600,
      scored: 600,
    });
    const a = openMonitorStore(queued.state.path);
    const b = openMonitorStore(local.state.path);
    const view = (s: typeof a) =>
      s
        .scoresBetween(0, Number.MAX_SAFE_INTEGER)
        .filter((x) => x.source === 'alpha')
        .map((x) => `${x.recordId}:${x.band}:${x.energy}`)
        .sort();
    expect(view(a)).toHaveLength(600);
    expect(view(a)).toEqual(view(b));
    const alphaAlerts = (s: typeof a) =>
      s.alertsBetween(0, Number.MAX_SAFE_INTEGER).filter((x) => x.source === 'alpha');
    expect(
      alphaAlerts(a)
        .map((x) => x.key)
        .sort(),
    ).toEqual(
      alphaAlerts(b)
        .map((x) => x.key)
        .sort(),
    );
    // A run resumed under the same id plans and scores nothing again.
    b.close();
    const again = await runBackfill(local, {
      from,
      to,
      windowMs: 3_600_000,
      run: 'l1',
      wait: true,
      createParts: parts,
      logger,
      out,
    });
    expect(again).toMatchObject({ records: 600, scored: 600, duplicateCommits: 0 });
    a.close();
    // Two backfills of 1 600 records through Redis-queued workers and one in process: 4–6 s here.
  }, 60_000);
});
