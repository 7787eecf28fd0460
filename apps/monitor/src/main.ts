import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALERT_STATES, type AlertState, openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { loadConfig } from './config/load';
import type { MonitorConfig } from './config/schema';
import { createLogger } from './log';
import { collectDailyReport } from './report/data';
import { renderReportHtml } from './report/render';
import { formatReportText } from './report/text';
import { createDatabaseParts } from './scoring/parts';
import { assembleMonitor, runUntilSignalled, type ScoringPartsFactory } from './service/assemble';
import { runDemo, runSimulatorOnly } from './simulator/demo';

const HELP = `anomalia-monitor: score new treatments, triage by severity, deliver durable alerts

Usage:
  anomalia-monitor [run] --config <monitor.yaml>
  anomalia-monitor report --config <monitor.yaml> --day YYYY-MM-DD [--out report.html] [--identifiers] [--trend-days 7]
  anomalia-monitor health --config <monitor.yaml>
  anomalia-monitor alert <alert-key> --state <${ALERT_STATES.join('|')}> --config <monitor.yaml> [--by NAME] [--note TEXT]
  anomalia-monitor demo --config <monitor-demo.yaml>
  anomalia-monitor simulate --config <monitor-demo.yaml>

run      watch the source, score, triage, store alerts and deliver them to the sinks until SIGINT/SIGTERM
report   seed 001's daily QA report for a day (in this machine's time zone): text on stdout, HTML to --out
         (default: reports/qa-<day>.html next to the state store); --identifiers shows patient ids
health   what the state store says: watermark, per-sink backlog and state (works while run is running)
alert    set an alert's review state (stops its reminders), recorded in the audit log with --by
demo     a live simulated clinic (config \`simulator\`) and the monitor watching it, in one process:
         corrupted treatments are announced, alerts arrive through the sinks, Ctrl-C prints the score
simulate only the simulated clinic, appending to the sandbox a monitor elsewhere watches
`;

export interface MainOptions {
  /** Builds the change source and scorer (the database cursor and the promoted model). */
  readonly createParts?: ScoringPartsFactory;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const commands = ['run', 'report', 'health', 'alert', 'demo', 'simulate'];
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
      case 'demo':
        await runDemo(config, options.createParts ?? createDatabaseParts, {
          logger: createLogger(config.log),
          out,
        });
        return 0;
      case 'simulate':
        await runSimulatorOnly(config, out);
        return 0;
      default: {
        const logger = createLogger(config.log);
        const parts = await (options.createParts ?? createDatabaseParts)(config, logger);
        await runUntilSignalled(assembleMonitor(config, parts, { logger }), logger);
        return 0;
      }
    }
  } catch (e) {
    const name = (e as Error).name;
    if (
      [
        'ConfigError',
        'ValidationError',
        'NotAMonitorStoreError',
        'ArtifactError',
        'FeatureSetMismatchError',
        'MissingTablesError',
        'NotASandboxError',
      ].includes(name)
    ) {
      err.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    err.write(`error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
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
