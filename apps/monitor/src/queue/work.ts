import {
  CHANGES_STREAM,
  type MonitorStore,
  type RangeCommitResult,
  type StoredRange,
} from '@anomalia/db-sqlite/monitor-store';
import { bandRank } from '@anomalia/severity';
import { buildCommit, modelFitAlert } from '../alerts';
import type { MonitorConfig, ResolvedRoute } from '../config/schema';
import type { Logger } from '../log';
import { checkScored } from '../seam';
import type { CommitJob, ScoreJob, WindowJob } from './jobs';
import { backfillStream, rangeJobId, WINDOW_DONE } from './names';
import type { SiteParts } from './sites';

/**
 * The monitor's work cut into jobs, as plain functions: the queue workers run them as BullMQ
 * jobs, and `backfill` without a queue runs them in its own process. Planning and committing
 * write the state store; scoring only reads the source and runs the model, so it can run anywhere.
 */

/** What the store-side jobs need. */
export interface StoreSide {
  readonly store: MonitorStore;
  readonly config: MonitorConfig;
  readonly routes: readonly ResolvedRoute[];
  readonly logger: Logger;
  readonly now: () => number;
}

/** Hands a planned range to scoring (a job add, idempotent by the range id; or a direct call). */
export type EnqueueRange = (range: StoredRange) => Promise<void>;

export interface PollOutcome {
  /** Ranges planned (or found planned) by this poll. */
  readonly ranges: number;
  readonly records: number;
  readonly caughtUp: boolean;
  /** Why the poll stopped early: too many open ranges, or another poller moved the cursor. */
  readonly stoppedBy: 'caught-up' | 'max-open-ranges' | 'conflict' | 'max-ranges';
}

/**
 * One poll of a site's change cursor: from the stream's cursor in the store, each batch of
 * changes becomes a range (planned in the store, then enqueued) until the source is caught up,
 * `maxOpenRanges` ranges wait uncommitted, or `maxRanges` were planned. Ranges are fixed by the
 * store: a retried poll gets the range planned before, never a second overlapping one.
 */
export async function pollSite(
  side: StoreSide,
  sites: SiteParts,
  site: string,
  enqueue: EnqueueRange,
  limits: { rangeSize: number; maxOpenRanges: number; maxRanges: number },
): Promise<PollOutcome> {
  const { store } = side;
  const { source } = await sites.get(site);
  let ranges = 0;
  let records = 0;
  while (true) {
    if (ranges >= limits.maxRanges) return { ranges, records, caughtUp: false, stoppedBy: 'max-ranges' };
    if (store.openRangeCount(site, CHANGES_STREAM) >= limits.maxOpenRanges)
      return { ranges, records, caughtUp: false, stoppedBy: 'max-open-ranges' };
    const start = store.streamCursor(site, CHANGES_STREAM);
    const batch = await source.poll(start, limits.rangeSize);
    const at = side.now();
    if (batch.ids.length === 0) {
      if (batch.watermark !== null && batch.watermark !== start)
        store.advanceCursor(site, CHANGES_STREAM, start, batch.watermark, at);
      return { ranges, records, caughtUp: true, stoppedBy: 'caught-up' };
    }
    if (batch.watermark === null)
      throw new Error(
        `site "${site}": the ${source.kind} change source returned changes without a watermark`,
      );
    const planned = store.planRange({
      id: rangeJobId(site, CHANGES_STREAM, start, batch.watermark),
      source: site,
      stream: CHANGES_STREAM,
      start,
      end: batch.watermark,
      ids: [...batch.ids],
      at,
    });
    if (planned.status === 'conflict') return { ranges, records, caughtUp: false, stoppedBy: 'conflict' };
    // A range committed before (found again by a retried poll) is done: the store, not Redis, says so.
    if (planned.range!.committedAt === null) await enqueue(planned.range!);
    ranges++;
    records += planned.range!.ids.length;
    if (batch.caughtUp) return { ranges, records, caughtUp: true, stoppedBy: 'caught-up' };
  }
}

/** Scores a range's records with the site's scorer (any machine: reads the source, writes nothing). */
export async function scoreRange(
  sites: SiteParts,
  job: ScoreJob,
  worker: string,
  now: () => number,
): Promise<CommitJob> {
  const { scorer } = await sites.get(job.site);
  const records = checkScored(await scorer.score(job.ids), job.ids);
  return {
    site: job.site,
    rangeId: job.rangeId,
    model: { name: scorer.model.name, version: scorer.model.version },
    records,
    fit: scorer.fit?.() ?? null,
    scoredAt: now(),
    scoredBy: worker,
  };
}

/**
 * Triage and the durable commit of a scored range (store side). A range committed before (a
 * duplicated or retried commit job) writes nothing: `duplicate` is true.
 */
export function commitScoredRange(side: StoreSide, job: CommitJob): RangeCommitResult {
  const range = side.store.range(job.rangeId);
  if (!range)
    throw new Error(`commit job ${job.rangeId}: no such range in the state store (pruned, or another store)`);
  if (range.committedAt !== null) return side.store.commitRange(job.rangeId, emptyCommit(job, side.now()));
  const records = checkScored(job.records, range.ids);
  const fit = job.fit ?? null;
  const mismatch = fit?.status === 'mismatch';
  const ctx = {
    source: job.site,
    model: job.model,
    routes: side.routes,
    maliciousThreshold: side.config.triage.maliciousThreshold,
    at: side.now(),
  };
  const { commit, held } = buildCommit(records, null, {
    ...ctx,
    minRank: bandRank(side.config.triage.minBand),
    hold: mismatch && side.config.guard.onMismatch === 'hold',
  });
  // The one "model does not fit" alert is no record of the range: committed on its own, once per
  // model version and site (its key: committing it again changes nothing), and before the range,
  // so a crash between the two writes leaves it stored and a retried job commits the range.
  if (mismatch)
    side.store.commitScored({
      source: ctx.source,
      model: ctx.model,
      at: ctx.at,
      watermark: null,
      scores: [],
      alerts: [modelFitAlert(fit, ctx)],
    });
  const result = side.store.commitRange(job.rangeId, commit);
  if (held > 0)
    side.logger.warn(
      { site: job.site, range: job.rangeId, held },
      'alerts held: the model does not fit this site (guard.onMismatch: hold)',
    );
  return result;
}

function emptyCommit(job: CommitJob, at: number) {
  return { source: job.site, model: job.model, at, watermark: null, scores: [], alerts: [] };
}

export interface WindowOutcome {
  readonly ranges: number;
  readonly records: number;
  /** The whole window is planned (false: stopped by `maxOpenRanges` or another planner; resume later). */
  readonly done: boolean;
}

/** The streams of every backfill (for counting a site's open backfill ranges). */
export const BACKFILL_STREAMS = 'backfill/';

/**
 * Splits one backfill window of one site into ranges (pages of `history`), each planned in the
 * store and enqueued. Resumable: it continues from the window's cursor in the store, and a
 * window already planned to its end plans nothing.
 */
export async function planWindow(
  side: StoreSide,
  sites: SiteParts,
  job: WindowJob,
  enqueue: EnqueueRange,
  rangeSize: number,
  options: {
    /** Stop planning while the site has this many open backfill ranges (bounds what waits in Redis). */
    readonly maxOpenRanges?: number;
    /** Hand the window's open ranges (planned before a crash) to `enqueue` first (the queue's recovery sweep does it there). */
    readonly requeueOpen?: boolean;
  } = {},
): Promise<WindowOutcome> {
  const maxOpenRanges = options.maxOpenRanges ?? Number.POSITIVE_INFINITY;
  const { store } = side;
  const { source } = await sites.get(job.site);
  if (!source.history)
    throw new Error(
      `site "${job.site}": its ${source.kind} change source cannot list history (no history())`,
    );
  const stream = backfillStream(job.run, job.from, job.to);
  let ranges = 0;
  let records = 0;
  if (options.requeueOpen)
    for (const r of store.openRanges(job.site, stream, { limit: 100_000 })) await enqueue(r);
  while (true) {
    const start = store.streamCursor(job.site, stream);
    if (start === WINDOW_DONE) return { ranges, records, done: true };
    if (store.openRangeCount(job.site, BACKFILL_STREAMS) >= maxOpenRanges)
      return { ranges, records, done: false };
    const page = await source.history({ from: job.from, to: job.to }, start, rangeSize);
    const end = page.next ?? WINDOW_DONE;
    if (page.ids.length === 0) {
      store.advanceCursor(job.site, stream, start, WINDOW_DONE, side.now());
      return { ranges, records, done: true };
    }
    const planned = store.planRange({
      id: rangeJobId(job.site, stream, start, end),
      source: job.site,
      stream,
      start,
      end,
      ids: [...page.ids],
      at: side.now(),
    });
    if (planned.status === 'conflict') return { ranges, records, done: false };
    if (planned.range!.committedAt === null) await enqueue(planned.range!);
    ranges++;
    records += planned.range!.ids.length;
  }
}

/** [from, to) cut into windows of `windowMs` (the last one shorter). */
export function splitWindows(from: number, to: number, windowMs: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (let t = from; t < to; t += windowMs) out.push({ from: t, to: Math.min(to, t + windowMs) });
  return out;
}

/** Progress of a backfill run from the store: windows planned to their end, ranges and records. */
export function backfillProgress(store: MonitorStore, run: string) {
  const streams = store.streamSummaries(`backfill/${run}/`);
  return {
    windowsPlanned: streams.filter((s) => s.cursor === WINDOW_DONE).length,
    ranges: streams.reduce((n, s) => n + s.ranges, 0),
    open: streams.reduce((n, s) => n + s.open, 0),
    records: streams.reduce((n, s) => n + s.records, 0),
    scored: streams.reduce((n, s) => n + s.scored, 0),
    duplicateCommits: streams.reduce((n, s) => n + s.duplicateCommits, 0),
  };
}
export type BackfillProgress = ReturnType<typeof backfillProgress>;
