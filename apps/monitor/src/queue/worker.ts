import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { type MonitorStore, openMonitorStore, type StoredRange } from '@anomalia/db-sqlite/monitor-store';
import { DelayedError, type Job, type JobsOptions, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConfigError, resolveSecret } from '../config/load';
import { type MonitorConfig, resolveRoutes } from '../config/schema';
import type { Logger } from '../log';
import { Dispatcher } from '../outbox/dispatcher';
import type { ScoringPartsFactory } from '../service/assemble';
import { createSink } from '../sinks/index';
import {
  CommitJobSchema,
  DeliverJobSchema,
  PollJobSchema,
  parseJob,
  ScoreJobSchema,
  WindowJobSchema,
} from './jobs';
import { Lease } from './lease';
import { backfillRunOf, isChangesStream, jobIds, QUEUE_NAMES, type QueueName, redisKeys } from './names';
import { checkRedis, checkRedisUrl, describeRedis, openRedis } from './redis';
import { SiteParts } from './sites';
import {
  backfillProgress,
  commitScoredRange,
  planWindow,
  pollSite,
  type StoreSide,
  scoreRange,
} from './work';

/**
 * `score`: scoring jobs only (any machine that reaches the source databases and Redis);
 * `store`: polling, committing, dispatching and delivering, which write the state store (the
 * machine that holds it).
 */
export const WORKER_ROLES = ['score', 'store'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface QueueWorkerOptions {
  readonly roles: readonly WorkerRole[];
  readonly createParts: ScoringPartsFactory;
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Shown in logs and recorded on scored ranges (default host:pid). */
  readonly name?: string;
  /** How long to wait for Redis at start before giving up (default 30 s). */
  readonly connectTimeoutMs?: number;
  readonly now?: () => number;
}

export interface QueueWorker {
  readonly name: string;
  /** The state store (store role only). */
  readonly store: MonitorStore | null;
  /** Stops taking jobs, lets the jobs in flight finish, closes everything. */
  close(): Promise<void>;
}

/**
 * Jobs are retried until they succeed, with a capped exponential backoff (see `backoffStrategy`).
 * Finished jobs are not kept for idempotency: the state store is the authority on what was planned
 * and committed (a re-added job for a committed range writes nothing), so Redis holds only a
 * short history (commit jobs carry a range's scored records, up to a few hundred kB each).
 */
const RETRY: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'capped' },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 86_400 },
};
const KEEP_FEW = { ...RETRY, removeOnComplete: { age: 600, count: 100 } };

function backoffStrategy(attemptsMade: number): number {
  const ceiling = Math.min(60_000, 500 * 2 ** Math.min(attemptsMade - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Errors that are the configuration's fault: a worker does not start with them. */
const CONFIG_ERRORS = ['ConfigError', 'ValidationError', 'ArtifactError', 'NotAMonitorStoreError'];

/** How often the store side looks for ranges whose jobs were lost, publishes backfill progress, prunes. */
const HOUSEKEEPING_MS = 5_000;
/** Committed ranges are kept this long (their cursors forever). */
const KEEP_RANGES_MS = 86_400_000;
/** Ranges one poll job plans before handing over to a fresh job (keeps jobs short). */
const RANGES_PER_POLL = 64;

/**
 * Starts a worker process of the distributed mode: connects to Redis (refusing one whose
 * eviction policy would lose jobs), then takes the jobs of its roles until closed. Any number
 * run side by side; BullMQ moves the jobs of a worker that dies (its lock expires after
 * `queue.lockDuration`) back to the queue for another one.
 */
export async function startQueueWorker(
  config: MonitorConfig,
  options: QueueWorkerOptions,
): Promise<QueueWorker> {
  const q = config.queue;
  if (!q)
    throw new ConfigError(
      'config',
      'queue',
      'expected a queue section (`queue: { redis: url }`) to start a worker',
    );
  const { logger } = options;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const now = options.now ?? Date.now;
  const roles = new Set(options.roles);
  const url = resolveSecret(q.redis, 'queue.redis', options.env);
  checkRedisUrl(url);
  const sites = new SiteParts(config, options.createParts, logger);
  // Built now, so a configuration problem (a missing model, a feature-set mismatch) stops the start
  // with its message; a site whose database is only unreachable is retried by its jobs.
  for (const site of sites.names)
    await sites.get(site).catch(async (e: Error) => {
      if (CONFIG_ERRORS.includes(e.name)) {
        await sites.close();
        throw e;
      }
      logger.warn({ site, err: e.message }, 'site not reachable yet; its jobs will retry');
    });
  const redis = openRedis(url, `anomalia-monitor ${name}`);
  const connection = watchConnection(redis, url, logger);
  // While Redis is away every queue and worker reports the same lost connection: logged once above.
  const report = (what: Record<string, unknown>, msg: string) =>
    connection.up ? logger.warn(what, msg) : logger.debug(what, msg);
  try {
    const info = await checkRedis(redis, url, options.connectTimeoutMs ?? 30_000);
    logger.info(
      { redis: describeRedis(url), version: info.version, roles: [...roles], worker: name },
      'worker connected',
    );
  } catch (e) {
    redis.disconnect();
    await sites.close();
    throw e;
  }
  const keys = redisKeys(q.prefix);
  const base = { connection: redis, prefix: q.prefix };
  const queues = Object.fromEntries(
    Object.values(QUEUE_NAMES).map((n) => [n, new Queue(n, { ...base, defaultJobOptions: RETRY })]),
  ) as Record<QueueName, Queue>;
  for (const queue of Object.values(queues))
    queue.on('error', (e) => report({ queue: queue.name, err: e.message }, 'queue error'));
  const workers: Worker[] = [];
  const workerOptions = {
    ...base,
    name,
    lockDuration: q.lockDuration,
    stalledInterval: q.lockDuration,
    maxStalledCount: 10,
    settings: { backoffStrategy },
  };
  const work = (
    queue: QueueName,
    concurrency: number,
    fn: (job: Job, token?: string) => Promise<unknown>,
  ) => {
    const w = new Worker(queue, fn, { ...workerOptions, concurrency });
    w.on('error', (e) => report({ queue, err: e.message }, 'worker error'));
    w.on('failed', (job, e) =>
      logger.warn(
        { queue, job: job?.id, attempts: job?.attemptsMade, err: e.message },
        'job failed; will retry',
      ),
    );
    workers.push(w);
  };
  const enqueueScore = async (range: StoredRange) => {
    await queues.score.add(
      'score',
      { site: range.source, rangeId: range.id, stream: range.stream, ids: range.ids },
      { ...RETRY, jobId: range.id },
    );
  };

  let store: MonitorStore | null = null;
  let dispatcher: Dispatcher | null = null;
  try {
    if (roles.has('store')) {
      mkdirSync(dirname(config.state.path), { recursive: true });
      store = openMonitorStore(config.state.path, { synchronous: config.state.synchronous });
      const storeId = store.storeId();
      await claimStore(redis, keys.store, {
        id: storeId,
        host: hostname(),
        path: resolve(config.state.path),
      });
      const routes = resolveRoutes(config);
      dispatcher = new Dispatcher({
        store,
        sinks: config.sinks.map((c, i) => ({
          sink: createSink(c, i, options.env),
          retry: c.retry,
          patientIdentifiers: c.patientIdentifiers,
        })),
        routes,
        defaults: config.routing.defaults,
        inhibit: config.inhibit,
        logger,
      });
      const side: StoreSide = { store, config, routes, logger, now };
      const s = store;
      const d = dispatcher;
      const wakeDispatch = (at: number) =>
        queues.dispatch.add(
          'dispatch',
          {},
          { jobId: jobIds.dispatchAt(at), delay: Math.max(0, at - now()), ...RETRY },
        );

      work(QUEUE_NAMES.poll, Math.min(16, sites.names.length), async (job) => {
        const { site } = parseJob(PollJobSchema, job.data, 'poll');
        if (!sites.has(site)) {
          logger.warn({ site }, 'poll job for a site this worker does not know; ignored');
          return { skipped: 'unknown site' };
        }
        const lease = await Lease.acquire(redis, keys.pollLease(site), q.lockDuration);
        if (!lease) return { skipped: 'another poll of this site is running' };
        try {
          const outcome = await pollSite(side, sites, site, enqueueScore, {
            rangeSize: q.rangeSize,
            maxOpenRanges: q.maxOpenRanges,
            maxRanges: RANGES_PER_POLL,
          });
          if (outcome.ranges > 0) logger.info({ site, ...outcome }, 'ranges planned');
          if (outcome.stoppedBy === 'max-ranges')
            await queues.poll.add('poll', { site }, { jobId: `${jobIds.pollScheduler(site)}|${now()}` });
          return outcome;
        } finally {
          await lease.release();
        }
      });

      // One committer per process: SQLite has one writer at a time anyway.
      work(QUEUE_NAMES.commit, 1, async (job) => {
        const data = parseJob(CommitJobSchema, job.data, 'commit');
        const r = commitScoredRange(side, data);
        if (r.duplicate) logger.info({ range: data.rangeId }, 'range committed before; duplicate absorbed');
        if (r.deliveriesQueued > 0) await wakeDispatch(now());
        const stream = s.range(data.rangeId)?.stream ?? '';
        const run = backfillRunOf(stream);
        if (run) progress.publish(run);
        // This commit freed the first slot of a site whose poll stopped at maxOpenRanges: poll it now
        // rather than at its next interval (catching up after downtime goes at the workers' pace).
        if (isChangesStream(stream) && s.openRangeCount(data.site, stream) === q.maxOpenRanges - 1)
          await queues.poll.add(
            'poll',
            { site: data.site },
            { jobId: `${jobIds.pollScheduler(data.site)}|${now()}` },
          );
        return { duplicate: r.duplicate, scored: r.scored, alerts: r.alertsCreated + r.alertsEscalated };
      });

      const progress = throttledProgress(s, redis, keys, logger);
      let lastHousekeeping = 0;
      let lastPrune = 0;
      work(QUEUE_NAMES.dispatch, 1, async () => {
        const lease = await Lease.acquire(redis, keys.dispatchLease, q.lockDuration);
        if (!lease) {
          await wakeDispatch(now() + 250);
          return { skipped: 'another dispatch is running' };
        }
        try {
          const at = now();
          const formed = d.formDue(at);
          let queued = 0;
          for (const sink of d.sinkNames) {
            const due = s.dueNotifications(sink, at, 1_000);
            queued += due.length;
            if (due.length)
              await queues.deliver.addBulk(
                due.map((n) => ({
                  name: 'deliver',
                  data: { notification: n.id },
                  opts: { ...RETRY, jobId: jobIds.deliver(n.id, n.attempts) },
                })),
              );
          }
          const next = d.nextDueAt();
          // Due notifications already have their deliver jobs: look again shortly, not at once.
          if (next !== null) await wakeDispatch(Math.max(next, at + 1_000));
          if (at - lastHousekeeping >= HOUSEKEEPING_MS) {
            lastHousekeeping = at;
            await recoverLostJobs(s, queues, redis, keys, enqueueScore, at - 2 * q.lockDuration, logger);
            await publishBackfillProgress(s, redis, keys);
            if (at - lastPrune >= 3_600_000) {
              lastPrune = at;
              s.pruneRanges(at - KEEP_RANGES_MS);
            }
          }
          return { formed, queued };
        } finally {
          await lease.release();
        }
      });

      work(QUEUE_NAMES.deliver, 4, async (job) => {
        const { notification } = parseJob(DeliverJobSchema, job.data, 'deliver');
        const outcome = await d.deliver(notification, now());
        if (outcome === 'failed') {
          const n = s.notification(notification);
          if (n?.status === 'pending') await wakeDispatch(n.nextAttemptAt);
        }
        return { outcome };
      });

      work(QUEUE_NAMES.backfill, 2, async (job, token) => {
        const data = parseJob(WindowJobSchema, job.data, 'backfill');
        const outcome = await planWindow(side, sites, data, enqueueScore, q.rangeSize, {
          maxOpenRanges: q.maxOpenRanges,
        });
        await publishBackfillProgress(s, redis, keys, data.run);
        if (!outcome.done) {
          // Enough of this site's ranges wait to be scored: the window goes on a second later.
          await job.moveToDelayed(now() + 1_000, token);
          throw new DelayedError();
        }
        return outcome;
      });

      const schedule = async () => {
        await claimStore(redis, keys.store, {
          id: storeId,
          host: hostname(),
          path: resolve(config.state.path),
        });
        for (const site of sites.names)
          await queues.poll.upsertJobScheduler(
            jobIds.pollScheduler(site),
            { every: config.poll.interval },
            { name: 'poll', data: { site } },
          );
        await queues.dispatch.upsertJobScheduler(
          jobIds.dispatchScheduler(),
          { every: Math.min(HOUSEKEEPING_MS, config.poll.interval) },
          { name: 'dispatch', data: {} },
        );
      };
      await schedule();
      // After a reconnection (Redis restarted, perhaps empty), the schedulers and the store claim are put back.
      const storeWorkers = [...workers];
      redis.on('ready', () => {
        schedule().catch(async (e: Error) => {
          if (e.name !== 'ConfigError') {
            logger.warn(
              { err: e.message },
              'could not restore the job schedulers; retried at the next reconnection',
            );
            return;
          }
          // Another store claimed the queue while Redis was away: this one must stop writing.
          logger.error(
            { err: e.message },
            'the queue belongs to another state store now; store jobs stopped here',
          );
          await Promise.allSettled(storeWorkers.map((w) => w.close()));
        });
      });
    }

    if (roles.has('score'))
      work(QUEUE_NAMES.score, q.concurrency, async (job) => {
        const data = parseJob(ScoreJobSchema, job.data, 'score');
        const commit = await scoreRange(sites, data, name, now);
        await queues.commit.add('commit', commit, { ...KEEP_FEW, jobId: data.rangeId });
        return { records: commit.records.length };
      });
  } catch (e) {
    await Promise.allSettled(workers.map((w) => w.close()));
    await Promise.allSettled(Object.values(queues).map((x) => x.close()));
    await dispatcher?.close();
    store?.close();
    await sites.close();
    redis.disconnect();
    throw e;
  }

  let closed: Promise<void> | null = null;
  return {
    name,
    store,
    close() {
      closed ??= (async () => {
        connection.closing = true;
        await Promise.allSettled(workers.map((w) => w.close()));
        await Promise.allSettled(Object.values(queues).map((x) => x.close()));
        await dispatcher?.close();
        await sites.close();
        store?.close();
        await redis.quit().catch(() => redis.disconnect());
        logger.info({ worker: name }, 'worker stopped');
      })();
      return closed;
    },
  };
}

/** Logs connection loss and recovery once each, not every reconnection attempt. */
function watchConnection(redis: Redis, url: string, logger: Logger): { up: boolean; closing: boolean } {
  const state = { up: true, closing: false };
  const lost = (err: string) => {
    if (!state.up || state.closing) return;
    state.up = false;
    logger.warn({ redis: describeRedis(url), err }, 'Redis connection lost; reconnecting');
  };
  redis.on('error', (e) => lost(e.message));
  redis.on('close', () => lost('connection closed'));
  redis.on('ready', () => {
    if (state.up) return;
    state.up = true;
    logger.info({ redis: describeRedis(url) }, 'Redis connection back');
  });
  return state;
}

interface StoreClaim {
  readonly id: string;
  readonly host: string;
  readonly path: string;
}

/**
 * The SQLite state store lives on one host: a store worker of a queue whose claimed store is
 * another file (another host, another path) would split the alerts between two stores, so it is
 * refused. The claim is set by the first store worker and put back after Redis loses its data.
 */
async function claimStore(redis: Redis, key: string, claim: StoreClaim): Promise<void> {
  await redis.set(key, JSON.stringify(claim), 'NX');
  const held = JSON.parse((await redis.get(key)) ?? '{}') as Partial<StoreClaim>;
  if (held.id !== claim.id)
    throw new ConfigError(
      'config',
      'state.path',
      `this queue's state store is ${held.path} on ${held.host} (store id ${held.id}); ${claim.path} on ${claim.host} is another store. ` +
        'Start workers on other machines with `--roles score`, or run store workers where that store is ' +
        `(to move the store: stop every worker, move the file, then redis-cli DEL ${key})`,
    );
}

/**
 * Open ranges older than `createdBefore` whose jobs are gone (Redis lost its data, or a planner
 * died between planning a range and enqueueing it) are enqueued again; failed ones are retried.
 * The range's id is its job's id, so this never duplicates a job that still exists.
 */
async function recoverLostJobs(
  store: MonitorStore,
  queues: Record<QueueName, Queue>,
  redis: Redis,
  keys: ReturnType<typeof redisKeys>,
  enqueue: (range: StoredRange) => Promise<void>,
  createdBefore: number,
  logger: Logger,
): Promise<void> {
  // A missing epoch key means Redis started empty: every open range is checked, not just the oldest.
  const fresh = (await redis.set(keys.epoch, String(Date.now()), 'NX')) === 'OK';
  const ranges = store.staleRanges(fresh ? Number.MAX_SAFE_INTEGER : createdBefore, fresh ? 1_000_000 : 500);
  let requeued = 0;
  for (const r of ranges) {
    const commit = await queues.commit.getJobState(r.id);
    if (commit === 'failed') await (await queues.commit.getJob(r.id))?.retry('failed');
    if (commit !== 'unknown') continue;
    const score = await queues.score.getJobState(r.id);
    if (score === 'failed') await (await queues.score.getJob(r.id))?.retry('failed');
    if (score === 'unknown') {
      await enqueue(r);
      requeued++;
    }
  }
  if (requeued > 0)
    logger.warn({ requeued, redisWasEmpty: fresh }, 'ranges whose jobs were lost enqueued again');
}

/** Publishes a run's progress at most every 200 ms, and once more after the last call (so the end is seen at once). */
function throttledProgress(
  store: MonitorStore,
  redis: Redis,
  keys: ReturnType<typeof redisKeys>,
  logger: Logger,
) {
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    publish(run: string) {
      if (timers.has(run)) return;
      timers.set(
        run,
        setTimeout(() => {
          timers.delete(run);
          if (store.isOpen)
            publishBackfillProgress(store, redis, keys, run).catch((e) =>
              logger.debug({ err: (e as Error).message }, 'backfill progress not published'),
            );
        }, 200),
      );
    },
  };
}

/** The store host reports each running backfill's progress to Redis, for `backfill` wherever it runs. */
async function publishBackfillProgress(
  store: MonitorStore,
  redis: Redis,
  keys: ReturnType<typeof redisKeys>,
  only?: string,
): Promise<void> {
  const runs = only ? [only] : await redis.smembers(keys.backfillRuns);
  for (const run of runs) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(run)) continue;
    await redis.set(
      keys.backfillProgress(run),
      JSON.stringify({ at: Date.now(), ...backfillProgress(store, run) }),
      'EX',
      30 * 86_400,
    );
  }
}
