import type { MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MonitorEventBus } from '../events/bus';
import type { HealthSummary } from '../service/health';

/** What the gauges read at scrape time. */
export interface MetricsSources {
  readonly events: MonitorEventBus;
  readonly health: () => HealthSummary;
  readonly store: MonitorStore;
}

const PREFIX = 'anomalia_monitor_';
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The monitor's Prometheus metrics on a registry of its own (never prom-client's global one, so
 * two monitors in one process, e.g. in tests, do not mix). Counters and histograms follow the
 * service's events; gauges (lag, backlog, alerts by band and state, health) are read from the
 * service and the store when scraped, so they are never stale.
 */
export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly refused: Counter<'reason'>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(s: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const scored = new Counter({
      name: `${PREFIX}records_scored_total`,
      help: 'Records scored, by band (normal, low, medium, high, critical; invalid: the model gave no number).',
      labelNames: ['band'],
      registers,
    });
    const raised = new Counter({
      name: `${PREFIX}alerts_raised_total`,
      help: 'Alerts stored, by band; kind created (a new alert) or escalated (a re-score in a worse band).',
      labelNames: ['band', 'kind'],
      registers,
    });
    const polls = new Counter({
      name: `${PREFIX}polls_total`,
      help: 'Polls of the change source, by outcome (ok: committed; failed: nothing committed).',
      labelNames: ['outcome'],
      registers,
    });
    const pollSeconds = new Histogram({
      name: `${PREFIX}batch_duration_seconds`,
      help: 'Poll, score, triage and commit of one batch that had changes.',
      buckets: SECONDS,
      registers,
    });
    const scoringSeconds = new Histogram({
      name: `${PREFIX}scoring_duration_seconds`,
      help: "The scorer's time for one batch (load and score, set-wise).",
      buckets: SECONDS,
      registers,
    });
    const changeToCommit = new Histogram({
      name: `${PREFIX}change_to_commit_seconds`,
      help: 'From the newest change of a batch committed at the source to its scores and alerts committed (when the source knows the time).',
      buckets: SECONDS,
      registers,
    });
    const notifications = new Counter({
      name: `${PREFIX}notifications_total`,
      help: 'Attempts to send a notification, by sink and outcome (delivered, failed: will retry, dead: gave up).',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    const sendSeconds = new Histogram({
      name: `${PREFIX}sink_send_duration_seconds`,
      help: 'One attempt to send a notification, by sink.',
      labelNames: ['sink'],
      buckets: SECONDS,
      registers,
    });
    this.refused = new Counter({
      name: `${PREFIX}http_refused_total`,
      help: 'Dashboard requests refused, by reason (credentials, host, origin, csrf).',
      labelNames: ['reason'],
      registers,
    });
    const actions = new Counter({
      name: `${PREFIX}alert_reviews_total`,
      help: 'Review actions on alerts, by the state they set.',
      labelNames: ['state'],
      registers,
    });

    const health = () => s.health();
    new Gauge({
      name: `${PREFIX}lag_seconds`,
      help: 'Time since the monitor last knew it had seen every change at the source (absent before the first complete poll).',
      registers,
      collect() {
        this.reset();
        const lag = health().source.lagMs;
        if (lag !== null) this.set(lag / 1000);
      },
    });
    new Gauge({
      name: `${PREFIX}source_consecutive_failures`,
      help: 'Failed polls in a row (0: the source answers).',
      registers,
      collect() {
        this.set(health().source.consecutiveFailures);
      },
    });
    new Gauge({
      name: `${PREFIX}source_caught_up`,
      help: '1 when the last poll reached the end of the changes, 0 while catching up.',
      registers,
      collect() {
        this.set(health().source.caughtUp ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}backlog`,
      help: 'What each sink still owes: stage queued (deliveries not yet grouped), pending (notifications awaiting an attempt), dead (gave up).',
      labelNames: ['sink', 'stage'],
      registers,
      collect() {
        this.reset();
        for (const k of health().sinks) {
          this.set({ sink: k.sink, stage: 'queued' }, k.queued);
          this.set({ sink: k.sink, stage: 'pending' }, k.pending);
          this.set({ sink: k.sink, stage: 'dead' }, k.dead);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}sink_consecutive_failures`,
      help: 'Failed sends in a row, by sink.',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const k of health().sinks) this.set({ sink: k.sink }, k.consecutiveFailures);
      },
    });
    new Gauge({
      name: `${PREFIX}alerts`,
      help: 'Alerts in the state store, by band and review state (open, acknowledged, resolved, false_positive).',
      labelNames: ['band', 'state'],
      registers,
      collect() {
        this.reset();
        if (!s.store.isOpen) return;
        for (const c of s.store.alertCounts()) this.set({ band: c.band, state: c.state }, c.alerts);
      },
    });
    new Gauge({
      name: `${PREFIX}status`,
      help: "The monitor's health: 1 for the current status (ok, degraded, failing), 0 for the others.",
      labelNames: ['status'],
      registers,
      collect() {
        const now = health().status;
        for (const status of ['ok', 'degraded', 'failing']) this.set({ status }, status === now ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}model_info`,
      help: 'The model scoring the records (value 1).',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        const m = health().model;
        this.set({ model: m.name, version: m.version }, 1);
      },
    });

    const bus = s.events;
    this.unsubscribe.push(
      bus.on('batch', (e) => {
        polls.inc({ outcome: 'ok' });
        for (const [band, n] of Object.entries(e.bands)) scored.inc({ band }, n);
        for (const [band, n] of Object.entries(e.alertsCreated)) raised.inc({ band, kind: 'created' }, n);
        for (const [band, n] of Object.entries(e.alertsEscalated)) raised.inc({ band, kind: 'escalated' }, n);
        if (e.changed > 0) {
          pollSeconds.observe(e.ms / 1000);
          scoringSeconds.observe(e.scoringMs / 1000);
          if (e.newestChangeAt !== null) changeToCommit.observe(Math.max(0, e.at - e.newestChangeAt) / 1000);
        }
      }),
      bus.on('pollFailed', () => polls.inc({ outcome: 'failed' })),
      bus.on('delivery', (e) => {
        notifications.inc({ sink: e.sink, outcome: e.ok ? 'delivered' : e.dead ? 'dead' : 'failed' });
        sendSeconds.observe({ sink: e.sink }, e.ms / 1000);
      }),
      bus.on('alertState', (e) => actions.inc({ state: e.to })),
    );
    // Every label set a dashboard shows from the start (a counter that appears only after its
    // first event breaks `rate()` and alert rules on absent series).
    polls.inc({ outcome: 'ok' }, 0);
    polls.inc({ outcome: 'failed' }, 0);
    for (const reason of ['credentials', 'host', 'origin', 'csrf']) this.refused.inc({ reason }, 0);
  }

  /** Counts a refused dashboard request. */
  countRefused(reason: 'credentials' | 'host' | 'origin' | 'csrf'): void {
    this.refused.inc({ reason });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.registry.clear();
  }
}
