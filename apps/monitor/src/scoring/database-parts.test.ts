import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createSandbox as createMssqlSandbox,
  openTreatmentReader as openMssqlReader,
  openSandboxWriter as openMssqlWriter,
} from '@anomalia/db-mssql';
import { openSandboxWriter, openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import {
  listAllTreatments,
  loadPromotedModel,
  loadRecordsInBatches,
  scoreRecords,
} from '@anomalia/qa-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The TDS test server of @anomalia/db-mssql: the real mssql/tedious driver over TCP, SQLite underneath.
import { startTestServer } from '../../../../packages/db-mssql/src/test-server/server';
import { MODEL_FIT_RECORD } from '../alerts';
import { parseConfig } from '../config/load';
import type { MonitorConfigInput } from '../config/schema';
import { MonitorEventBus } from '../events/bus';
import { createLogger } from '../log';
import { MonitorMetrics } from '../metrics/metrics';
import { runBackfill } from '../queue/backfill';
import { startQueueWorker } from '../queue/worker';
import type { ScoredRecord } from '../seam';
import { assembleMonitor } from '../service/assemble';
import { mosaiqInstant } from '../source/clock';
import { ChangeSummaries, CursorChangeSource } from '../source/cursor-source';
import { foreignClinic, importedClinic, sandboxClinic, testDir, trainedModel } from '../testing/clinics';
import { requireRedisServer, startRedis, type TestRedis } from '../testing/redis-server';
import { MODEL_KINDS } from './model-kinds';
import { ModelScorer } from './model-scorer';
import { createDatabaseParts } from './parts';

const tmp = testDir();
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
let modelDir: string;
let clinic: string;

/** The clinic the model learnt from (a copy: the model saw a sample of its deliveries). */
const RECORDS = 20_000;

beforeAll(async () => {
  modelDir = await trainedModel(tmp.dir, RECORDS);
  clinic = sandboxClinic(tmp.path('clinic.sqlite'), 7, RECORDS);
}, 300_000);
afterAll(() => tmp.cleanup());

let n = 0;
function config(database: string, over: Partial<MonitorConfigInput> = {}) {
  n++;
  return parseConfig({
    source: { name: 'site', database: { type: 'sqlite', path: database } },
    model: { dir: modelDir },
    poll: { lookback: 'all' },
    state: { path: tmp.path(`state-${n}.sqlite`) },
    sinks: [{ name: 'file', type: 'jsonl', path: tmp.path(`alerts-${n}.jsonl`) }],
    routing: {
      routes: [
        { name: 'all', bands: ['low', 'medium', 'high', 'critical'], sinks: ['file'], groupWait: '0s' },
      ],
    },
    log: { level: 'silent' },
    ...over,
  });
}
const sinkFile = (c: ReturnType<typeof config>) => (c.sinks[0] as { path: string }).path;

/**
 * Assembles the monitor over the real parts and polls until caught up. With `metrics`, its
 * Prometheus metrics follow the service's events from before the first poll, as the dashboard's do.
 */
async function catchUp(c: ReturnType<typeof config>, o: { metrics?: boolean } = {}) {
  const events = o.metrics ? new MonitorEventBus() : undefined;
  const monitor = assembleMonitor(c, await createDatabaseParts(c, logger), {
    logger,
    ...(events ? { events } : {}),
  });
  const metrics = events
    ? new MonitorMetrics({ events, health: () => monitor.service.health(), store: monitor.store })
    : null;
  const results = [];
  for (let i = 0; i < 100; i++) {
    const r = await monitor.service.pollOnce();
    results.push(r);
    if (r.caughtUp) break;
  }
  return { monitor, results, metrics };
}

describe('the promoted model as the monitor scorer', () => {
  it('judges deliveries only, and scores them as the QA workflow does with their patients’ history', async () => {
    const model = await loadPromotedModel({ dir: modelDir, kinds: MODEL_KINDS });
    const reader = openTreatmentReader(clinic);
    const now = Date.UTC(2030, 0, 1);
    try {
      const summaries = new ChangeSummaries();
      const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: 'all', summaries });
      const scorer = new ModelScorer({
        model,
        identity: { name: model.name, version: model.promotion.runId },
        reader: Object.assign(reader, { tablePresence: () => reader.tablePresence() }),
        historyDays: 30,
        absentTables: [],
        mcDropoutSamples: 8,
        saliencyTop: 3,
        summaries,
        now: () => now,
      });
      const out: (ScoredRecord | { recordId: string; notJudged: string })[] = [];
      let watermark: string | null = null;
      for (;;) {
        const b = await source.poll(watermark, 4000);
        out.push(...(await scorer.score(b.ids)));
        watermark = b.watermark;
        if (b.caughtUp) break;
      }
      expect(out).toHaveLength(RECORDS);
      const all = await loadRecordsInBatches(
        reader,
        (await listAllTreatments(reader)).map((t) => t.TTX_ID),
      );
      const deliveries = all.filter((r) => r.treatment.WasBeamComplete === true && !r.treatment.WasQAMode);
      const judged = out.filter((r): r is ScoredRecord => 'energy' in r);
      expect(judged.map((r) => Number(r.recordId)).sort()).toEqual(
        deliveries.map((r) => r.treatment.TTX_ID).sort(),
      );
      // QA-mode and cancelled beams are known from the cursor: never read, counted by reason.
      expect(scorer.stats.loaded).toBeLessThan(RECORDS - scorer.stats.notJudged.qa_mode);
      expect(scorer.stats.notJudged.qa_mode + scorer.stats.notJudged.incomplete).toBe(
        RECORDS - judged.length,
      );
      // The same energies as scoring the whole clinic at once with all of it as context (a record
      // within minutes of a batch boundary may miss a neighbour from the next batch).
      const reference = await scoreRecords(model, deliveries, { asOf: new Date(now), history: all });
      const byId = new Map(reference.map((r) => [String(r.ttxId), r.score]));
      const close = judged.filter((r) => Math.abs(r.energy - byId.get(r.recordId)!) < 1e-9).length;
      expect(close / judged.length).toBeGreaterThan(0.99);
      // MC-dropout uncertainty and saliency for the alerting records only.
      const alerting = judged.filter((r) => r.energy >= 0.4);
      expect(alerting.length).toBeGreaterThan(0);
      for (const r of alerting) {
        expect(r.uncertainty).toBeGreaterThanOrEqual(0);
        expect(r.saliency?.length).toBe(3);
      }
      expect(
        judged.filter((r) => r.energy < 0.4).every((r) => r.uncertainty === undefined && !r.saliency),
      ).toBe(true);
    } finally {
      reader.closeSync();
    }
  });

  it('scores a prefetched batch as one it reads itself, reading it once', async () => {
    const model = await loadPromotedModel({ dir: modelDir, kinds: MODEL_KINDS });
    const reader = openTreatmentReader(clinic);
    try {
      const loads: string[] = [];
      const load = reader.loadRecords.bind(reader);
      const counted = Object.assign(reader, {
        tablePresence: () => reader.tablePresence(),
        loadRecords: (ids: readonly number[]) => {
          loads.push(ids.join(','));
          return load(ids);
        },
      });
      const run = async (prefetch: boolean) => {
        const summaries = new ChangeSummaries();
        const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: 'all', summaries });
        const scorer = new ModelScorer({
          model,
          identity: { name: model.name, version: model.promotion.runId },
          reader: counted,
          historyDays: 30,
          absentTables: [],
          mcDropoutSamples: 0,
          saliencyTop: 3,
          summaries,
          now: () => Date.UTC(2030, 0, 1),
        });
        const out: unknown[] = [];
        let b = await source.poll(null, 3000);
        for (;;) {
          // As the service does: the next batch polled, and announced while this one is scored.
          const next = b.caughtUp ? null : await source.poll(b.watermark, 3000);
          const scoring = scorer.score(b.ids);
          if (prefetch && next) scorer.prefetch(next.ids);
          out.push(...(await scoring));
          if (!next) return out;
          b = next;
        }
      };
      const plain = await run(false);
      loads.length = 0;
      const prefetched = await run(true);
      expect(prefetched).toEqual(plain);
      expect(prefetched.length).toBe(RECORDS);
      // Every batch read once (and something was read).
      expect(loads.length).toBeGreaterThan(5);
      expect(new Set(loads).size).toBe(loads.length);
    } finally {
      reader.closeSync();
    }
  });

  it('alerts on a corrupted delivery with the features that drove it', async () => {
    const path = tmp.path('corrupted.sqlite');
    copyFileSync(clinic, path);
    const reader = openTreatmentReader(path);
    const target = reader
      .loadRecordsSync((await listAllTreatments(reader, {})).slice(-400).map((t) => t.TTX_ID))
      .records.find((r) => r.treatment.WasBeamComplete && !r.treatment.WasQAMode && r.field?.Meterset)!;
    reader.closeSync();
    const c = config(path, { poll: { lookback: 'all' } });
    const { monitor } = await catchUp(c);
    const writer = openSandboxWriter(path);
    const field = target.field!;
    writer.applySync(
      [
        {
          kind: 'update',
          table: 'TxField',
          key: field.FLD_ID,
          column: 'Meterset',
          oldValue: field.Meterset,
          newValue: -field.Meterset!,
        },
        {
          kind: 'update',
          table: 'TrackTreatment',
          key: target.treatment.TTX_ID,
          column: 'Edit_DtTm',
          oldValue: target.treatment.Edit_DtTm,
          newValue: new Date(target.treatment.Edit_DtTm!.getTime() + 1000),
        },
      ],
      { label: 'negative meterset', mode: 'meterset_inconsistency', variant: 'negative_meterset' },
    );
    await writer.close();
    const r = await monitor.service.pollOnce();
    expect(r.changed).toBe(1);
    const alert = monitor.store
      .alertsBetween(0, Number.MAX_SAFE_INTEGER)
      .find((a) => a.recordId === String(target.treatment.TTX_ID))!;
    expect(['high', 'critical']).toContain(alert.band);
    // The features that drove it (gradient × distance from the training normals' median), named
    // in the alert: the meterset's, not the ones at their usual value.
    const detail = alert.detail as { saliency: { feature: string; contribution: number }[] };
    expect(detail.saliency.length).toBeGreaterThan(0);
    expect(detail.saliency.every((s) => s.contribution > 0)).toBe(true);
    expect(detail.saliency.slice(0, 2).some((s) => s.feature.startsWith('mu_'))).toBe(true);
    await monitor.close();
  });
});

describe('an ONNX model', () => {
  it('is loaded through @anomalia/onnx and scores as the network it was exported from', async () => {
    const { exportOnnx } = await import('@anomalia/onnx');
    const { cp } = await import('node:fs/promises');
    const onnxDir = tmp.path('onnx-model');
    await cp(modelDir, onnxDir, { recursive: true });
    await import('node:fs/promises').then((fs) => fs.rm(join(onnxDir, 'model'), { recursive: true }));
    await exportOnnx(join(modelDir, 'model'), join(onnxDir, 'model'));
    const small = sandboxClinic(tmp.path('onnx-clinic.sqlite'), 7, 3000);
    const energies = async (dir: string) => {
      const { monitor } = await catchUp(config(small, { model: { dir } }));
      const out = new Map(
        monitor.store.scoresBetween(0, Number.MAX_SAFE_INTEGER).map((s) => [s.recordId, s.energy!]),
      );
      expect(monitor.service.health().model.name).toBe(dir === modelDir ? 'mosaiq-ebm' : 'onnx-model');
      await monitor.close();
      return out;
    };
    const tfjs = await energies(modelDir);
    const onnx = await energies(onnxDir);
    expect(onnx.size).toBe(tfjs.size);
    expect(onnx.size).toBeGreaterThan(500);
    for (const [id, e] of tfjs) expect(Math.abs(onnx.get(id)! - e), id).toBeLessThan(1e-4);
  });
});

describe('reading the source in a worker thread', () => {
  it('scores and alerts as reading on the main thread, the next batch read while one is scored', async () => {
    const runs = [];
    for (const readerThread of [true, false]) {
      const c = config(clinic, {
        source: { name: 'site', database: { type: 'sqlite', path: clinic, readerThread } },
        poll: { lookback: 'all', batchSize: 3_000 },
      });
      const { monitor, results } = await catchUp(c);
      expect(results.length).toBeGreaterThan(3);
      const scores = monitor.store
        .scoresBetween(0, Number.MAX_SAFE_INTEGER)
        .map(({ recordId, energy, band }) => ({ recordId, energy, band }));
      const alerts = monitor.store
        .alertsBetween(0, Number.MAX_SAFE_INTEGER)
        .map(({ recordId, band, energy }) => ({ recordId, band, energy }));
      runs.push({ scores, alerts });
      await monitor.close();
    }
    expect(runs[0]!.scores.length).toBeGreaterThan(1_000);
    expect(runs[0]!.alerts.length).toBeGreaterThan(0);
    expect(runs[0]).toEqual(runs[1]);
  });
});

describe('the data-mismatch guard', () => {
  it('finds the model fits a clinic like the one it learnt from', async () => {
    const before = tableChecksum(clinic);
    const { monitor, results, metrics } = await catchUp(config(clinic), { metrics: true });
    const h = monitor.service.health();
    expect(h.fit, JSON.stringify(h.fit)).toMatchObject({ status: 'fits' });
    // The dashboard's metrics follow the real pipeline: records judged and not, the guard's verdict.
    const text = (await metrics!.render()).text;
    const sum = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    expect(sum('anomalia_monitor_records_scored_total')).toBe(h.totals.scored);
    expect(sum('anomalia_monitor_records_not_judged_total')).toBe(h.totals.notJudged);
    expect(text).toMatch(/^anomalia_monitor_records_not_judged_total\{reason="qa_mode"\} [1-9]\d*$/m);
    expect(text).toMatch(/^anomalia_monitor_model_fit\{status="fits"\} 1$/m);
    expect(text).toMatch(/^anomalia_monitor_model_fit\{status="mismatch"\} 0$/m);
    expect(sum('anomalia_monitor_alerts_held_total')).toBe(0);
    metrics!.close();
    expect(results.reduce((a, r) => a + r.held, 0)).toBe(0);
    const alerts = monitor.store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
    expect(alerts.some((a) => a.recordId === MODEL_FIT_RECORD)).toBe(false);
    expect(alerts.length / h.totals.scored).toBeLessThan(0.05);
    expect(h.totals.notJudged).toBeGreaterThan(h.totals.scored);
    await monitor.close();
    // The monitor only ever reads its source.
    expect(tableChecksum(clinic)).toBe(before);
  });

  it('says "model does not fit this database" once, and pages nobody for every record', async () => {
    const foreign = foreignClinic(tmp.path('foreign.sqlite'), 5000);
    const c = config(foreign);
    const { monitor, results, metrics } = await catchUp(c, { metrics: true });
    const h = monitor.service.health();
    expect(h.fit, JSON.stringify(h.fit)).toMatchObject({ status: 'mismatch' });
    expect(h.status).toBe('degraded');
    expect(h.fit?.reasons.join(' ')).toMatch(/features are distributed unlike the training normals/);
    const held = results.reduce((a, r) => a + r.held, 0);
    expect(held).toBeGreaterThan(0);
    expect(h.totals.held).toBe(held);
    const text = (await metrics!.render()).text;
    expect(text).toMatch(new RegExp(`^anomalia_monitor_alerts_held_total ${held}$`, 'm'));
    expect(text).toMatch(/^anomalia_monitor_model_fit\{status="mismatch"\} 1$/m);
    metrics!.close();
    const alerts = monitor.store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
    expect(alerts.map((a) => a.recordId)).toEqual([MODEL_FIT_RECORD]);
    expect(alerts[0]!.band).toBe('high');
    // Delivered once; a restart confirms the mismatch without raising it again.
    await monitor.service.run(AbortSignal.timeout(1500));
    await monitor.close();
    const again = await catchUp(c);
    expect(again.monitor.store.alertsBetween(0, Number.MAX_SAFE_INTEGER)).toHaveLength(1);
    await again.monitor.close();
    const lines = readFileSync(sinkFile(c), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).alerts[0].steps[0]).toMatch(/does not fit the database of source site/);
  });

  it('refuses a source lacking tables the model was trained with; with missingTables: warn, runs and says so', async () => {
    const imported = await importedClinic(tmp.dir, 9, 3000, ['Offset']);
    const refuse = config(imported);
    await expect(createDatabaseParts(refuse, logger)).rejects.toThrow(
      /trained with the Offset table, which this source's extract does not contain/,
    );
    const warn = config(imported, { model: { dir: modelDir, missingTables: 'warn' } });
    const { monitor, results } = await catchUp(warn);
    const h = monitor.service.health();
    expect(h.fit?.status).toBe('mismatch');
    expect(h.fit?.missingTables).toEqual(['Offset']);
    expect(results.reduce((a, r) => a + r.alertsCreated, 0)).toBe(1);
    expect(monitor.store.alertsBetween(0, Number.MAX_SAFE_INTEGER).map((a) => a.recordId)).toEqual([
      MODEL_FIT_RECORD,
    ]);
    await monitor.close();
  });
});

describe('starting the monitor', () => {
  it('refuses a missing or tampered model, naming the file, and a feature set it was not trained on', async () => {
    await expect(
      createDatabaseParts(config(clinic, { model: { dir: tmp.path('nowhere') } }), logger),
    ).rejects.toThrow(/^model.dir: .*nowhere: dir: expected a promoted model/);
    const copy = tmp.path('tampered-model');
    await import('node:fs/promises').then((fs) => fs.cp(modelDir, copy, { recursive: true }));
    const weights = join(copy, 'model', 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[100]! ^= 1;
    writeFileSync(weights, bytes);
    await expect(createDatabaseParts(config(clinic, { model: { dir: copy } }), logger)).rejects.toThrow(
      /weights\.bin/,
    );
    writeFileSync(weights, readFileSync(join(modelDir, 'model', 'weights.bin')));
    const reference = join(copy, 'reference.json');
    writeFileSync(reference, readFileSync(reference, 'utf8').replace('"count":', '"count": '));
    await expect(createDatabaseParts(config(clinic, { model: { dir: copy } }), logger)).rejects.toThrow(
      /reference\.json: expected the content promotion\.json's digest names/,
    );
    await expect(
      createDatabaseParts(config(clinic, { model: { dir: modelDir, featureSet: 'qa74' } }), logger),
    ).rejects.toThrow(/^model.featureSet: .*the model has same_field_repeats_5min, .* which the set lacks/);
  });

  it('starts while the database is unreachable, retries with back-off, says so, and works once it is there', async () => {
    const later = tmp.path('later.sqlite');
    const c = config(later, {
      poll: { lookback: 'all', interval: '50ms', retry: { initial: '20ms', max: '50ms' } },
    });
    const monitor = assembleMonitor(c, await createDatabaseParts(c, logger), { logger });
    const controller = new AbortController();
    const running = monitor.service.run(controller.signal);
    const deadline = Date.now() + 20_000;
    while (monitor.service.health().source.consecutiveFailures < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const failing = monitor.service.health();
    expect(failing.status).toBe('failing');
    expect(failing.source.lastError).toContain('later.sqlite');
    copyFileSync(clinic, later);
    while (!monitor.service.health().source.caughtUp && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const h = monitor.service.health();
    expect(h.source).toMatchObject({ caughtUp: true, consecutiveFailures: 0, lastError: null });
    expect(h.totals.scored + h.totals.notJudged).toBe(RECORDS);
    controller.abort();
    await running;
    await monitor.close();
  });
});

describe('a monitor on SQL Server', () => {
  it('polls the rowversion cursor through a read-only login, catches up, and alerts on a new corrupted delivery', async () => {
    const server = await startTestServer({
      users: {
        owner: { password: 'Owner-Passw0rd', role: 'owner' },
        reader: { password: 'Reader-Passw0rd', role: 'datareader' },
      },
      databases: ['mosaiq'],
    });
    try {
      const env = { MSSQL_PASSWORD: 'Owner-Passw0rd' };
      // The first treatments of the clinic the model learnt from, on a SQL Server sandbox.
      await createMssqlSandbox(server.url('mosaiq', 'owner'), {
        confirm: true,
        clinic: { seed: 7, records: 2500 },
        env,
      });
      const c = parseConfig({
        source: {
          name: 'sqlserver',
          database: { type: 'mssql', url: server.url('mosaiq', 'reader'), isolation: 'read-committed' },
        },
        model: { dir: modelDir },
        poll: { lookback: 'all', batchSize: 1000 },
        guard: { onMismatch: 'alert' },
        state: { path: tmp.path('state-mssql.sqlite') },
        sinks: [{ name: 'file', type: 'jsonl', path: tmp.path('alerts-mssql.jsonl') }],
        log: { level: 'silent' },
      });
      const { monitor, results } = await catchUp(c);
      expect(results.reduce((a, r) => a + r.changed, 0)).toBe(2500);
      expect(results.map((r) => r.caughtUp)).toEqual([false, false, true]);
      const h = monitor.service.health();
      expect(h.source.kind).toBe('mssql');
      expect(h.source.watermark).toMatch(/^0x[0-9a-f]{16}$/);
      expect(h.totals.scored + h.totals.notJudged).toBe(2500);
      // The reader's session was ReadOnly intent and sent nothing but SELECTs.
      const sessions = server.sessions.filter((s) => s.user === 'reader');
      expect(sessions.length).toBeGreaterThan(0);
      for (const session of sessions) {
        expect(session.readOnlyIntent).toBe(true);
        for (const sql of session.statements)
          expect(sql).not.toMatch(/^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER)\b/i);
      }

      // A new delivery with no patient (null_required_fields/pat_id: critical), written through
      // db-mssql's sandbox writer: the cursor returns it, the scorer alerts on it.
      const reader = await openMssqlReader(server.url('mosaiq', 'owner'), { env });
      const page = await reader.listTreatments({
        from: new Date(0),
        to: new Date('9999-01-01'),
        completedOnly: true,
        qaMode: 'exclude',
        pageSize: 50,
      });
      const { records } = await reader.loadRecords(page.items.map((t) => t.TTX_ID));
      const max = (await reader.maxKeys()).TrackTreatment!;
      await reader.close();
      const template = records.find((r) => r.field && r.controlPoints.length > 0)!.treatment;
      const writer = await openMssqlWriter(server.url('mosaiq', 'owner'), { env });
      const row = { ...template, TTX_ID: max + 1, Pat_ID1: null };
      await writer.apply([{ kind: 'insert', table: 'TrackTreatment', key: row.TTX_ID, row: row as never }], {
        label: 'a delivery with no patient',
        mode: 'null_required_fields',
        variant: 'pat_id',
      });
      await writer.close();
      const r = await monitor.service.pollOnce();
      expect(r).toMatchObject({ changed: 1, scored: 1, alertsCreated: 1, caughtUp: true });
      const alert = monitor.store
        .alertsBetween(0, Number.MAX_SAFE_INTEGER)
        .find((a) => a.recordId === String(row.TTX_ID))!;
      expect(['high', 'critical']).toContain(alert.band);
      await monitor.close();
    } finally {
      await server.close();
    }
    // A TDS server in this process, a 2 500-treatment clinic created through it, three batches.
  }, 120_000);
});

/** Judged deliveries of a clinic file (completed, non-QA beams), by id. */
async function deliveriesOf(path: string): Promise<Set<string>> {
  const reader = openTreatmentReader(path);
  try {
    return new Set(
      (await listAllTreatments(reader))
        .filter((t) => t.WasBeamComplete === true && t.WasQAMode !== true)
        .map((t) => String(t.TTX_ID)),
    );
  } finally {
    reader.closeSync();
  }
}

/** [from, to) around every treatment of a clinic, as instants (what `backfill --from --to` gives). */
async function spanOf(path: string): Promise<{ from: number; to: number }> {
  const reader = openTreatmentReader(path);
  try {
    const all = await listAllTreatments(reader);
    const times = all.map((t) => mosaiqInstant(t.Create_DtTm!));
    return { from: Math.min(...times) - 60_000, to: Math.max(...times) + 60_000 };
  } finally {
    reader.closeSync();
  }
}

const quietOut = () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => {
    text += String(c);
  });
  return { out, text: () => text };
};

describe('backfill with the real source and model', () => {
  it('lists the history with the cursor source, judges deliveries only, and scores them as the live monitor does', async () => {
    const small = sandboxClinic(tmp.path('backfill-clinic.sqlite'), 7, 4000);
    const span = await spanOf(small);
    const c = config(small);
    const progress = quietOut();
    const summary = await runBackfill(c, {
      ...span,
      windowMs: 86_400_000,
      run: 'real',
      wait: true,
      createParts: createDatabaseParts,
      logger,
      out: progress.out,
    });
    expect(summary.finished).toBe(true);
    expect(summary.records).toBe(4000);
    expect(progress.text()).toMatch(/backfill real: \d+\/\d+ windows planned/);
    const deliveries = await deliveriesOf(small);
    const { openMonitorStore } = await import('@anomalia/db-sqlite/monitor-store');
    const store = openMonitorStore(c.state.path);
    const backfilled = new Map(
      store.scoresBetween(0, Number.MAX_SAFE_INTEGER).map((s) => [s.recordId, s.energy!]),
    );
    const alerts = store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
    store.close();
    // QA-mode and incomplete beams are listed but not judged; every delivery is scored once.
    expect(new Set(backfilled.keys())).toEqual(deliveries);
    expect(summary.scored).toBe(deliveries.size);
    expect(alerts.some((a) => a.recordId === MODEL_FIT_RECORD)).toBe(false);
    expect(alerts.length / deliveries.size).toBeLessThan(0.05);
    // The same energies as the live monitor's over the change cursor (a delivery near a window's
    // edge may see its patient's history a little differently).
    const live = await catchUp(config(small));
    const energies = new Map(
      live.monitor.store.scoresBetween(0, Number.MAX_SAFE_INTEGER).map((s) => [s.recordId, s.energy!]),
    );
    await live.monitor.close();
    const same = [...backfilled].filter(([id, e]) => Math.abs(energies.get(id)! - e) < 1e-6).length;
    expect(same / backfilled.size).toBeGreaterThan(0.98);
  });

  it('on a database the model does not fit, holds the per-record alerts and raises the model-fit alert once', async () => {
    const foreign = foreignClinic(tmp.path('foreign-backfill.sqlite'), 5000);
    const c = config(foreign);
    const run = async (id: string) =>
      runBackfill(c, {
        ...(await spanOf(foreign)),
        // One window: the guard has seen the range when its commit is decided.
        windowMs: 3650 * 86_400_000,
        run: id,
        wait: true,
        createParts: createDatabaseParts,
        logger,
        out: quietOut().out,
      });
    const first = await run('first');
    expect(first.scored).toBeGreaterThan(500);
    // A second run (e.g. after a restart) confirms the mismatch without raising it again.
    await run('second');
    const { openMonitorStore } = await import('@anomalia/db-sqlite/monitor-store');
    const store = openMonitorStore(c.state.path);
    const alerts = store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
    const scores = store.scoresBetween(0, Number.MAX_SAFE_INTEGER);
    store.close();
    expect(alerts.map((a) => a.recordId)).toEqual([MODEL_FIT_RECORD]);
    expect(alerts[0]!.band).toBe('high');
    expect((alerts[0]!.detail as { message: string }).message).toMatch(
      /does not fit the database of source site: .*features are distributed unlike the training normals/,
    );
    // Held, not dropped: the scores are stored, many in alerting bands.
    expect(scores.filter((s) => s.band !== 'normal').length).toBeGreaterThan(100);
  });
});

const redisPath = requireRedisServer();

describe('queue workers with the real source and model', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis(redisPath, mkdtempSync(join(tmp.dir, 'redis-')));
  });
  afterAll(() => redis?.stop());

  it('`anomalia-monitor worker` builds each site’s cursor and model: deliveries judged, alerts stored, the model-fit alert on a foreign site', async () => {
    const homePath = sandboxClinic(tmp.path('queue-home.sqlite'), 7, 3000);
    const awayPath = foreignClinic(tmp.path('queue-away.sqlite'), 5000);
    const c = config(homePath, {
      poll: { lookback: 'all', interval: '100ms' },
      queue: {
        redis: redis.url,
        prefix: 'real',
        sites: [{ name: 'away', database: { type: 'sqlite', path: awayPath } }],
        // The away site as one range: its guard has judged it when the commit is decided.
        rangeSize: 10_000,
      },
    });
    const worker = await startQueueWorker(c, {
      roles: ['score', 'store'],
      createParts: createDatabaseParts,
      logger,
    });
    try {
      const store = worker.store!;
      const home = await deliveriesOf(homePath);
      const away = await deliveriesOf(awayPath);
      const deadline = Date.now() + 240_000;
      while (store.counts().scores < home.size + away.size && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const scores = store.scoresBetween(0, Number.MAX_SAFE_INTEGER);
      expect(new Set(scores.filter((s) => s.source === 'site').map((s) => s.recordId))).toEqual(home);
      expect(new Set(scores.filter((s) => s.source === 'away').map((s) => s.recordId))).toEqual(away);
      const alerts = store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
      const homeAlerts = alerts.filter((a) => a.source === 'site');
      expect(homeAlerts.length).toBeGreaterThan(0);
      expect(homeAlerts.length / home.size).toBeLessThan(0.05);
      expect(homeAlerts.every((a) => (a.detail as { saliency?: unknown[] }).saliency?.length)).toBe(true);
      expect(alerts.filter((a) => a.source === 'away').map((a) => a.recordId)).toEqual([MODEL_FIT_RECORD]);
    } finally {
      await worker.close();
    }
  });
});
