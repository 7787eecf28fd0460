/**
 * Benchmarks of the monitor on a real database and a real model, as JSON lines
 * `{ name, n, seconds, rows_per_s, ... }`:
 * - backlog: a synthetic clinic of `--records` treatments (SQLite, change-tracked) read through the
 *   change cursor from the beginning, scored by the promoted energy model (history, features,
 *   score, saliency of the alerting ones), triaged and committed durably (`synchronous=full`):
 *   records per second from read to durable alert, with where the time went;
 * - latency: the monitor running with a 1 s poll while treatments are committed to the database
 *   one by one (every fifth one with no patient: a critical finding); the time from each commit to
 *   its alert's line in the JSONL sink.
 * The model: `--model <dir>`, else models/current/mosaiq-ebm when `pnpm start` made it, else one
 * trained here on the clinic (about 15 s).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSandbox, openSandboxWriter, openTreatmentReader } from '@anomalia/db-sqlite';
import { parseConfig } from '../src/config/load';
import { createLogger } from '../src/log';
import type { ModelScorer } from '../src/scoring/model-scorer';
import { createDatabaseParts, withReaderThread } from '../src/scoring/parts';
import { assembleMonitor } from '../src/service/assemble';
import { trainPromotedModel } from '../src/testing/promoted-model';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '10000' },
    model: { type: 'string' },
    // model.historyDays (default 30: the cohort features' context; course features use the course watch)
    'history-days': { type: 'string' },
    latency: { type: 'string', default: '40' },
    // `off`: without the longitudinal checks (scoring.longitudinal.enabled: false), for comparison.
    longitudinal: { type: 'string', default: 'on' },
    // `on` / `off`: source.database.readerThread (default: the monitor's, on from 4 cores).
    'reader-thread': { type: 'string' },
    // A file for every scored record and stored alert of the backlog as JSON lines (volatile times
    // left out): two builds are compared byte for byte with `cmp`.
    dump: { type: 'string' },
  },
});
const records = Number(values.records);
const batch = Number(values.batch);
const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-dbbench-'));
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return +((d.user + d.system) / 1e6).toFixed(3);
};

try {
  const clinic = join(dir, 'clinic.sqlite');
  let t = performance.now();
  // A sandbox, so the latency run can commit new treatments to it; the monitor only reads it.
  createSandbox(clinic, { clinic: { seed: 7, records } });
  emit({ name: 'setup-clinic', n: records, seconds: +((performance.now() - t) / 1000).toFixed(2) });

  const repoModel = resolve(import.meta.dirname, '../../../models/current/mosaiq-ebm');
  let modelDir = values.model ?? (existsSync(repoModel) ? repoModel : null);
  if (!modelDir) {
    t = performance.now();
    modelDir = await trainPromotedModel({
      source: { type: 'sqlite', path: clinic },
      modelsDir: join(dir, 'models'),
    });
    emit({ name: 'setup-model', seconds: +((performance.now() - t) / 1000).toFixed(2) });
  }

  const config = (over: Record<string, unknown>) =>
    parseConfig({
      source: {
        name: 'bench',
        database: {
          type: 'sqlite',
          path: clinic,
          ...(values['reader-thread'] ? { readerThread: values['reader-thread'] === 'on' } : {}),
        },
      },
      model: {
        dir: modelDir,
        ...(values['history-days'] === undefined ? {} : { historyDays: Number(values['history-days']) }),
      },
      state: { path: join(dir, `state-${Math.random().toString(36).slice(2)}.sqlite`), synchronous: 'full' },
      sinks: [{ name: 'file', type: 'jsonl', path: join(dir, 'alerts.jsonl') }],
      routing: {
        routes: [
          {
            name: 'all',
            bands: ['low', 'medium', 'high', 'critical'],
            sinks: ['file'],
            groupWait: '0s',
            groupInterval: '0s',
          },
        ],
      },
      inhibit: [],
      log: { level: 'silent' },
      ...over,
    });

  // Backlog: from the first change to the last, in batches.
  {
    const c = config({
      poll: { lookback: 'all', batchSize: batch },
      scoring: { longitudinal: { enabled: values.longitudinal !== 'off' } },
    });
    const parts = await createDatabaseParts(c, logger);
    const m = assembleMonitor(c, parts, { logger });
    const scorer = parts.scorer as ModelScorer;
    const scoredRecords: unknown[] = [];
    if (values.dump) {
      const score = scorer.score.bind(scorer);
      scorer.score = async (ids) => {
        const out = await score(ids);
        scoredRecords.push(...out);
        return out;
      };
    }
    t = performance.now();
    const cpu = process.cpuUsage();
    let scored = 0;
    let changed = 0;
    let alerts = 0;
    let commitMs = 0;
    for (;;) {
      const r = await m.service.pollOnce();
      changed += r.changed;
      scored += r.scored;
      alerts += r.alertsCreated;
      if (r.caughtUp) break;
    }
    const seconds = (performance.now() - t) / 1000;
    const s = scorer.stats;
    commitMs = seconds * 1000 - Object.values(s.ms).reduce((a, b) => a + b, 0);
    const cpuTotal = cpuSeconds(cpu);
    const round = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
    emit({
      name: 'backlog-read-to-durable-alert',
      n: changed,
      seconds: +seconds.toFixed(2),
      rows_per_s: Math.round(changed / seconds),
      cpu_seconds: cpuTotal,
      rows_per_cpu_s: Math.round(changed / cpuTotal),
      batch,
      longitudinal_checks: values.longitudinal !== 'off',
      reader_thread: (withReaderThread(c.source.database) as { readerThread?: boolean }).readerThread,
      // The process's peak resident memory so far (setup included), MB.
      max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      judged: s.judged,
      scored,
      not_judged: s.notJudged.qa_mode + s.notJudged.incomplete,
      loaded: s.loaded,
      history_loaded: s.historyLoaded,
      ...(scorer.courses
        ? {
            longitudinal: {
              observed: scorer.courses.stats.observed,
              assessed: scorer.courses.stats.assessed,
              ms: round(scorer.courses.stats.ms),
            },
          }
        : {}),
      alerts,
      ms: { ...round(s.ms), cursor_triage_commit: Math.round(commitMs) },
      cpu_ms: {
        ...round(s.cpuMs),
        cursor_triage_commit: Math.round(cpuTotal * 1000 - Object.values(s.cpuMs).reduce((a, b) => a + b, 0)),
      },
    });
    if (values.dump) {
      const alerts = m.store
        .alertsBetween(0, Number.MAX_SAFE_INTEGER)
        .map(({ id, detectedAt, updatedAt, deadlineAt, stateAt, ...a }) => a);
      writeFileSync(values.dump, [...scoredRecords, ...alerts].map((o) => `${JSON.stringify(o)}\n`).join(''));
    }
    await m.close();
  }

  // Latency: commits while the monitor polls every second.
  if (Number(values.latency) > 0) {
    const c = config({ poll: { interval: '1s', lookback: '1m' } });
    const parts = await createDatabaseParts(c, logger);
    const m = assembleMonitor(c, parts, { logger });
    // The first poll takes the cursor's safe point: the rows committed below are new ones, dated
    // like the clinic (years ago), which no lookback window lists.
    await m.service.pollOnce();
    const controller = new AbortController();
    const running = m.service.run(controller.signal);
    const reader = openTreatmentReader(clinic);
    const max = reader.maxKeys().TrackTreatment!;
    const page = reader.listTreatmentsSync({
      from: new Date(0),
      to: new Date('9999-01-01'),
      completedOnly: true,
      qaMode: 'exclude',
      pageSize: 200,
    });
    const templates = reader.loadRecordsSync(page.items.map((i) => i.TTX_ID)).records;
    reader.closeSync();
    const writer = openSandboxWriter(clinic);
    const n = Number(values.latency);
    const committed = new Map<string, number>();
    const alertsFile = join(dir, 'alerts.jsonl');
    const seenAt = new Map<string, number>();
    const storedAt = new Map<string, number>();
    const startSize = existsSync(alertsFile) ? readFileSync(alertsFile).length : 0;
    const watch = setInterval(() => {
      for (const a of m.store.alertsBetween(0, Number.MAX_SAFE_INTEGER))
        if (!storedAt.has(a.recordId)) storedAt.set(a.recordId, performance.now());
      if (!existsSync(alertsFile)) return;
      const text = readFileSync(alertsFile, 'utf8').slice(startSize);
      for (const line of text.split('\n')) {
        if (!line) continue;
        for (const a of JSON.parse(line).alerts as { recordId: string }[])
          if (!seenAt.has(a.recordId)) seenAt.set(a.recordId, performance.now());
      }
    }, 5);
    for (let i = 0; i < n; i++) {
      const tmpl = templates[i % templates.length]!.treatment;
      const id = max + 1 + i;
      // A delivery with no patient (null_required_fields/pat_id: critical), so each one alerts.
      const row = { ...tmpl, TTX_ID: id, Pat_ID1: null };
      writer.applySync([{ kind: 'insert', table: 'TrackTreatment', key: id, row: row as never }], {
        label: `bench ${id}`,
      });
      committed.set(String(id), performance.now());
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
    }
    const deadline = performance.now() + 10_000;
    while (seenAt.size < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    clearInterval(watch);
    controller.abort();
    await running;
    const scoredIds = new Map(
      m.store.scoresBetween(0, Number.MAX_SAFE_INTEGER).map((x) => [x.recordId, x.band]),
    );
    const notAlerted = [...committed.keys()]
      .filter((id) => !storedAt.has(id))
      .map((id) => ({ id, band: scoredIds.get(id) ?? 'not scored' }));
    for (const [name, seen] of [
      ['commit-to-durable-alert-latency', storedAt],
      ['commit-to-delivered-alert-latency', seenAt],
    ] as const) {
      const latencies = [...committed]
        .filter(([id]) => seen.has(id))
        .map(([id, at]) => seen.get(id)! - at)
        .sort((a, b) => a - b);
      const q = (p: number) =>
        Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN);
      emit({
        name,
        n: latencies.length,
        committed: n,
        poll_ms: 1000,
        ms_p50: q(0.5),
        ms_p95: q(0.95),
        ms_max: Math.round(latencies[latencies.length - 1] ?? Number.NaN),
        under_2s: latencies.filter((l) => l < 2000).length,
        not_alerted: notAlerted,
      });
    }
    await m.close();
    await writer.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
