import { writeFile } from 'node:fs/promises';
import type { MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { bandRank } from '@anomalia/severity';
import { buildCommit } from '../alerts';
import type { AlertBand, ResolvedRoute } from '../config/schema';
import type { MonitorEvents } from '../events/bus';
import type { Logger } from '../log';
import { retryDelay } from '../outbox/backoff';
import type { Dispatcher } from '../outbox/dispatcher';
import { type ChangeSource, checkScored, type Scorer } from '../seam';
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
  private readonly totals = { scored: 0, alerts: 0, invalid: 0 };

  constructor(private readonly o: MonitorServiceOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** One poll → score → triage → commit. Throws when the source or the scorer fails (nothing committed). */
  async pollOnce(): Promise<PollResult> {
    const { store, source, scorer, sourceName } = this.o;
    const started = this.now();
    this.sourceHealth.lastPollAt = started;
    const batch = await source.poll(store.watermark(sourceName), this.o.poll.batchSize);
    const scoringStarted = this.now();
    const records = batch.ids.length ? checkScored(await scorer.score(batch.ids), batch.ids) : [];
    const at = this.now();
    const { commit, invalid } = buildCommit(records, batch.watermark, {
      source: sourceName,
      model: scorer.model,
      routes: this.o.routes,
      minRank: bandRank(this.o.triage.minBand),
      maliciousThreshold: this.o.triage.maliciousThreshold,
      at,
    });
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
    if (r.deliveriesQueued > 0) this.deliveries.wake();
    const result: PollResult = {
      changed: batch.ids.length,
      scored: r.scored,
      missing: batch.ids.length - records.length,
      invalid,
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
      lagMs: s.lastCaughtUpAt === null ? null : now - s.lastCaughtUpAt,
      newestChangeAt: s.newestChangeAt,
    };
    return healthSummary({
      now,
      source,
      totals: { ...this.totals },
      store: this.o.store,
      model: this.o.scorer.model,
      sinkNames: this.o.dispatcher.sinkNames,
    });
  }
}
