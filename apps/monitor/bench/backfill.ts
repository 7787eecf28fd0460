/**
 * Backfill throughput of the distributed mode, as JSON lines `{ name, n, seconds, rows_per_s, ... }`:
 * two sites (synthetic clinics in db-sqlite files with the change cursor), `anomalia-monitor
 * backfill` over their whole history with 1, 2 and 4 worker processes (the first with the store
 * role, the others scoring only) against a private redis-server, and the same backfill in one
 * process without Redis as the baseline. For each run it also counts what Redis did (commands,
 * CPU time of redis-server, network bytes), per scoring job: the inputs of the capacity estimate
 * in the README. Usage: tsx bench/backfill.ts [records per site, default 10000]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { loadClinic } from '@anomalia/db-sqlite/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/load';
import { createLogger } from '../src/log';
import { runBackfill } from '../src/queue/backfill';
import type { ScoringPartsFactory } from '../src/service/assemble';
import { findRedisServer, startRedis } from '../src/testing/redis-server';
import { sqliteSiteParts } from '../src/testing/sqlite-site';

const perSite = Number(process.argv[2] ?? 10_000);
// The 1-minute load average goes with every line: on a shared machine it explains the wall times.
const emit = (o: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...o, load_avg_1m: +loadavg()[0]!.toFixed(1) })}\n`);
const binary = findRedisServer();
if (binary.path === null) {
  emit({ name: 'backfill-queue', skipped: binary.reason });
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-bench-backfill-'));
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
const sites = ['north', 'south'];
for (const [i, s] of sites.entries())
  loadClinic(join(dir, `${s}.sqlite`), { seed: 100 + i, records: perSite });
const from = Date.UTC(2024, 0, 1);
const to = Date.UTC(2025, 0, 1);
const child = new URL('../src/testing/queue-worker-child.ts', import.meta.url).pathname;
const parts: ScoringPartsFactory = async (config) => {
  const db = config.source.database;
  if (db.type !== 'sqlite') throw new Error('sqlite sites only');
  return sqliteSiteParts(db.path, config.source.name);
};
const silent = { write: () => true } as unknown as NodeJS.WritableStream;

function configFor(run: string, redisUrl: string | null) {
  return {
    source: { name: sites[0], database: { type: 'sqlite', path: join(dir, `${sites[0]}.sqlite`) } },
    model: { dir: 'unused' },
    state: { path: join(dir, `state-${run}.sqlite`), synchronous: 'normal' },
    // Console (to a closed stdout): alerts are delivered as jobs, without the JSONL sink's two fsyncs
    // per notification (bench/outbox.ts measures delivery).
    sinks: [{ name: 'console', type: 'console' }],
    poll: { batchSize: 500 },
    ...(redisUrl
      ? {
          queue: {
            redis: redisUrl,
            prefix: `b${run}`,
            sites: sites
              .slice(1)
              .map((s) => ({ name: s, database: { type: 'sqlite', path: join(dir, `${s}.sqlite`) } })),
            rangeSize: 500,
          },
        }
      : {}),
    log: { level: 'warn' },
  };
}

const cpuOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
};

const fields = (text: string) =>
  new Map(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );

// Baseline: one process, no Redis (the single-process backfill), sites one after the other.
{
  const started = performance.now();
  const cpu = process.cpuUsage();
  let records = 0;
  for (const s of sites) {
    const config = parseConfig({
      ...configFor(`local-${s}`, null),
      source: { name: s, database: { type: 'sqlite', path: join(dir, `${s}.sqlite`) } },
    });
    const summary = await runBackfill(config, {
      from,
      to,
      windowMs: 30 * 86_400_000,
      run: 'local',
      wait: true,
      createParts: parts,
      logger,
      out: silent,
    });
    records += summary.scored;
  }
  const seconds = (performance.now() - started) / 1000;
  const c = process.cpuUsage(cpu);
  emit({
    name: 'backfill-one-process',
    workers: 0,
    n: records,
    seconds: +seconds.toFixed(2),
    rows_per_s: Math.round(records / seconds),
    cpu_seconds: +((c.user + c.system) / 1e6).toFixed(2),
  });
}

const redis = await startRedis(binary.path, mkdtempSync(join(dir, 'redis-')));
const admin = new Redis(redis.url);
const redisPid = Number(fields(await admin.info('server')).get('process_id'));

// CPU-bound scoring (the SQLite load and the linear model on this machine's shared cores), then
// scoring that waits 200 ms per job (a remote database or model server): the second shows how the
// jobs spread over workers when the cores are not the limit.
for (const [delayMs, workers] of [0, 200].flatMap((d) => [1, 2, 4].map((w) => [d, w] as const))) {
  const run = `w${workers}d${delayMs}`;
  const configPath = join(dir, `${run}.json`);
  const raw = configFor(run, redis.url);
  writeFileSync(configPath, JSON.stringify(raw));
  const config = parseConfig(raw);
  const procs: ChildProcess[] = Array.from({ length: workers }, (_, i) =>
    spawn(
      process.execPath,
      ['--import', 'tsx', child, configPath, i === 0 ? 'store,score' : 'score', '', String(delayMs)],
      {
        cwd: new URL('..', import.meta.url).pathname,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
  const scoreQueue = new Queue('score', { connection: admin, prefix: `b${run}` });
  while ((await scoreQueue.getWorkersCount()) < workers) await new Promise((r) => setTimeout(r, 50));
  // CPU of the worker processes from here on (their start-up, tsx compiling included, is left out).
  const workerCpu0 = procs.map((p) => cpuOf(p.pid!));
  await admin.config('RESETSTAT');
  const redisCpu = cpuOf(redisPid);
  const started = performance.now();
  const summary = await runBackfill(config, {
    from,
    to,
    windowMs: 30 * 86_400_000,
    run: 'bench',
    wait: true,
    createParts: parts,
    logger,
    out: silent,
    progressEveryMs: 60_000,
  });
  const seconds = (performance.now() - started) / 1000;
  const redisCpuSeconds = cpuOf(redisPid) - redisCpu;
  const stats = fields(await admin.info('stats'));
  const commands = fields(await admin.info('commandstats'));
  let calls = 0;
  const top: Record<string, number> = {};
  for (const [k, v] of commands) {
    const c = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
    calls += c;
    top[k.replace('cmdstat_', '')] = c;
  }
  const memory = fields(await admin.info('memory'));
  const workerCpu = procs.map((p, i) => cpuOf(p.pid!) - workerCpu0[i]!);
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r))));
  await scoreQueue.close();
  const store = openMonitorStore(config.state.path);
  const alerts = store.counts().alerts;
  store.close();
  const jobs = summary.ranges;
  emit({
    name: delayMs ? 'backfill-queue-waiting-scorer' : 'backfill-queue',
    workers,
    ...(delayMs ? { scorer_wait_ms_per_job: delayMs } : {}),
    n: summary.scored,
    seconds: +seconds.toFixed(2),
    rows_per_s: Math.round(summary.scored / seconds),
    // Wall time on a shared 2-core machine varies with other load; CPU seconds are steadier.
    workers_cpu_seconds: +workerCpu.reduce((a, b) => a + b, 0).toFixed(2),
    store_worker_cpu_seconds: +workerCpu[0]!.toFixed(2),
    records_per_worker_cpu_second: Math.round(summary.scored / workerCpu.reduce((a, b) => a + b, 0)),
    ranges: jobs,
    window_jobs: summary.windows,
    range_size: 500,
    alerts,
    redis_commands: calls,
    redis_commands_per_range: +(calls / jobs).toFixed(1),
    redis_cpu_seconds: +redisCpuSeconds.toFixed(2),
    redis_cpu_ms_per_range: +((redisCpuSeconds * 1000) / jobs).toFixed(2),
    redis_net_in_bytes_per_range: Math.round(Number(stats.get('total_net_input_bytes')) / jobs),
    redis_net_out_bytes_per_range: Math.round(Number(stats.get('total_net_output_bytes')) / jobs),
    redis_used_memory_peak_mb_since_start: +(Number(memory.get('used_memory_peak')) / 2 ** 20).toFixed(1),
    top_commands: Object.fromEntries(
      Object.entries(top)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6),
    ),
  });
}

// The live path at rest: 20 caught-up sites polled every second by one store worker. What a
// poll costs Redis when nothing changed (the dispatcher's once-a-second tick included).
{
  const idleSites = Array.from({ length: 20 }, (_, i) => `site${i}`);
  for (const [i, s] of idleSites.entries())
    loadClinic(join(dir, `${s}.sqlite`), { seed: 200 + i, records: 50 });
  const raw = {
    source: { name: idleSites[0], database: { type: 'sqlite', path: join(dir, `${idleSites[0]}.sqlite`) } },
    model: { dir: 'unused' },
    state: { path: join(dir, 'state-idle.sqlite'), synchronous: 'normal' },
    sinks: [{ name: 'file', type: 'jsonl', path: join(dir, 'alerts-idle.jsonl') }],
    poll: { interval: '1s' },
    queue: {
      redis: redis.url,
      prefix: 'idle',
      sites: idleSites
        .slice(1)
        .map((s) => ({ name: s, database: { type: 'sqlite', path: join(dir, `${s}.sqlite`) } })),
    },
    log: { level: 'warn' },
  };
  const configPath = join(dir, 'idle.json');
  writeFileSync(configPath, JSON.stringify(raw));
  const proc = spawn(process.execPath, ['--import', 'tsx', child, configPath, 'store,score'], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pollQueue = new Queue('poll', { connection: admin, prefix: 'idle' });
  // Caught up: every site's records scored.
  const total = idleSites.length * 50;
  while (true) {
    await new Promise((r) => setTimeout(r, 200));
    try {
      const st = openMonitorStore(raw.state.path);
      const scored = st.counts().scores;
      st.close();
      if (scored >= total) break;
    } catch {
      // not created yet
    }
  }
  await new Promise((r) => setTimeout(r, 2_000));
  const polls0 = await pollQueue.getCompletedCount();
  await admin.config('RESETSTAT');
  const cpu0 = cpuOf(redisPid);
  const workerCpu0 = cpuOf(proc.pid!);
  const seconds = 10;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const polls = (await pollQueue.getCompletedCount()) - polls0;
  const cpu = cpuOf(redisPid) - cpu0;
  const workerCpu = cpuOf(proc.pid!) - workerCpu0;
  const commands = [...fields(await admin.info('commandstats')).values()].reduce(
    (a, v) => a + Number(/calls=(\d+)/.exec(v)?.[1] ?? 0),
    0,
  );
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  await pollQueue.close();
  emit({
    name: 'live-idle-polls',
    sites: idleSites.length,
    seconds,
    polls,
    redis_commands: commands,
    redis_commands_per_poll: +(commands / Math.max(1, polls)).toFixed(1),
    redis_cpu_ms_per_poll: +((cpu * 1000) / Math.max(1, polls)).toFixed(2),
    store_worker_cpu_ms_per_poll: +((workerCpu * 1000) / Math.max(1, polls)).toFixed(2),
  });
}

await admin.quit();
await redis.stop();
rmSync(dir, { recursive: true, force: true });
