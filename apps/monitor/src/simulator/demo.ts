import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isSandbox } from '@anomalia/db-sqlite';
import type { MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { ConfigError } from '../config/load';
import type { MonitorConfig, SimulatorConfig } from '../config/schema';
import { type DashboardPlan, withDashboard } from '../http/attach';
import type { Logger } from '../log';
import { assembleMonitor, type ScoringPartsFactory } from '../service/assemble';
import { type Evaluation, evaluate, formatEvaluation } from './evaluate';
import { SimulatorLedger } from './ledger';
import { ClinicSimulator, type SimulatorStep } from './simulator';

const STATUS_EVERY_MS = 15_000;

/** The simulator's settings and the sandbox it writes to (the monitor's source). */
function simulatorOf(config: MonitorConfig): { sim: SimulatorConfig; sandbox: string } {
  const sim = config.simulator;
  if (!sim)
    throw new ConfigError(
      'config',
      'simulator',
      'expected a simulator section (see configs/monitor-demo.yaml)',
    );
  if (config.source.database.type !== 'sqlite')
    throw new ConfigError(
      'config',
      'source.database',
      'expected an SQLite sandbox for the simulator to write to',
    );
  return { sim, sandbox: config.source.database.path };
}

/** Creates the simulator's sandbox (`source.database.path`) and opens the simulator on it. */
export function openSimulator(config: MonitorConfig): Promise<ClinicSimulator> {
  const { sim, sandbox } = simulatorOf(config);
  mkdirSync(dirname(sandbox), { recursive: true });
  mkdirSync(dirname(sim.ledger), { recursive: true });
  return ClinicSimulator.open({
    sandbox,
    clinic: sim.clinic,
    seed: sim.seed,
    days: sim.days,
    corruptionRate: sim.corruptionRate,
    kinds: sim.kinds,
    ledger: sim.ledger,
  });
}

/**
 * A demo starts afresh: the sandbox, the ledger and the state store the config names are removed
 * (the sandbox only when it is a marked sandbox: a clinical database is never deleted).
 */
function resetDemo(config: MonitorConfig): void {
  const { sim, sandbox } = simulatorOf(config);
  try {
    if (isSandbox(sandbox)) rmSync(sandbox, { force: true });
  } catch {
    // Not there yet.
  }
  rmSync(sim.ledger, { force: true });
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${config.state.path}${suffix}`, { force: true });
}

/** The monitor's outcome so far, from its state store, against the ledger. */
export function evaluateStore(store: MonitorStore, ledger: SimulatorLedger): Evaluation {
  const alerts = new Map<string, string>();
  for (const a of store.alertsBetween(0, Number.MAX_SAFE_INTEGER)) alerts.set(a.recordId, a.band);
  const scores = new Map<string, string>();
  for (const s of store.scoresBetween(0, Number.MAX_SAFE_INTEGER)) scores.set(s.recordId, s.band);
  return evaluate(ledger.read(), { alerts, scores });
}

const clock = () => new Date().toTimeString().slice(0, 8);

function describeStep(s: SimulatorStep): string | null {
  const c = s.corruption;
  if (!c) return null;
  return `[clinic ${clock()}] treatment ${c.primaryTtxId} written corrupted: ${c.mode}/${c.variant} (${c.summary}) → expect a ${c.band.toUpperCase()} alert`;
}

/**
 * `anomalia-monitor demo`: a live simulated clinic and the monitor watching it, in one process.
 * The simulator appends treatments to the sandbox at `simulator.rate` and corrupts a share of the
 * deliveries (announced on stdout); the monitor's alerts arrive through the configured sinks; a
 * status line every 15 s and a summary at the end (Ctrl-C) compare the alerts with the ledger.
 * With a dashboard plan (`--http`) the dashboard and /metrics serve the same monitor.
 */
export async function runDemo(
  config: MonitorConfig,
  createParts: ScoringPartsFactory,
  io: { logger: Logger; out: NodeJS.WritableStream; dashboard?: DashboardPlan | null },
): Promise<Evaluation> {
  const { sim: simConfig } = simulatorOf(config);
  resetDemo(config);
  const simulator = await openSimulator(config);
  const ledger = new SimulatorLedger(simConfig.ledger);
  let monitor: ReturnType<typeof assembleMonitor>;
  let dashboardUrl: string | null = null;
  try {
    const parts = await createParts(config, io.logger);
    const plan = io.dashboard ?? null;
    const assembled = assembleMonitor(config, parts, {
      logger: io.logger,
      ...(plan ? { events: plan.events } : {}),
    });
    if (plan) {
      const served = await withDashboard(assembled, plan, io.logger);
      dashboardUrl = served.dashboard.url;
      monitor = served;
    } else monitor = assembled;
  } catch (error) {
    await simulator.close();
    throw error;
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    io.out.write(`\n[demo] stopping (Ctrl-C again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  io.out.write(
    `[demo] simulated clinic: ${simConfig.rate} treatments/s into ${simulatorOf(config).sandbox}, ${(simConfig.corruptionRate * 100).toFixed(0)} % of deliveries corrupted; ledger ${simConfig.ledger}\n` +
      `[demo] monitor: model ${monitor.service.health().model.name}@${monitor.service.health().model.version}, polling every ${config.poll.interval} ms. Ctrl-C to stop.\n` +
      (dashboardUrl ? `[demo] dashboard and /metrics: ${dashboardUrl}\n` : ''),
  );
  // The first poll before the first treatment: the simulated ones are dated days ago, before the
  // lookback window, and only the cursor brings them.
  await monitor.service.pollOnce();
  const status = setInterval(() => {
    const h = monitor.service.health();
    const e = evaluateStore(monitor.store, ledger);
    io.out.write(
      `[demo ${clock()}] ${simulator.count} treatments appended · monitor scored ${h.totals.scored} (not judged ${h.totals.notJudged}), lag ${h.source.lagMs ?? '?'} ms, fit ${h.fit?.status ?? 'n/a'} · ` +
        `${e.rightBand}/${e.injected} corruptions alerted in the right band, ${e.falseAlerts} false alerts of ${e.clean} clean deliveries\n`,
    );
  }, STATUS_EVERY_MS);
  try {
    await Promise.all([
      monitor.service.run(controller.signal),
      simulator
        .run({
          rate: simConfig.rate,
          signal: controller.signal,
          onStep: (s) => {
            const line = describeStep(s);
            if (line) io.out.write(`${line}\n`);
          },
        })
        .then(() => {
          if (!controller.signal.aborted)
            io.out.write('[demo] the simulated clinic has replayed all its days\n');
        }),
    ]);
    const result = evaluateStore(monitor.store, ledger);
    io.out.write(`\n[demo] summary\n${formatEvaluation(result)}\n`);
    return result;
  } finally {
    clearInterval(status);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await simulator.close();
    await monitor.close();
  }
}

/** `anomalia-monitor simulate`: only the simulated clinic (a monitor runs elsewhere). */
export async function runSimulatorOnly(config: MonitorConfig, out: NodeJS.WritableStream): Promise<void> {
  const { sim } = simulatorOf(config);
  const simulator = await openSimulator(config);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  out.write(
    `[clinic] appending ${sim.rate} treatments/s to ${simulatorOf(config).sandbox}; ledger ${sim.ledger}\n`,
  );
  try {
    await simulator.run({
      rate: sim.rate,
      signal: controller.signal,
      onStep: (s) => {
        const line = describeStep(s);
        if (line) out.write(`${line}\n`);
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await simulator.close();
  }
}
