import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type MonitorStore, openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { ConfigError } from '../config/load';
import { type MonitorConfig, resolveRoutes } from '../config/schema';
import type { MonitorEvents } from '../events/bus';
import type { Logger } from '../log';
import { Dispatcher } from '../outbox/dispatcher';
import type { ChangeSource, Scorer } from '../seam';
import { createSink } from '../sinks/index';
import { MonitorService } from './monitor';

/** The two halves of the seam, built from the config's `source` and `model` sections. */
export interface ScoringParts {
  readonly source: ChangeSource;
  readonly scorer: Scorer;
}

/** Builds the change source and scorer for a config (the database cursor and the promoted model). */
export type ScoringPartsFactory = (config: MonitorConfig, logger: Logger) => Promise<ScoringParts>;

export interface RunningMonitor {
  readonly service: MonitorService;
  readonly store: MonitorStore;
  readonly dispatcher: Dispatcher;
  /** Closes sinks, source, scorer and store (after `service.run` has returned). */
  close(): Promise<void>;
}

export interface AssembleOptions {
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly random?: () => number;
  /** Told about batches, failed polls and send attempts (metrics, the dashboard). */
  readonly events?: MonitorEvents;
}

/** Opens the state store and sinks for `config` and wires them with the seam's parts. */
export function assembleMonitor(
  config: MonitorConfig,
  parts: ScoringParts,
  options: AssembleOptions,
): RunningMonitor {
  if (config.queue)
    throw new ConfigError(
      'config',
      'queue',
      'this is the single-process monitor; with `queue` the work runs in queue workers (`anomalia-monitor worker`)',
    );
  const sinks = config.sinks.map((c, i) => ({
    sink: createSink(c, i, options.env),
    retry: c.retry,
    patientIdentifiers: c.patientIdentifiers,
  }));
  mkdirSync(dirname(config.state.path), { recursive: true });
  const store = openMonitorStore(config.state.path, { synchronous: config.state.synchronous });
  const routes = resolveRoutes(config);
  const dispatcher = new Dispatcher({
    store,
    sinks,
    routes,
    defaults: config.routing.defaults,
    inhibit: config.inhibit,
    logger: options.logger,
    ...(options.random ? { random: options.random } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  const service = new MonitorService({
    store,
    source: parts.source,
    sourceName: config.source.name,
    scorer: parts.scorer,
    dispatcher,
    routes,
    triage: config.triage,
    poll: config.poll,
    health: config.health,
    logger: options.logger,
    ...(options.random ? { random: options.random } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  return {
    service,
    store,
    dispatcher,
    async close() {
      await dispatcher.close();
      await parts.source.close?.();
      await parts.scorer.close?.();
      store.close();
    },
  };
}

/**
 * Runs until SIGINT or SIGTERM: the batch and the delivery in flight finish, then everything is
 * closed. A second signal exits at once (an uncommitted batch is simply polled again next time).
 */
export async function runUntilSignalled(monitor: RunningMonitor, logger: Logger): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    logger.info({ signal }, 'stopping: finishing the batch and delivery in flight');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    logger.info({ health: monitor.service.health() }, 'monitor started');
    await monitor.service.run(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await monitor.close();
    logger.info('monitor stopped; state store closed');
  }
}
