import type { MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import type { FitAssessment, ModelIdentity } from '../seam';

export interface SourceHealth {
  readonly name: string;
  readonly kind: string;
  readonly watermark: string | null;
  readonly lastPollAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  /** Whether the last successful poll reached the end of the changes. */
  readonly caughtUp: boolean;
  /**
   * Caught up: time since the monitor last knew it had seen every change; catching up: now − the
   * time of the newest change scored (null: not known yet).
   */
  readonly lagMs: number | null;
  readonly newestChangeAt: number | null;
}

export interface SinkHealth {
  readonly sink: string;
  /** Deliveries waiting to be grouped. */
  readonly queued: number;
  /** Notifications waiting for their (next) attempt. */
  readonly pending: number;
  readonly dead: number;
  readonly oldestAt: number | null;
  readonly nextAttemptAt: number | null;
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
}

export interface HealthSummary {
  /**
   * ok; degraded (a failing poll or sink, catching up, or the model does not fit the source);
   * failing (≥ 3 failed polls in a row, or dead notifications).
   */
  readonly status: 'ok' | 'degraded' | 'failing';
  readonly at: string;
  readonly model: ModelIdentity;
  /** Whether the model fits the source (the data-mismatch guard), when checked. */
  readonly fit: FitAssessment | null;
  readonly source: SourceHealth;
  readonly totals: {
    readonly scored: number;
    readonly alerts: number;
    readonly invalid: number;
    /** Records the model does not judge (QA-mode, incomplete beams). */
    readonly notJudged: number;
    /** Alerts held while the model did not fit. */
    readonly held: number;
  };
  readonly sinks: readonly SinkHealth[];
}

export function healthSummary(input: {
  now: number;
  source: SourceHealth;
  totals: HealthSummary['totals'];
  store: MonitorStore;
  model: ModelIdentity;
  fit?: FitAssessment | null;
  /** Configured sinks: listed even before their first attempt. */
  sinkNames: readonly string[];
}): HealthSummary {
  const { store } = input;
  const states = new Map(store.isOpen ? store.sinkStates().map((s) => [s.sink, s]) : []);
  const backlog = new Map(store.isOpen ? store.backlog().map((b) => [b.sink, b]) : []);
  const names = [...new Set([...input.sinkNames, ...states.keys(), ...backlog.keys()])].sort();
  const sinks: SinkHealth[] = names.map((sink) => {
    const b = backlog.get(sink);
    const s = states.get(sink);
    return {
      sink,
      queued: b?.queued ?? 0,
      pending: b?.pending ?? 0,
      dead: b?.dead ?? 0,
      oldestAt: b?.oldestAt ?? null,
      nextAttemptAt: b?.nextAttemptAt ?? null,
      consecutiveFailures: s?.consecutiveFailures ?? 0,
      lastSuccessAt: s?.lastSuccessAt ?? null,
      lastError: s?.lastError ?? null,
    };
  });
  const src = input.source;
  const status =
    src.consecutiveFailures >= 3 || sinks.some((s) => s.dead > 0)
      ? 'failing'
      : src.consecutiveFailures > 0 ||
          !src.caughtUp ||
          sinks.some((s) => s.consecutiveFailures > 0) ||
          input.fit?.status === 'mismatch'
        ? 'degraded'
        : 'ok';
  return {
    status,
    at: new Date(input.now).toISOString(),
    model: input.model,
    fit: input.fit ?? null,
    source: src,
    totals: input.totals,
    sinks,
  };
}
