import { openSandboxWriter, openTreatmentReader } from '@anomalia/db-sqlite';
import { createFailureCatalogue, gradualParameterDrift } from '@anomalia/failure-modes';
import type { LongitudinalTracker } from '@anomalia/features';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import {
  computeCorruption,
  listAllTreatments,
  loadPromotedModel,
  loadRecordsInBatches,
  type PromotedModel,
} from '@anomalia/qa-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { createLogger } from '../log';
import { isUnjudged, type ScoredRecord } from '../seam';
import { assembleMonitor } from '../service/assemble';
import { ChangeSummaries, CursorChangeSource } from '../source/cursor-source';
import { sandboxClinic, testDir, trainedModel } from '../testing/clinics';
import { CourseWatch } from './course-watch';
import { MODEL_KINDS } from './model-kinds';
import { ModelScorer } from './model-scorer';
import { createDatabaseParts } from './parts';

const tmp = testDir();
const logger = createLogger({ level: 'silent', redactPatientIdentifiers: true });
const RECORDS = 20_000;
const THRESHOLD = 0.5;
let modelDir: string;
let model: PromotedModel;
/** The clinic with one patient's meterset creeping +1.5 % per fraction from its third fraction. */
let attacked: string;
let patient: string;
let affected: Set<string>;

beforeAll(async () => {
  modelDir = await trainedModel(tmp.dir, RECORDS);
  model = await loadPromotedModel({ dir: modelDir, kinds: MODEL_KINDS });
  attacked = sandboxClinic(tmp.path('attacked.sqlite'), 7, RECORDS);
  const reader = openTreatmentReader(attacked);
  const corruption = await computeCorruption(
    { name: 'attacked', reader },
    createFailureCatalogue([gradualParameterDrift]),
    {
      mode: 'gradual_parameter_drift',
      variant: 'mu_creep',
      params: { percentPerFraction: 1.5, startFraction: 3, minFractions: 10 },
      count: 1,
      seed: 3,
    },
    { maxTargets: 1, maxCandidates: 5_000 },
  );
  const { records } = await reader.loadRecords([...corruption.affectedTtxIds]);
  reader.closeSync();
  const patients = new Set(records.map((r) => r.treatment.Pat_ID1));
  expect(patients.size).toBe(1);
  patient = String([...patients][0]);
  affected = new Set(corruption.affectedTtxIds.map(String));
  const writer = openSandboxWriter(attacked);
  writer.applySync(corruption.changes, {
    label: 'mu creep',
    mode: 'gradual_parameter_drift',
    variant: 'mu_creep',
  });
  await writer.close();
}, 300_000);
afterAll(() => tmp.cleanup());

/** Every change id of the clinic, in cursor order. */
async function changeIds(reader: ReturnType<typeof openTreatmentReader>, summaries: ChangeSummaries) {
  const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: 'all', summaries });
  const ids: string[] = [];
  let watermark: string | null = null;
  for (;;) {
    const b = await source.poll(watermark, 5_000);
    ids.push(...b.ids);
    watermark = b.watermark;
    if (b.caughtUp) return ids;
  }
}

function scorer(reader: ReturnType<typeof openTreatmentReader>, summaries: ChangeSummaries) {
  return new ModelScorer({
    model,
    identity: { name: model.name, version: model.promotion.runId },
    reader: Object.assign(reader, { tablePresence: () => reader.tablePresence() }),
    historyDays: 30,
    longitudinal: { historyDays: 120 },
    absentTables: [],
    mcDropoutSamples: 0,
    saliencyTop: 0,
    summaries,
    now: () => Date.UTC(2030, 0, 1),
  });
}

describe('the longitudinal checks in the monitor', () => {
  it('gives the attacked patient’s fractions a malicious probability naming the drifted meterset, clean patients no flag', async () => {
    const reader = openTreatmentReader(attacked);
    try {
      const summaries = new ChangeSummaries();
      const ids = await changeIds(reader, summaries);
      const s = scorer(reader, summaries);
      const judged: ScoredRecord[] = [];
      // Batches of 1 000: the course's fractions arrive over many batches.
      for (let i = 0; i < ids.length; i += 1_000)
        for (const r of await s.score(ids.slice(i, i + 1_000))) if (!isUnjudged(r)) judged.push(r);
      const mine = judged.filter((r) => r.patientId === patient);
      const others = judged.filter((r) => r.patientId !== patient);
      // The attacked course's late fractions (the drift has accumulated) are suspected.
      const late = mine.filter((r) => affected.has(r.recordId)).slice(-3);
      expect(late.length).toBe(3);
      for (const r of late) {
        expect(r.malicious!.probability).toBeGreaterThan(THRESHOLD);
        expect(r.malicious!.indicators.some((i) => /^dose: meterset cusum at fraction \d+/.test(i))).toBe(
          true,
        );
        expect(r.malicious!.indicators.join('\n')).not.toContain(`${patient}|`);
      }
      // Every other patient was assessed, and none carries a malicious flag: their courses show nothing.
      expect(others.filter((r) => r.malicious !== null)).toEqual([]);
      expect(s.courses!.stats.assessed).toBeGreaterThanOrEqual(new Set(judged.map((r) => r.patientId)).size);
    } finally {
      reader.closeSync();
    }
  });

  it('suspects the course at the fraction where its alarm fires, as the fractions arrive day by day', async () => {
    const reader = openTreatmentReader(attacked);
    try {
      const summaries = new ChangeSummaries();
      const ids = await changeIds(reader, summaries);
      const listed = await reader.listTreatments({
        from: new Date(0),
        to: new Date('9999-01-01'),
        patientIds: [Number(patient)],
        pageSize: 10_000,
      });
      const { records } = await reader.loadRecords(listed.items.map((t) => t.TTX_ID));
      const at = (r: (typeof records)[number]) => r.treatment.Create_DtTm!.getTime();
      const attackedFractions = records
        .filter((r) => affected.has(String(r.treatment.TTX_ID)) && r.treatment.WasBeamComplete === true)
        .filter((r) => !r.treatment.WasQAMode)
        .sort((a, b) => at(a) - at(b));
      const start = at(attackedFractions[0]!);
      // Everything else first (the clinic, and this patient's days before the attack) …
      const later = records.filter((r) => at(r) >= start);
      const pending = new Set(later.map((r) => String(r.treatment.TTX_ID)));
      const s = scorer(reader, summaries);
      const before = ids.filter((id) => !pending.has(id));
      for (let i = 0; i < before.length; i += 2_000) await s.score(before.slice(i, i + 2_000));
      // … then the patient's records one treatment day at a time, as a live monitor gets them.
      const days = new Map<number, string[]>();
      for (const r of later.sort((a, b) => at(a) - at(b))) {
        const day = Math.floor(at(r) / 86_400_000);
        days.set(day, [...(days.get(day) ?? []), String(r.treatment.TTX_ID)]);
      }
      const seen = new Map<string, ScoredRecord>();
      for (const batch of days.values())
        for (const r of await s.score(batch)) if (!isUnjudged(r)) seen.set(r.recordId, r);
      const course = attackedFractions.map((r) => seen.get(String(r.treatment.TTX_ID))!);
      expect(course.length).toBeGreaterThanOrEqual(8);
      // The first attacked fraction (+1.5 %) stays within what one fraction may differ: not suspected.
      expect(course[0]!.malicious!.probability).toBeLessThanOrEqual(THRESHOLD);
      // From the second (+3 %, the CUSUM crosses h) every fraction is, naming the meterset alarm.
      const alarm = /^dose: meterset cusum at fraction (\d+) of field set \d+ \(p=/;
      const fired = course[1]!.malicious!.indicators.find((i) => alarm.test(i));
      expect(fired).toBeDefined();
      for (const r of course.slice(1)) {
        expect(r.malicious!.probability).toBeGreaterThan(THRESHOLD);
        expect(r.malicious!.indicators).toContain(fired);
      }
    } finally {
      reader.closeSync();
    }
  });

  it('gives a restarted scorer the same assessment of the next fraction as one that saw the course arrive', async () => {
    const reader = openTreatmentReader(attacked);
    try {
      const summaries = new ChangeSummaries();
      const ids = await changeIds(reader, summaries);
      const { records } = await reader.loadRecords([...affected].map(Number));
      const last = records
        .filter((r) => r.treatment.WasBeamComplete === true && !r.treatment.WasQAMode)
        .sort((a, b) => a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime())
        .at(-1)!;
      const next = String(last.treatment.TTX_ID);
      const at = last.treatment.Create_DtTm!.getTime();
      // The patient's records from the next fraction on are what has not arrived yet.
      const later = new Set(
        (
          await reader.listTreatments({
            from: new Date(at),
            to: new Date('9999-01-01'),
            patientIds: [Number(patient)],
            pageSize: 10_000,
          })
        ).items.map((t) => String(t.TTX_ID)),
      );
      const running = scorer(reader, summaries);
      const before = ids.filter((id) => !later.has(id));
      for (let i = 0; i < before.length; i += 2_000) await running.score(before.slice(i, i + 2_000));
      const seen = (await running.score([next]))[0] as ScoredRecord;
      const restarted = (await scorer(reader, summaries).score([next]))[0] as ScoredRecord;
      expect(seen.malicious!.probability).toBeGreaterThan(THRESHOLD);
      expect(restarted.malicious).toEqual(seen.malicious);
      expect(restarted.energy).toBeCloseTo(seen.energy, 9);
    } finally {
      reader.closeSync();
    }
  });

  it('keeps memory bounded: a tracker started afresh rebuilds the courses from history and assesses alike', async () => {
    const reader = openTreatmentReader(attacked);
    let all: TreatmentRecord[];
    try {
      all = await loadRecordsInBatches(
        reader,
        (await listAllTreatments(reader)).map((t) => t.TTX_ID),
      );
    } finally {
      reader.closeSync();
    }
    const at = (r: TreatmentRecord) => r.treatment.Create_DtTm?.getTime() ?? 0;
    const deliveries = all.filter((r) => r.treatment.WasBeamComplete === true && !r.treatment.WasQAMode);
    deliveries.sort((a, b) => at(a) - at(b));
    const unbounded = new CourseWatch();
    const bounded = new CourseWatch({ maxFractions: 1_500 });
    const earlier = new Map<number, TreatmentRecord[]>();
    const differ: string[] = [];
    let suspected = 0;
    for (let i = 0; i < deliveries.length; i += 500) {
      const batch = deliveries.slice(i, i + 500);
      const patients = new Set(batch.map((r) => r.treatment.Pat_ID1!));
      // What PatientHistory hands over: the batch patients' earlier deliveries.
      const history = [...patients].flatMap((p) => earlier.get(p) ?? []);
      const energies = batch.map(() => 0.1);
      unbounded.observe(history, batch);
      bounded.observe(history, batch);
      const a = unbounded.assess(batch, energies);
      const b = bounded.assess(batch, energies);
      batch.forEach((r, k) => {
        if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) differ.push(String(r.treatment.TTX_ID));
        if (a[k] && a[k].probability > THRESHOLD) suspected++;
      });
      for (const r of batch)
        earlier.set(r.treatment.Pat_ID1!, [...(earlier.get(r.treatment.Pat_ID1!) ?? []), r]);
    }
    expect(bounded.stats.resets).toBeGreaterThan(2);
    expect(unbounded.stats.resets).toBe(0);
    expect(suspected).toBeGreaterThan(0);
    expect(differ).toEqual([]);
  });

  it('lends its tracker to the model’s course features when the batch follows the courses it holds, else not', async () => {
    const all = generateRecords({ seed: 21, records: 4_000 }).sort(
      (a, b) => a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime(),
    );
    const [earlier, later] = [all.slice(0, 2_000), all.slice(2_000)];
    const scoredOf = (batch: TreatmentRecord[]) => batch.filter((_, i) => i % 3 !== 0);
    const lent: (LongitudinalTracker | null)[] = [];
    // The extractor's part: observe the scored records on the tracker it is lent.
    const extract = (scored: TreatmentRecord[]) => (tracker: LongitudinalTracker | null) => {
      if (tracker) {
        // Unscored records of the batch are in already, the scored ones are the extractor's to observe.
        for (const r of scored) expect(tracker.knows(r.treatment.TTX_ID)).toBe(false);
        for (const r of scored) tracker.observe(r);
      }
      lent.push(tracker);
      return scored.length;
    };
    const inOrder = new CourseWatch();
    for (const batch of [earlier, later]) {
      const scored = scoredOf(batch);
      expect(inOrder.withTracker([], batch, scored, extract(scored))).toBe(scored.length);
    }
    expect(lent.every((t) => t !== null)).toBe(true);
    expect(inOrder.stats.observed).toBe(all.length);

    // The later days first (a queue job newer than the one still pending), then the earlier ones:
    // their courses already hold later fractions, so the features must not use that tracker.
    lent.length = 0;
    const backwards = new CourseWatch();
    for (const batch of [later, earlier]) {
      const scored = scoredOf(batch);
      backwards.withTracker([], batch, scored, extract(scored));
    }
    expect(lent[0]).not.toBeNull();
    expect(lent[1]).toBeNull();
    // Observed all the same, by the watch itself.
    expect(backwards.stats.observed).toBe(all.length);
  });

  it('alerts on the attacked fractions as critical with the indicators, however low their energy', async () => {
    const c = parseConfig({
      source: { name: 'site', database: { type: 'sqlite', path: attacked } },
      model: { dir: modelDir },
      poll: { lookback: 'all', batchSize: 2_000 },
      triage: { maliciousThreshold: THRESHOLD },
      state: { path: tmp.path('state.sqlite') },
      sinks: [{ name: 'file', type: 'jsonl', path: tmp.path('alerts.jsonl') }],
      routing: {
        routes: [
          { name: 'all', bands: ['low', 'medium', 'high', 'critical'], sinks: ['file'], groupWait: '0s' },
        ],
      },
      log: { level: 'silent' },
    });
    const monitor = assembleMonitor(c, await createDatabaseParts(c, logger), { logger });
    try {
      for (let i = 0; i < 100; i++) if ((await monitor.service.pollOnce()).caughtUp) break;
      const alerts = monitor.store.alertsBetween(0, Number.MAX_SAFE_INTEGER);
      const mine = alerts.filter((a) => a.subject === patient && a.maliciousProbability! > THRESHOLD);
      expect(mine.length).toBeGreaterThan(0);
      // Their energy alone would not make them critical: the course evidence does.
      expect(mine.some((a) => a.energy < 2.5)).toBe(true);
      for (const a of mine) {
        expect(a.band).toBe('critical');
        const detail = a.detail as { malicious: { suspected: boolean; indicators: string[] } };
        expect(detail.malicious.suspected).toBe(true);
        expect(detail.malicious.indicators.some((i) => i.includes('meterset'))).toBe(true);
      }
      // No other patient is suspected.
      expect(alerts.filter((a) => a.subject !== patient && a.maliciousProbability! > THRESHOLD)).toEqual([]);
    } finally {
      await monitor.close();
    }
  });
});
