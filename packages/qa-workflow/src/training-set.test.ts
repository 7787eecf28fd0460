import { existsSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { cloneAsSandbox, openSandboxWriter, tableChecksum } from '@anomalia/db-sqlite';
import { loadClinic, tempDir } from '@anomalia/db-sqlite/testing';
import { createCohort, planCorruption } from '@anomalia/failure-modes';
import { FEATURE_TABLES } from '@anomalia/features';
import { applyChanges, assembleRecords } from '@anomalia/mosaiq';
import { afterAll, describe, expect, it } from 'vitest';
import { treatmentsWithOwnRowsChanged } from './monitor-view';
import { resolveSource } from './sources/registry';
import { isTrainingEligible, prepareTrainingSet, trainingMix } from './training-set';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 21, records: 4000 });
const base = {
  source: resolveSource(clinic.path),
  recentDays: 120,
  normal: 150,
  adversarial: 150,
  includeMalicious: false,
  seed: 4,
  featureSet: 'qa74-cohort' as const,
  configPath: 'dataset',
};

describe('trainingMix', () => {
  it('keeps the normal share and spreads the rest in the default proportions', () => {
    const mix = trainingMix(300, 100, false);
    expect(mix.normal).toBeCloseTo(0.75);
    expect(mix.critical_malicious).toBe(0);
    // The default mix without its malicious 5 %: 0.45 of the 0.5 anomaly weight.
    expect((mix.low ?? 0) + (mix.medium ?? 0) + (mix.high ?? 0) + (mix.critical_accidental ?? 0)).toBeCloseTo(
      0.25 * (0.45 / 0.5),
    );
    expect(mix.low).toBeCloseTo(mix.medium!);
    expect(trainingMix(1, 1, true).critical_malicious).toBeGreaterThan(0);
  });
});

describe('prepareTrainingSet', () => {
  it('corrupts a sandbox copy, reads the examples back as features, and restores it', async () => {
    const before = tableChecksum(clinic.path);
    const sandboxPath = tmp.path('sandbox.sqlite');
    const set = await prepareTrainingSet({ ...base, sandboxPath });
    expect(tableChecksum(clinic.path)).toBe(before);
    expect(set.sourceName).toBe(clinic.path);
    expect(set.features.X.rows).toBe(set.plan.examples.length);
    expect(Array.from(set.features.recordIds)).toEqual(set.plan.examples.map((e) => e.ttxId));
    expect(set.features.featureNames).toEqual(set.featureSet.features.map((f) => f.name));
    expect(set.cohort.eligible).toBe(set.cohort.records.filter(isTrainingEligible).length);
    expect(set.plan.applications.length).toBeGreaterThan(100);
    expect(set.plan.applications.every((a) => a.kind === 'accidental')).toBe(true);

    // The plan is the one planCorruption draws over the same cohort: the workflow adds nothing random.
    const again = planCorruption({
      cohort: createCohort([...set.cohort.records]),
      n: 300,
      seed: 4,
      mix: set.mix,
      kinds: ['accidental'],
      eligible: isTrainingEligible,
    });
    expect(again.examples.map((e) => e.ttxId)).toEqual(set.plan.examples.map((e) => e.ttxId));

    // A corrupted example reads back corrupted: its features differ from its clean source record's.
    const app = set.plan.applications.find((a) => a.targetTtxId === a.primaryTtxId)!;
    const row = set.plan.examples.findIndex((e) => e.ttxId === app.primaryTtxId);
    const clean = set.featureSet.extract(
      set.cohort.records.filter((r) => r.treatment.TTX_ID === app.primaryTtxId),
      { asOf: set.cohort.asOf, history: set.cohort.records },
    );
    const cols = clean.X.cols;
    const corrupted = Array.from(set.features.X.data.subarray(row * cols, (row + 1) * cols));
    expect(corrupted).not.toEqual(Array.from(clean.X.data));

    const report = await set.finish();
    expect(report).toMatchObject({ path: sandboxPath, restored: true, kept: false });
    expect(report.changes).toBe(set.plan.changes.length);
    expect(existsSync(sandboxPath)).toBe(false);
    expect(tableChecksum(clinic.path)).toBe(before);
  });

  it('gives qa74-longitudinal the course history a monitor saw: earlier attacked fractions read back corrupted', async () => {
    const set = await prepareTrainingSet({
      ...base,
      includeMalicious: true,
      featureSet: 'qa74-longitudinal',
      sandboxPath: tmp.path('longitudinal.sqlite'),
    });
    try {
      expect(set.plan.applications.some((a) => a.kind === 'malicious')).toBe(true);
      const examples = new Set(set.plan.examples.map((e) => e.ttxId));
      const own = [...treatmentsWithOwnRowsChanged(set.cohort.index, set.plan.changes)].filter(
        (id) => !examples.has(id),
      );
      expect(own.length).toBeGreaterThan(0);

      // The same plan applied in memory: the examples and the changed history as the sandbox holds them.
      const corrupted = new Map(
        assembleRecords(applyChanges(set.cohort.index.rows as never, set.plan.changes)).map((r) => [
          r.treatment.TTX_ID,
          r,
        ]),
      );
      const batch = set.plan.examples.map((e) => corrupted.get(e.ttxId)!);
      const ownSet = new Set(own);
      // A treatment the plan deleted stays as the monitor read it before the deletion.
      const monitorHistory = set.cohort.records.map((r) =>
        ownSet.has(r.treatment.TTX_ID) ? (corrupted.get(r.treatment.TTX_ID) ?? r) : r,
      );
      const options = { asOf: set.cohort.asOf, absentTables: set.sourceTables.absent };
      const expected = set.featureSet.extract(batch, { ...options, history: monitorHistory });
      // Every column but those reading Offset: the cohort's rows hold only the offsets its records
      // used, so where an attack removes a session's offset the sandbox falls back to an older one
      // of the site set that the in-memory rows lack.
      const cols = expected.X.cols;
      const compared = expected.featureNames.flatMap((n, j) =>
        FEATURE_TABLES[n]?.includes('Offset') ? [] : [j],
      );
      expect(compared.length).toBeGreaterThan(90);
      const pick = (data: Float64Array) =>
        Array.from({ length: expected.X.rows }, (_, i) => compared.map((j) => data[i * cols + j]!));
      expect(pick(set.features.X.data)).toEqual(pick(expected.X.data));
      // With the clean history instead, some example's course looks different.
      const withClean = set.featureSet.extract(batch, { ...options, history: set.cohort.records });
      expect(pick(withClean.X.data)).not.toEqual(pick(expected.X.data));
    } finally {
      await set.finish();
    }
  });

  it('keeps the sandbox when asked, restored to its checksum', async () => {
    const sandboxPath = tmp.path('kept.sqlite');
    const set = await prepareTrainingSet({ ...base, sandboxPath, keepSandbox: true, featureSet: 'qa74' });
    expect(set.features.featureNames).toHaveLength(74);
    const report = await set.finish();
    expect(report.kept).toBe(true);
    expect(tableChecksum(sandboxPath)).toBe(report.checksum);
    expect(tableChecksum(sandboxPath)).toBe(tableChecksum(clinic.path));
  });

  it('names the config field that cannot be met', async () => {
    const missing = resolveSource(tmp.path('nowhere.sqlite'));
    const error = await prepareTrainingSet({
      ...base,
      source: missing,
      sandboxPath: tmp.path('s1.sqlite'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('dataset.source');
    expect((error as ValidationError).message).toMatch(/dataset\.synthesizeIfMissing/);

    const tooMany = await prepareTrainingSet({
      ...base,
      normal: 100_000,
      sandboxPath: tmp.path('s2.sqlite'),
    }).catch((e: unknown) => e);
    expect((tooMany as ValidationError).field).toBe('dataset.normal');
    expect(existsSync(tmp.path('s2.sqlite'))).toBe(false);
  });

  it('warns, naming what to change, when corruptions leave too few untouched records for the normal examples', async () => {
    const infos: string[] = [];
    const progress = { stage() {}, step() {}, info: (m: string) => infos.push(m) };
    // Malicious modes take whole courses: on 4 000 treatments, 600 of each leave too few clean ones.
    const set = await prepareTrainingSet({
      ...base,
      normal: 600,
      adversarial: 600,
      includeMalicious: true,
      featureSet: 'qa74',
      synthesizeIfMissing: { records: 120_000, seed: 7 },
      sandboxPath: tmp.path('short.sqlite'),
      progress,
    });
    await set.finish();
    const planned = set.plan.strata.find((s) => s.stratum === 'normal')!.planned;
    expect(planned).toBeLessThan(600);
    expect(infos).toContainEqual(expect.stringContaining(`only ${planned} of 600 normal examples`));
    expect(infos.join('\n')).toMatch(
      /dataset\.synthesizeIfMissing creates one only when .* is missing: delete it to create one of 120000 treatments/,
    );

    const enough: string[] = [];
    const full = await prepareTrainingSet({
      ...base,
      featureSet: 'qa74',
      sandboxPath: tmp.path('full.sqlite'),
      progress: { ...progress, info: (m: string) => enough.push(m) },
    });
    await full.finish();
    expect(enough.filter((m) => m.includes('normal examples'))).toEqual([]);
  });

  it('refuses a sandbox source with runs still applied, naming them, unless allowUnrestoredRuns', async () => {
    // A sandbox whose run set a gantry of 400° on the control points of 100 completed treatments.
    const corrupted = tmp.path('corrupted-source.sqlite');
    cloneAsSandbox(clinic.path, corrupted);
    const victims = clinic.records.filter(isTrainingEligible).slice(-100);
    const writer = openSandboxWriter(corrupted);
    const run = writer.applySync(
      victims.flatMap((r) =>
        r.controlPoints.map((p) => ({
          kind: 'update' as const,
          table: 'TxFieldPoint' as const,
          key: p.TFP_ID,
          column: 'Gantry_Ang',
          oldValue: p.Gantry_Ang,
          newValue: 400,
        })),
      ),
      { label: 'gantry 400', mode: 'invalid_angles', variant: 'gantry' },
    );
    const before = tableChecksum(corrupted);
    const source = resolveSource(corrupted);

    const error = await prepareTrainingSet({ ...base, source, sandboxPath: tmp.path('s4.sqlite') }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('dataset.source');
    expect((error as ValidationError).message).toMatch(
      new RegExp(
        `is a sandbox whose run ${run.runId} \\(invalid_angles/gantry, ${run.changeCount} changes, applied [^)]+\\) is still applied`,
      ),
    );
    expect((error as ValidationError).message).toMatch(/or set dataset\.allowUnrestoredRuns: true/);
    expect(existsSync(tmp.path('s4.sqlite'))).toBe(false);

    const allowed = await prepareTrainingSet({
      ...base,
      source,
      allowUnrestoredRuns: true,
      sandboxPath: tmp.path('s5.sqlite'),
    });
    expect(allowed.unrestoredRuns.map((r) => r.runId)).toEqual([run.runId]);
    await allowed.finish();
    expect(tableChecksum(corrupted)).toBe(before);

    writer.restoreSync(run.runId);
    writer.closeSync();
    const restored = await prepareTrainingSet({ ...base, source, sandboxPath: tmp.path('s6.sqlite') });
    expect(restored.unrestoredRuns).toEqual([]);
    await restored.finish();
  });

  it('synthesises a missing source when asked', async () => {
    const source = resolveSource(tmp.path('synth/clinic.sqlite'));
    const set = await prepareTrainingSet({
      ...base,
      source,
      synthesizeIfMissing: { records: 2500, seed: 9 },
      normal: 60,
      adversarial: 60,
      sandboxPath: tmp.path('s3.sqlite'),
    });
    expect(set.plan.examples.length).toBeGreaterThan(100);
    await set.finish();
    expect(existsSync(tmp.path('synth/clinic.sqlite'))).toBe(true);
  });
});
