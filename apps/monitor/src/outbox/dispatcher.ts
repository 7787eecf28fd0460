import { randomUUID } from 'node:crypto';
import type { MonitorStore, StoredAlert, StoredNotification } from '@anomalia/db-sqlite/monitor-store';
import type { InhibitRule, ResolvedRoute } from '../config/schema';
import type { MonitorEvents } from '../events/bus';
import type { Logger } from '../log';
import { buildMessage, type NotificationMessage } from '../message';
import type { Sink } from '../sinks/types';
import { exhausted, type RetryPolicy, retryDelay } from './backoff';
import { inhibitor, sourceBands } from './inhibit';

/** Grouping times of a route (and of the defaults, for deliveries whose route is no longer configured). */
export type GroupTiming = Pick<ResolvedRoute, 'groupWait' | 'groupInterval' | 'repeatInterval'>;

export interface DispatchSink {
  readonly sink: Sink;
  readonly retry: RetryPolicy;
  readonly patientIdentifiers: 'omit' | 'include';
}

export interface DispatcherOptions {
  readonly store: MonitorStore;
  readonly sinks: readonly DispatchSink[];
  readonly routes: readonly ResolvedRoute[];
  readonly defaults: GroupTiming;
  readonly inhibit: readonly InhibitRule[];
  readonly logger: Logger;
  /** Told about every send attempt (metrics). */
  readonly events?: MonitorEvents;
  /** In [0, 1): the jitter of retry delays. */
  readonly random?: () => number;
  /** Fresh notification ids. */
  readonly newId?: () => string;
  /** The time (ms) of attempts and their retries. */
  readonly clock?: () => number;
}

export interface DispatchRound {
  /** Notifications formed from pending deliveries (firing) and reminders (repeat). */
  readonly formed: number;
  readonly delivered: number;
  readonly failed: number;
}

/**
 * Delivers the outbox. Each round, per sink: groups whose wait is over become notifications
 * (frozen in the store with their payload before any attempt), reminders are formed for groups
 * still open after their repeat interval, then due notifications are sent one by one; the first
 * failure ends the sink's round (the sink is probably down) and schedules a retry with backoff.
 * Sinks are independent: a slow or failing sink never delays another.
 *
 * Delivery is at least once: a crash after a receiver accepted a message and before the store
 * recorded it resends the same message, with the same id, on restart.
 */
export class Dispatcher {
  private readonly routes: Map<string, GroupTiming>;
  private readonly random: () => number;
  private readonly newId: () => string;
  private readonly clock: () => number;
  /** Aborted only by `close()`: sends are bounded by their sink's timeout, not by shutdown. */
  private readonly inFlight = new AbortController();

  constructor(private readonly o: DispatcherOptions) {
    this.clock = o.clock ?? Date.now;
    this.routes = new Map(o.routes.map((r) => [r.name, r]));
    this.random = o.random ?? Math.random;
    this.newId = o.newId ?? randomUUID;
  }

  private timing(route: string): GroupTiming {
    return this.routes.get(route) ?? this.o.defaults;
  }

  /**
   * One round over every sink at time `now`. Once `stop` aborts, no further send starts; a send
   * in flight is left to finish (or time out), so shutdown never cuts a delivery in half.
   */
  async runOnce(
    now = this.clock(),
    stop: AbortSignal = new AbortController().signal,
  ): Promise<DispatchRound> {
    const isInhibited = inhibitor(this.o.inhibit, this.o.store.openAlertLabels(sourceBands(this.o.inhibit)));
    const rounds = await Promise.all(this.o.sinks.map((s) => this.runSink(s, now, isInhibited, stop)));
    return rounds.reduce(
      (a, b) => ({
        formed: a.formed + b.formed,
        delivered: a.delivered + b.delivered,
        failed: a.failed + b.failed,
      }),
      { formed: 0, delivered: 0, failed: 0 },
    );
  }

  private async runSink(
    s: DispatchSink,
    now: number,
    isInhibited: (a: StoredAlert) => boolean,
    stop: AbortSignal,
  ): Promise<DispatchRound> {
    const { store, logger } = this.o;
    const name = s.sink.name;
    const formed = this.formFor(s, now, isInhibited);
    let delivered = 0;
    let failed = 0;
    for (const n of store.dueNotifications(name, now)) {
      if (stop.aborted) break;
      if (await this.attempt(s, n)) delivered++;
      else {
        failed++;
        break;
      }
    }
    if (formed || delivered || failed)
      logger.debug({ sink: name, formed, delivered, failed }, 'dispatch round');
    return { formed, delivered, failed };
  }

  /**
   * Forms the notifications due at `now` for every sink (frozen in the store), without sending
   * them: the distributed mode sends each one as a job of its own (see `deliver`).
   */
  formDue(now = this.clock()): number {
    const isInhibited = inhibitor(this.o.inhibit, this.o.store.openAlertLabels(sourceBands(this.o.inhibit)));
    return this.o.sinks.reduce((n, s) => n + this.formFor(s, now, isInhibited), 0);
  }

  /**
   * Sends one pending notification when it is due and records the outcome (with the sink's
   * backoff on failure). `settled`: already delivered or dead (a duplicated job); `not-due`: its
   * next attempt is later; `unknown-sink`: no configured sink has its name.
   */
  async deliver(
    id: string,
    now = this.clock(),
  ): Promise<'delivered' | 'failed' | 'settled' | 'not-due' | 'unknown-sink'> {
    const n = this.o.store.notification(id);
    if (n?.status !== 'pending') return 'settled';
    if (n.nextAttemptAt > now) return 'not-due';
    const s = this.o.sinks.find((x) => x.sink.name === n.sink);
    if (!s) return 'unknown-sink';
    return (await this.attempt(s, n)) ? 'delivered' : 'failed';
  }

  /** Freezes the due groups and reminders of one sink into notifications; returns how many. */
  private formFor(s: DispatchSink, now: number, isInhibited: (a: StoredAlert) => boolean): number {
    const { store } = this.o;
    const name = s.sink.name;
    let formed = 0;
    const build = (alerts: Parameters<typeof buildMessage>[0], header: Parameters<typeof buildMessage>[1]) =>
      buildMessage(alerts, header, { patientIdentifiers: s.patientIdentifiers });
    // Every due group of this round is frozen in one transaction (one disk sync, not one per group).
    store.inTransaction(() => {
      for (const g of store.pendingGroups(name)) {
        if (this.groupDueAt(g.route, g.firstQueuedAt, g.lastNotifiedAt) > now) continue;
        const n = store.formNotification({
          id: this.newId(),
          sink: name,
          route: g.route,
          groupKey: g.groupKey,
          at: now,
          isInhibited,
          build,
        });
        if (n) formed++;
      }
      const repeating = [...this.routes.entries()]
        .filter(([, t]) => t.repeatInterval !== null)
        .map(([r]) => r);
      for (const g of store.repeatableGroups(name, repeating)) {
        if (g.lastNotifiedAt + this.timing(g.route).repeatInterval! > now) continue;
        const n = store.formRepeatNotification({
          id: this.newId(),
          sink: name,
          route: g.route,
          groupKey: g.groupKey,
          at: now,
          isInhibited,
          build,
        });
        if (n) formed++;
      }
    });
    return formed;
  }

  private async attempt(s: DispatchSink, n: StoredNotification): Promise<boolean> {
    const { store, logger } = this.o;
    const message = n.payload as NotificationMessage;
    const started = this.clock();
    const told = (ok: boolean, at: number, dead: boolean) =>
      this.o.events?.emit('delivery', {
        at,
        sink: n.sink,
        ok,
        ms: at - started,
        alerts: message.alerts.length,
        dead,
      });
    try {
      await s.sink.send(message, this.inFlight.signal);
    } catch (e) {
      const at = this.clock();
      const attempts = n.attempts + 1;
      const dead = exhausted(s.retry, attempts);
      const nextAttemptAt = at + retryDelay(s.retry, attempts, this.random);
      const error = (e as Error).message;
      store.markFailed(n.id, { at, error, nextAttemptAt, dead });
      told(false, at, dead);
      logger.warn(
        {
          sink: n.sink,
          notification: n.id,
          attempts,
          dead,
          nextAttemptAt: dead ? null : new Date(nextAttemptAt).toISOString(),
          err: error,
        },
        dead ? 'notification gave up (kept as dead)' : 'notification failed; will retry',
      );
      return false;
    }
    const at = this.clock();
    store.markDelivered(n.id, at);
    told(true, at, false);
    logger.info(
      {
        sink: n.sink,
        notification: n.id,
        kind: n.kind,
        route: n.route,
        alerts: message.alerts.length,
        band: message.summary.worstBand,
        attempts: n.attempts + 1,
      },
      'notification delivered',
    );
    return true;
  }

  /** Alertmanager's timing: a new group waits `groupWait`; a notified group `groupInterval` after its last notice. */
  private groupDueAt(route: string, firstQueuedAt: number, lastNotifiedAt: number | null): number {
    const t = this.timing(route);
    return lastNotifiedAt === null
      ? firstQueuedAt + t.groupWait
      : Math.max(firstQueuedAt, lastNotifiedAt + t.groupInterval);
  }

  /** The earliest time anything becomes due (a group's wait, a retry, a reminder); null: nothing waits. */
  nextDueAt(): number | null {
    const { store } = this.o;
    let next: number | null = null;
    const take = (t: number) => {
      if (next === null || t < next) next = t;
    };
    const repeating = [...this.routes.entries()].filter(([, t]) => t.repeatInterval !== null).map(([r]) => r);
    for (const { sink } of this.o.sinks) {
      for (const g of store.pendingGroups(sink.name))
        take(this.groupDueAt(g.route, g.firstQueuedAt, g.lastNotifiedAt));
      const retry = store.nextAttemptAt(sink.name);
      if (retry !== null) take(retry);
      for (const g of store.repeatableGroups(sink.name, repeating))
        take(g.lastNotifiedAt + this.timing(g.route).repeatInterval!);
    }
    return next;
  }

  /** The configured sinks' names. */
  get sinkNames(): string[] {
    return this.o.sinks.map((s) => s.sink.name);
  }

  async close(): Promise<void> {
    this.inFlight.abort();
    await Promise.all(this.o.sinks.map((s) => s.sink.close()));
  }
}
