import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { Queue } from 'bullmq';
import { ConfigError, resolveSecret } from '../config/load';
import { type MonitorConfig, resolveRoutes } from '../config/schema';
import type { Logger } from '../log';
import type { ScoringPartsFactory } from '../service/assemble';
import { jobIds, QUEUE_NAMES, redisKeys } from './names';
import { checkRedis, openRedis } from './redis';
import { SiteParts, siteConfigs } from './sites';
import {
  type BackfillProgress,
  backfillProgress,
  commitScoredRange,
  planWindow,
  scoreRange,
  splitWindows,
} from './work';

export interface BackfillOptions {
  /** [from, to) in ms since the epoch (treatment time). */
  readonly from: number;
  readonly to: number;
  /** Length of one window (one planning job per site and window). */
  readonly windowMs: number;
  /** The run's id: the same id resumes a run (nothing already committed is scored again). */
  readonly run: string;
  /** Only these sites (default: every site of the config). */
  readonly sites?: readonly string[];
  /** With a queue: false returns once the jobs are enqueued. */
  readonly wait: boolean;
  readonly createParts: ScoringPartsFactory;
  readonly logger: Logger;
  readonly out: NodeJS.WritableStream;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  /** Progress lines at most this often (default 2 s). */
  readonly progressEveryMs?: number;
}

export interface BackfillSummary extends BackfillProgress {
  readonly run: string;
  readonly windows: number;
  readonly seconds: number;
  /** False when `wait` was off and the run goes on in the workers. */
  readonly finished: boolean;
}

export const RUN_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** A run id from the time: `20260105T101500`. */
export function newRunId(at: number): string {
  return new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
}

function progressLine(run: string, windows: number, p: BackfillProgress, rate: number | null): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `backfill ${run}: ${n(p.windowsPlanned)}/${n(windows)} windows planned, ` +
    `${n(p.ranges - p.open)}/${n(p.ranges)} jobs committed, ${n(p.scored)}/${n(p.records)} records scored` +
    (rate === null ? '' : ` (${n(Math.round(rate))} records/s)`)
  );
}

/**
 * Scores history: [from, to) is cut into windows, each window of each site into ranges of
 * record ids (pages of the source's `history`), each range scored and committed once to the
 * state store like the live monitor's (same alert keys: a record already alerted by the same
 * model is not alerted again). Without a queue this process does the work; with one it enqueues
 * a planning job per window and site and reports the workers' progress until the run is done.
 */
export async function runBackfill(config: MonitorConfig, o: BackfillOptions): Promise<BackfillSummary> {
  if (!RUN_ID.test(o.run)) throw new ConfigError('--run', o.run, 'expected up to 64 letters, digits, _ . -');
  if (!(o.from < o.to))
    throw new ConfigError('--from/--to', `${new Date(o.from).toISOString()}`, 'expected --from before --to');
  const known = siteConfigs(config).map((s) => s.name);
  const sites = o.sites ?? known;
  for (const s of sites)
    if (!known.includes(s))
      throw new ConfigError(
        '--sites',
        s,
        `expected one of the config's sites (${known.map((k) => `"${k}"`).join(', ')})`,
      );
  const windows = splitWindows(o.from, o.to, o.windowMs);
  const total = windows.length * sites.length;
  return config.queue ? queued(config, o, sites, windows, total) : local(config, o, sites, windows, total);
}

async function local(
  config: MonitorConfig,
  o: BackfillOptions,
  sites: readonly string[],
  windows: { from: number; to: number }[],
  total: number,
): Promise<BackfillSummary> {
  const now = o.now ?? Date.now;
  const started = now();
  mkdirSync(dirname(config.state.path), { recursive: true });
  const store = openMonitorStore(config.state.path, { synchronous: config.state.synchronous });
  const parts = new SiteParts(config, o.createParts, o.logger);
  const side = { store, config, routes: resolveRoutes(config), logger: o.logger, now };
  let lastLine = 0;
  const report = (force: boolean) => {
    const t = now();
    if (!force && t - lastLine < (o.progressEveryMs ?? 2_000)) return;
    lastLine = t;
    const p = backfillProgress(store, o.run);
    o.out.write(`${progressLine(o.run, total, p, p.scored / Math.max(0.001, (t - started) / 1000))}\n`);
  };
  try {
    for (const site of sites)
      for (const w of windows) {
        await planWindow(
          side,
          parts,
          { run: o.run, site, from: w.from, to: w.to },
          async (range) => {
            const job = await scoreRange(
              parts,
              { site, rangeId: range.id, stream: range.stream, ids: [...range.ids] },
              'backfill',
              now,
            );
            commitScoredRange(side, job);
            report(false);
          },
          config.poll.batchSize,
          { requeueOpen: true },
        );
      }
    report(true);
    const p = backfillProgress(store, o.run);
    return { run: o.run, windows: total, seconds: (now() - started) / 1000, finished: true, ...p };
  } finally {
    await parts.close();
    store.close();
  }
}

async function queued(
  config: MonitorConfig,
  o: BackfillOptions,
  sites: readonly string[],
  windows: { from: number; to: number }[],
  total: number,
): Promise<BackfillSummary> {
  const q = config.queue!;
  const now = o.now ?? Date.now;
  const started = now();
  const url = resolveSecret(q.redis, 'queue.redis', o.env);
  const redis = openRedis(url, 'anomalia-monitor backfill');
  redis.on('error', () => undefined);
  const keys = redisKeys(q.prefix);
  const queue = new Queue(QUEUE_NAMES.backfill, { connection: redis, prefix: q.prefix });
  queue.on('error', () => undefined);
  const enqueue = async () => {
    await redis.sadd(keys.backfillRuns, o.run);
    const jobs = sites.flatMap((site) =>
      windows.map((w) => ({
        name: 'window',
        data: { run: o.run, site, from: w.from, to: w.to },
        opts: {
          jobId: jobIds.backfillWindow(o.run, site, w.from, w.to),
          attempts: 1_000_000,
          backoff: { type: 'capped' },
          removeOnComplete: { age: 86_400 },
        },
      })),
    );
    for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
  };
  try {
    await checkRedis(redis, url, 30_000);
    await enqueue();
    o.out.write(
      `backfill ${o.run}: ${total} window jobs enqueued (${sites.length} sites × ${windows.length} windows)\n`,
    );
    const empty: BackfillProgress = {
      windowsPlanned: 0,
      ranges: 0,
      open: 0,
      records: 0,
      scored: 0,
      duplicateCommits: 0,
    };
    if (!o.wait) return { run: o.run, windows: total, seconds: 0, finished: false, ...empty };
    let last = '';
    let lastLine = 0;
    let hinted = false;
    while (true) {
      await new Promise((r) => setTimeout(r, 250));
      // Redis lost its data (restarted empty): the run's window jobs are enqueued again (idempotent).
      if (!(await redis.sismember(keys.backfillRuns, o.run))) {
        o.out.write(
          `backfill ${o.run}: Redis lost its data; enqueueing the windows again (committed work is kept)\n`,
        );
        await enqueue();
      }
      const text = await redis.get(keys.backfillProgress(o.run));
      const report = text ? (JSON.parse(text) as Partial<BackfillProgress> & { at?: number }) : null;
      // Only a report made after this run (re)started counts (a resumed run has an older one).
      const p: BackfillProgress = report && (report.at ?? 0) >= started ? { ...empty, ...report } : empty;
      const t = now();
      if (!report && !hinted && t - started > 30_000) {
        hinted = true;
        o.out.write(
          `backfill ${o.run}: no progress report yet: is a worker with the store role running (anomalia-monitor worker --config …)?\n`,
        );
      }
      const line = progressLine(o.run, total, p, null);
      if (line !== last && t - lastLine >= (o.progressEveryMs ?? 2_000)) {
        last = line;
        lastLine = t;
        o.out.write(`${progressLine(o.run, total, p, p.scored / Math.max(0.001, (t - started) / 1000))}\n`);
      }
      if (p.windowsPlanned >= total && p.open === 0) {
        o.out.write(`${progressLine(o.run, total, p, p.scored / Math.max(0.001, (t - started) / 1000))}\n`);
        await redis.srem(keys.backfillRuns, o.run);
        return { run: o.run, windows: total, seconds: (now() - started) / 1000, finished: true, ...p };
      }
    }
  } finally {
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}
