import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWith } from '@anomalia/core';
import { ALERT_STATES, type AlertState, openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { DurationSchema } from './config/duration';
import { ConfigError, loadConfig } from './config/load';
import type { MonitorConfig } from './config/schema';
import { planDashboard, withDashboard } from './http/attach';
import { createLogger } from './log';
import { newRunId, runBackfill } from './queue/backfill';
import { startQueueWorker, WORKER_ROLES, type WorkerRole } from './queue/worker';
import { collectDailyReport } from './report/data';
import { renderReportHtml } from './report/render';
import { formatReportText } from './report/text';
import { assembleMonitor, runUntilSignalled, type ScoringPartsFactory } from './service/assemble';

const HELP = `anomalia-monitor: score new treatments, triage by severity, deliver durable alerts

Usage:
  anomalia-monitor [run] --config <monitor.yaml> [--http 127.0.0.1:8080]
  anomalia-monitor report --config <monitor.yaml> --day YYYY-MM-DD [--out report.html] [--identifiers] [--trend-days 7]
  anomalia-monitor health --config <monitor.yaml>
  anomalia-monitor alert <alert-key> --state <${ALERT_STATES.join('|')}> --config <monitor.yaml> [--by NAME] [--note TEXT]
  anomalia-monitor worker --config <monitor.yaml> [--roles score,store]
  anomalia-monitor backfill --config <monitor.yaml> --from YYYY-MM-DD --to YYYY-MM-DD [--window 1d] [--run ID] [--sites a,b] [--no-wait]

run      watch the source, score, triage, store alerts and deliver them to the sinks until SIGINT/SIGTERM;
         --http (or config http.bind) also serves the dashboard and /metrics (beyond localhost only with a token)
report   seed 001's daily QA report for a day (in this machine's time zone): text on stdout, HTML to --out
         (default: reports/qa-<day>.html next to the state store); --identifiers shows patient ids
health   what the state store says: watermark, per-sink backlog and state (works while run is running)
alert    set an alert's review state (stops its reminders), recorded in the audit log with --by
worker   distributed mode (config queue.redis): take BullMQ jobs until SIGINT/SIGTERM; --roles score on
         machines without the state store, store (polling, commits, delivery) where it is (default both)
backfill score every treatment of [--from, --to) (treatment time, UTC days) into the state store: in this
         process, or with queue.redis as jobs for the workers, reporting progress; --run ID resumes a run
`;

export interface MainOptions {
  /** Builds the change source and scorer (the database cursor and the promoted model). */
  readonly createParts?: ScoringPartsFactory;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

/** Until the database cursor and model loading are wired in, `run` says so instead of pretending. */
const notWired: ScoringPartsFactory = async (config) => {
  throw new ConfigError(
    'config',
    `source.database (${config.source.database.type})`,
    'the change cursor and model loading are not wired into anomalia-monitor yet (in progress); the alerting core, the state store, the sinks and `report` work',
  );
};

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const commands = ['run', 'report', 'health', 'alert', 'worker', 'backfill'];
  const command = argv[0] && commands.includes(argv[0]) ? argv[0] : 'run';
  const rest = argv[0] === command ? argv.slice(1) : argv;
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      options: {
        config: { type: 'string', short: 'c' },
        day: { type: 'string' },
        out: { type: 'string' },
        identifiers: { type: 'boolean' },
        'trend-days': { type: 'string' },
        state: { type: 'string' },
        by: { type: 'string' },
        note: { type: 'string' },
        http: { type: 'string' },
        roles: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        window: { type: 'string' },
        run: { type: 'string' },
        sites: { type: 'string' },
        'no-wait': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: command === 'alert',
    });
  try {
    args = parse(rest);
  } catch (e) {
    err.write(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    out.write(HELP);
    return 0;
  }
  if (!args.values.config) {
    err.write(`error: --config is required\n\n${HELP}`);
    return 2;
  }
  try {
    const config = await loadConfig(args.values.config);
    switch (command) {
      case 'report':
        return await report(config, args.values, out, err);
      case 'health':
        return health(config, out, err);
      case 'alert':
        return setState(config, args.positionals[0], args.values, out, err);
      case 'worker':
        return await worker(config, parseRoles(args.values.roles), options.createParts ?? notWired);
      case 'backfill':
        return await backfill(config, args.values, options.createParts ?? notWired, out, err);
      default: {
        if (config.queue) {
          if (args.values.http !== undefined || config.http)
            throw new ConfigError(
              'config',
              'http',
              'the dashboard is served by the single-process monitor only; in distributed mode (queue) run the workers without it',
            );
          return await worker(config, WORKER_ROLES, options.createParts ?? notWired);
        }
        const logger = createLogger(config.log);
        const dashboard = planDashboard(config, args.values.http, logger);
        const parts = await (options.createParts ?? notWired)(config, logger);
        const monitor = assembleMonitor(config, parts, {
          logger,
          ...(dashboard ? { events: dashboard.events } : {}),
        });
        await runUntilSignalled(
          dashboard ? await withDashboard(monitor, dashboard, logger) : monitor,
          logger,
        );
        return 0;
      }
    }
  } catch (e) {
    const name = (e as Error).name;
    if (['ConfigError', 'ValidationError', 'NotAMonitorStoreError', 'ArtifactError'].includes(name)) {
      err.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    err.write(`error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

function parseRoles(text: string | undefined): WorkerRole[] {
  if (text === undefined) return [...WORKER_ROLES];
  const roles = text.split(',').map((r) => r.trim());
  for (const r of roles)
    if (!(WORKER_ROLES as readonly string[]).includes(r))
      throw new ConfigError('--roles', r, `expected a comma-separated list of ${WORKER_ROLES.join(', ')}`);
  return roles as WorkerRole[];
}

async function worker(
  config: MonitorConfig,
  roles: readonly WorkerRole[],
  createParts: ScoringPartsFactory,
): Promise<number> {
  if (!config.queue)
    throw new ConfigError(
      'config',
      'queue',
      'expected `queue: { redis: url }`: workers take their jobs from Redis',
    );
  const logger = createLogger(config.log);
  const w = await startQueueWorker(config, { roles, createParts, logger });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'stopping: finishing the jobs in flight');
      w.close().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` (UTC midnight) or a full ISO time, for --from and --to. */
function parseWhen(flag: string, text: string | undefined): number {
  const t =
    text === undefined
      ? Number.NaN
      : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(t))
    throw new ConfigError(flag, String(text), 'expected a date YYYY-MM-DD (UTC) or an ISO time');
  return t;
}

async function backfill(
  config: MonitorConfig,
  v: { from?: string; to?: string; window?: string; run?: string; sites?: string; 'no-wait'?: boolean },
  createParts: ScoringPartsFactory,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (!v.from || !v.to) {
    err.write('error: backfill needs --from and --to\n');
    return 2;
  }
  const windowMs = v.window === undefined ? DAY_MS : parseWith(DurationSchema, v.window, '--window');
  if (windowMs < 60_000) throw new ConfigError('--window', v.window!, 'expected at least 1m');
  const logger = createLogger(config.log);
  const summary = await runBackfill(config, {
    from: parseWhen('--from', v.from),
    to: parseWhen('--to', v.to),
    windowMs,
    run: v.run ?? newRunId(Date.now()),
    ...(v.sites ? { sites: v.sites.split(',').map((s) => s.trim()) } : {}),
    wait: !v['no-wait'],
    createParts,
    logger,
    out,
  });
  out.write(
    summary.finished
      ? `backfill ${summary.run}: done in ${summary.seconds.toFixed(1)} s; alerts are in the state store, the monitor delivers them\n`
      : `backfill ${summary.run}: the workers go on; watch it with \`backfill --run ${summary.run}\` and the same --from/--to\n`,
  );
  return 0;
}

function openExistingStore(config: MonitorConfig, err: NodeJS.WritableStream) {
  if (!existsSync(config.state.path)) {
    err.write(
      `error: state.path: no state store at ${config.state.path} yet (the monitor creates it when it runs)\n`,
    );
    return null;
  }
  return openMonitorStore(config.state.path, { synchronous: config.state.synchronous });
}

async function report(
  config: MonitorConfig,
  v: { day?: string; out?: string; identifiers?: boolean; 'trend-days'?: string },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (!v.day) {
    err.write('error: report needs --day YYYY-MM-DD\n');
    return 2;
  }
  const trendDays = v['trend-days'] === undefined ? 7 : Number(v['trend-days']);
  if (!Number.isInteger(trendDays) || trendDays < 1 || trendDays > 366) {
    err.write(`error: --trend-days: expected an integer from 1 to 366, received "${v['trend-days']}"\n`);
    return 2;
  }
  const store = openExistingStore(config, err);
  if (!store) return 2;
  let data: ReturnType<typeof collectDailyReport>;
  try {
    data = collectDailyReport(store, v.day, { trendDays, identifiers: v.identifiers ?? false });
  } catch (e) {
    err.write(`error: ${(e as Error).message}\n`);
    return 2;
  } finally {
    store.close();
  }
  const file = v.out ?? join(dirname(config.state.path), 'reports', `qa-${data.day}.html`);
  mkdirSync(dirname(file), { recursive: true });
  await writeFile(file, await renderReportHtml(data));
  out.write(`${formatReportText(data)}\n\nHTML report: ${file}\n`);
  return 0;
}

function health(config: MonitorConfig, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const store = openExistingStore(config, err);
  if (!store) return 2;
  try {
    const states = new Map(store.sinkStates().map((s) => [s.sink, s]));
    const backlog = new Map(store.backlog().map((b) => [b.sink, b]));
    const summary = {
      source: config.source.name,
      watermark: store.watermark(config.source.name),
      counts: store.counts(),
      // Distributed mode: per site and stream, how far it is split into jobs, what is still open.
      ...(config.queue ? { streams: store.streamSummaries() } : {}),
      sinks: config.sinks.map((s) => ({
        sink: s.name,
        type: s.type,
        ...(backlog.get(s.name) ?? {}),
        ...(states.get(s.name) ?? {}),
      })),
    };
    out.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  } finally {
    store.close();
  }
}

function setState(
  config: MonitorConfig,
  key: string | undefined,
  v: { state?: string; by?: string; note?: string },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  if (!key || !v.state) {
    err.write(`error: alert needs an alert key and --state <${ALERT_STATES.join('|')}>\n`);
    return 2;
  }
  const store = openExistingStore(config, err);
  if (!store) return 2;
  try {
    const alert = store.alertByKey(key);
    if (!alert) {
      err.write(`error: no alert with key ${key}\n`);
      return 2;
    }
    const updated = store.setAlertState(alert.id, {
      state: v.state as AlertState,
      actor: v.by ?? userInfo().username,
      at: Date.now(),
      note: v.note ?? null,
    });
    out.write(`${updated.key}: ${alert.state} → ${updated.state} (by ${updated.stateBy})\n`);
    return 0;
  } finally {
    store.close();
  }
}
