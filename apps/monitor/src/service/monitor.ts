import { writeFile } from 'node:fs/promises';
import type { MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { bandRank } from '@anomalia/severity';
import { buildCommit, modelFitAlert } from '../alerts';
import type { AlertBand, ResolvedRoute } from '../config/schema';
import type { MonitorEvents } from '../events/bus';
import type { Logger } from '../log';
import { retryDelay } from '../outbox/backoff';
import type { Dispatcher } from '../outbox/dispatcher';
import { type ChangeBatch, type ChangeSource, checkScored, type FitAssessment, type Scorer } from '../seam';
import { type HealthSummary, healthSummary, type SourceHealth } from './health';
import { Wakeup } from './wakeup';

export interface MonitorServiceOptions {
  readonly store: MonitorStore;
  readonly source: ChangeSource;
  /** The site's name (config `source.name`): part of every alert key. */
  readonly sourceName: string;
  readonly scorer: Scorer;
  readonly dispatcher: Dispatcher;
  readonly routes: readonly ResolvedRoute[];
  readonly triage: { readonly minBand: AlertBand; readonly maliciousThreshold: number };
  readonly poll: {
    readonly interval: number;
    readonly batchSize: number;
    readonly retry: { readonly initial: number; readonly max: number };
  };
  readonly health?: { readonly interval: number; readonly file?: string };
  /** While the scorer says the model does not fit: `hold` per-record alerts, or `alert` on. */
  readonly onMismatch?: 'hold' | 'alert';
  readonly logger: Logger;
  /** Told about every batch and failed poll (metrics, the dashboard's live stream). */
  readonly events?: MonitorEvents;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface PollResult {
  /** Ids the source returned. */
  readonly changed: number;
  readonly scored: number;
  /** Ids the scorer no longer found (deleted between poll and load). */
  readonly missing: number;
  /** Scored records with a non-finite energy, stored as invalid. */
  readonly invalid: number;
  /** Records the model does not judge, by reason (stored as seen, never alerted on). */
  readonly notJudged: Readonly<Record<string, number>>;
  /** Records in an alerting band whose alert was held: the model does not fit the source. */
  readonly held: number;
  readonly alertsCreated: number;
  readonly alertsEscalated: number;
  readonly alertsUnchanged: number;
  readonly deliveriesQueued: number;
  readonly caughtUp: boolean;
  readonly watermark: string | null;
}

/**
 * The monitor's loop: poll the change source from the persisted watermark, score the changed
 * records, triage them and commit scores, alerts, their outbox deliveries and the new watermark in
 * one transaction; a separate delivery loop sends the outbox, so a slow sink never delays scoring.
 * A crash anywhere loses nothing: an uncommitted batch is polled again from the old watermark,
 * and alert keys make the second commit a no-op for whatever the first one stored.
 */
export class MonitorService {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly deliveries = new Wakeup();
  private readonly sourceHealth: {
    lastPollAt: number | null;
    lastSuccessAt: number | null;
    lastCaughtUpAt: number | null;
    lastError: string | null;
    consecutiveFailures: number;
    caughtUp: boolean;
    newestChangeAt: number | null;
  } = {
    lastPollAt: null,
    lastSuccessAt: null,
    lastCaughtUpAt: null,
    lastError: null,
    consecutiveFailures: 0,
    caughtUp: false,
    newestChangeAt: null,
  };
  private readonly totals = { scored: 0, alerts: 0, invalid: 0, notJudged: 0, held: 0 };
  private fit: FitAssessment | null = null;
  /** The batch polled ahead (`readAhead`), and the watermark it starts at. */
  private ahead: { readonly from: string; readonly batch: Promise<ChangeBatch> } | null = null;

  constructor(private readonly o: MonitorServiceOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** One poll → score → triage → commit. Throws when the source or the scorer fails (nothing committed). */
  async pollOnce(): Promise<PollResult> {
    const { store, scorer, sourceName } = this.o;
    const started = this.now();
    this.sourceHealth.lastPollAt = started;
    const batch = await this.nextBatch(store.watermark(sourceName));
    if (!batch.caughtUp && batch.watermark !== null && batch.ids.length) this.readAhead(batch.watermark);
    const scoringStarted = this.now();
    const records = batch.ids.length ? checkScored(await scorer.score(batch.ids), batch.ids) : [];
    const at = this.now();
    const fit = this.assessFit();
    const mismatch = fit?.status === 'mismatch';
    const ctx = {
      source: sourceName,
      model: scorer.model,
      routes: this.o.routes,
      maliciousThreshold: this.o.triage.maliciousThreshold,
      at,
    };
    const { commit, invalid, notJudged, held } = buildCommit(records, batch.watermark, {
      ...ctx,
      minRank: bandRank(this.o.triage.minBand),
      hold: mismatch && (this.o.onMismatch ?? 'hold') === 'hold',
    });
    // Raised once per model version and source (its key), however many batches confirm it.
    if (mismatch) commit.alerts.push(modelFitAlert(fit, ctx));
    const r = store.commitScored(commit);
    const h = this.sourceHealth;
    h.lastSuccessAt = at;
    h.lastError = null;
    h.consecutiveFailures = 0;
    h.caughtUp = batch.caughtUp;
    if (batch.caughtUp) h.lastCaughtUpAt = started;
    if (batch.newestChangeAt != null) h.newestChangeAt = batch.newestChangeAt;
    this.totals.scored += r.scored;
    this.totals.alerts += r.alertsCreated + r.alertsEscalated;
    this.totals.invalid += invalid;
    for (const n of Object.values(notJudged)) this.totals.notJudged += n;
    this.totals.held += held;
    if (r.deliveriesQueued > 0) this.deliveries.wake();
    const result: PollResult = {
      changed: batch.ids.length,
      scored: r.scored,
      missing: batch.ids.length - records.length,
      invalid,
      notJudged,
      held,
      alertsCreated: r.alertsCreated,
      alertsEscalated: r.alertsEscalated,
      alertsUnchanged: r.alertsUnchanged,
      deliveriesQueued: r.deliveriesQueued,
      caughtUp: batch.caughtUp,
      watermark: batch.watermark,
    };
    if (result.changed > 0) this.o.logger.info({ ...result, ms: this.now() - started }, 'batch scored');
    if (this.o.events) {
      const bands: Record<string, number> = {};
      for (const s of commit.scores) bands[s.band] = (bands[s.band] ?? 0) + 1;
      this.o.events.emit('batch', {
        at,
        ms: this.now() - started,
        scoringMs: batch.ids.length ? at - scoringStarted : 0,
        changed: batch.ids.length,
        bands,
        notJudged,
        held,
        alertsCreated: r.bandsCreated,
        alertsEscalated: r.bandsEscalated,
        caughtUp: batch.caughtUp,
        newestChangeAt: batch.newestChangeAt ?? null,
      });
    }
    if (invalid > 0) this.o.logger.warn({ invalid }, 'model returned non-finite energies; stored as invalid');
    return result;
  }

  /**
   * The batch after `watermark`: the one read ahead when it starts there, else polled now. A read
   * ahead that failed is polled again (its error may have been transient).
   */
  private async nextBatch(watermark: string | null): Promise<ChangeBatch> {
    const ahead = this.ahead;
    this.ahead = null;
    if (ahead && ahead.from === watermark) {
      const batch = await ahead.batch.catch(() => null);
      if (batch) return batch;
    }
    return this.o.source.poll(watermark, this.o.poll.batchSize);
  }

  /**
   * Catching up: the next batch is polled, and the scorer told its ids, while this one is scored
   * and committed. A source and a scorer that read off the main thread (SQLite in a worker, a
   * server over the network) then read batch N+1 while batch N's features are computed. Nothing
   * is committed early: the watermark moves only with the commit of the batch it ends.
   */
  private readAhead(from: string): void {
    // The scorer hears of the ids before anyone can ask it to score them.
    const batch = this.o.source.poll(from, this.o.poll.batchSize).then((b) => {
      if (b.ids.length) this.o.scorer.prefetch?.(b.ids);
      return b;
    });
    batch.catch(() => undefined);
    this.ahead = { from, batch };
  }

  /**
   * Runs the poll loop and the delivery loop until `signal` aborts, then lets the batch and the
   * delivery in flight finish and returns (the caller closes the store, sinks, source and scorer).
   */
  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.deliveries.wake();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all([this.pollLoop(signal), this.deliveryLoop(signal), this.healthLoop(signal)]);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    const pause = new Wakeup();
    signal.addEventListener('abort', () => pause.wake(), { once: true });
    while (!signal.aborted) {
      let wait = this.o.poll.interval;
      try {
        const r = await this.pollOnce();
        if (!r.caughtUp) wait = 0;
      } catch (e) {
        const h = this.sourceHealth;
        h.consecutiveFailures++;
        h.lastError = (e as Error).message;
        wait = retryDelay(
          { ...this.o.poll.retry, factor: 2, maxAttempts: null },
          h.consecutiveFailures,
          this.random,
        );
        this.o.logger.error(
          { err: h.lastError, failures: h.consecutiveFailures, retryInMs: wait },
          'poll failed; nothing committed, will retry',
        );
        this.o.events?.emit('pollFailed', {
          at: this.now(),
          error: h.lastError,
          failures: h.consecutiveFailures,
        });
      }
      if (wait > 0 && !signal.aborted) await pause.wait(wait);
    }
  }

  private async deliveryLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let wait = this.o.poll.interval;
      try {
        await this.o.dispatcher.runOnce(this.now(), signal);
        failures = 0;
        const next = this.o.dispatcher.nextDueAt();
        if (next !== null) wait = Math.max(0, Math.min(wait, next - this.now()));
      } catch (e) {
        failures++;
        wait = retryDelay({ ...this.o.poll.retry, factor: 2, maxAttempts: null }, failures, this.random);
        this.o.logger.error({ err: (e as Error).message, retryInMs: wait }, 'delivery round failed');
      }
      if (!signal.aborted) await this.deliveries.wait(Math.max(wait, 10));
    }
  }

  private async healthLoop(signal: AbortSignal): Promise<void> {
    const h = this.o.health;
    if (!h) return;
    const pause = new Wakeup();
    signal.addEventListener('abort', () => pause.wake(), { once: true });
    while (!signal.aborted) {
      await pause.wait(h.interval);
      if (signal.aborted) break;
      const summary = this.health();
      this.o.logger.info({ health: summary }, 'health');
      if (h.file) await writeFile(h.file, `${JSON.stringify(summary, null, 2)}\n`).catch(() => undefined);
    }
  }

  /** The scorer's verdict on the model's fit; a change of status is logged. */
  private assessFit(): FitAssessment | null {
    const fit = this.o.scorer.fit?.() ?? null;
    if (fit && fit.status !== this.fit?.status) {
      if (fit.status === 'mismatch')
        this.o.logger.warn(
          { fit: { reasons: fit.reasons, window: fit.window } },
          `model does not fit this database: ${fit.reasons.join('; ')}${(this.o.onMismatch ?? 'hold') === 'hold' ? ' (per-record alerts held)' : ''}`,
        );
      else
        this.o.logger.info({ fit: { status: fit.status, window: fit.window } }, `model fit: ${fit.status}`);
    }
    this.fit = fit;
    return fit;
  }

  /** Last poll, lag, backlog and sink state (also logged every `health.interval`). */
  health(): HealthSummary {
    const now = this.now();
    const s = this.sourceHealth;
    const source: SourceHealth = {
      name: this.o.sourceName,
      kind: this.o.source.kind,
      watermark: this.o.store.isOpen ? this.o.store.watermark(this.o.sourceName) : null,
      lastPollAt: s.lastPollAt,
      lastSuccessAt: s.lastSuccessAt,
      lastError: s.lastError,
      consecutiveFailures: s.consecutiveFailures,
      caughtUp: s.caughtUp,
      lagMs: lagOf(now, s),
      newestChangeAt: s.newestChangeAt,
    };
    return healthSummary({
      now,
      source,
      fit: this.fit,
      totals: { ...this.totals },
      store: this.o.store,
      model: this.o.scorer.model,
      sinkNames: this.o.dispatcher.sinkNames,
    });
  }
}

/**
 * How far behind the monitor is. Caught up: the time since it last knew it had seen every change
 * (about a poll interval). Catching up: now − when the newest change it has scored happened (the
 * age of the data it is working through), or since it was last caught up when that is unknown.
 */
function lagOf(
  now: number,
  s: {
    caughtUp: boolean;
    lastCaughtUpAt: number | null;
    newestChangeAt: number | null;
    lastSuccessAt: number | null;
  },
): number | null {
  if (s.caughtUp && s.lastCaughtUpAt !== null) return Math.max(0, now - s.lastCaughtUpAt);
  if (s.newestChangeAt !== null) return Math.max(0, now - Math.min(s.newestChangeAt, now));
  return s.lastCaughtUpAt === null ? null : Math.max(0, now - s.lastCaughtUpAt);
}
