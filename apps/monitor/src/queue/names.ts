import { CHANGES_STREAM } from '@anomalia/db-sqlite/monitor-store';

/**
 * Names of the distributed mode's queues, job ids and Redis keys. Job ids are idempotency keys:
 * BullMQ ignores an `add` whose id already exists, so a retried or duplicated producer never
 * creates a second job for the same work.
 */

/** The queues: `score` runs on any machine; the others need the state store (see the README). */
export const QUEUE_NAMES = {
  poll: 'poll',
  score: 'score',
  commit: 'commit',
  dispatch: 'dispatch',
  deliver: 'deliver',
  backfill: 'backfill',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The table whose row versions the change cursor follows (part of every range's job id). */
export const TRACKED_TABLE = 'TrackTreatment';

/** A backfill window's stream is fully planned when its cursor is this. */
export const WINDOW_DONE = '~end';

// BullMQ refuses ':' in custom ids and ids that parse as integers; every part is URI-encoded and
// joined with '|', so ids are unambiguous and never numeric.
const id = (...parts: readonly string[]) => parts.map(encodeURIComponent).join('|');

/** The id of a range and of its score and commit jobs: (site, table, stream, cursor range). */
export function rangeJobId(site: string, stream: string, start: string | null, end: string | null): string {
  return id(site, TRACKED_TABLE, stream, start ?? '', end ?? '');
}

export function isChangesStream(stream: string): boolean {
  return stream === CHANGES_STREAM;
}

/** A backfill window's stream: its run and the window in ms. */
export function backfillStream(run: string, from: number, to: number): string {
  return `backfill/${run}/${from}-${to}`;
}

/** The run of a backfill stream, or null for another stream. */
export function backfillRunOf(stream: string): string | null {
  const m = /^backfill\/([^/]+)\/\d+-\d+$/.exec(stream);
  return m ? m[1]! : null;
}

export const jobIds = {
  pollScheduler: (site: string) => id('poll', site),
  dispatchScheduler: () => 'dispatch|tick',
  /** A dispatch at a time (100 ms buckets): a wake-up for the same moment is added once. */
  dispatchAt: (at: number) => id('dispatch', String(Math.ceil(at / 100))),
  /** One job per notification and attempt: a re-enqueued due notification is not sent twice. */
  deliver: (notification: string, attempts: number) => id('deliver', notification, String(attempts)),
  backfillWindow: (run: string, site: string, from: number, to: number) =>
    id('window', run, site, String(from), String(to)),
};

/** Redis keys of this deployment besides BullMQ's own (under `<prefix>:monitor:`, a name no queue has). */
export function redisKeys(prefix: string) {
  const k = `${prefix}:monitor`;
  return {
    /** The state store serving this queue: `{ id, host, path }`. */
    store: `${k}:store`,
    /** Set by the store side; its disappearance means Redis lost its data. */
    epoch: `${k}:epoch`,
    /** Per-site lease of the change cursor (one poll at a time). */
    pollLease: (site: string) => `${k}:lease:poll:${encodeURIComponent(site)}`,
    dispatchLease: `${k}:lease:dispatch`,
    /** Backfill runs in progress, and the store host's progress report of each. */
    backfillRuns: `${k}:backfill:runs`,
    backfillProgress: (run: string) => `${k}:backfill:progress:${run}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
