import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsolationForest } from '@anomalia/baselines';
import { ValidationError } from '@anomalia/core';
import { tempDir } from '@anomalia/db-sqlite/testing';
import { extractQa74, extractQaExtended, QA_EXTENDED_FEATURE_NAMES } from '@anomalia/features';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureSetMismatchError, loadPromotedModel, type ModelKind, sha256Hex } from './models';
import { buildFeatureReference } from './reference';
import { scoreRecords } from './scoring';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const records = generateRecords({ seed: 2, records: 600 });
const asOf = new Date(Math.max(...records.map((r) => r.treatment.Create_DtTm?.getTime() ?? 0)) + 1);
const kinds: Record<string, ModelKind> = { 'isolation-forest': { load: (d) => IsolationForest.load(d) } };

/** Trains a small forest on `fm` and promotes it as `<models>/current/<name>`, as the train app does. */
async function promoteForest(models: string, name: string, X: ReturnType<typeof extractQa74>): Promise<void> {
  const forest = new IsolationForest({ seed: 1, nEstimators: 20, contamination: 0.1 });
  await forest.fit(X.X, { featureNames: X.featureNames });
  const dir = join(models, 'current', name);
  mkdirSync(dir, { recursive: true });
  await forest.save(join(dir, 'model'));
  writeFileSync(
    join(dir, 'promotion.json'),
    JSON.stringify({ runId: 'r1', promoted: true, reasons: [], metrics: { roc_auc: 0.9 }, at: '2025-01-01' }),
  );
}

const models = tmp.path('models');
beforeAll(async () => {
  await promoteForest(models, 'forest74', extractQa74(records, { asOf }));
  await promoteForest(models, 'forest87', extractQaExtended(records, { asOf }));
});

describe('loadPromotedModel', () => {
  it('finds the feature set the model was trained on', async () => {
    const m74 = await loadPromotedModel({ modelsDir: models, name: 'forest74', kinds });
    expect(m74.featureSet.name).toBe('qa74');
    expect(m74.kind).toBe('isolation-forest');
    expect(m74.promotion).toMatchObject({ runId: 'r1', promoted: true });
    const m87 = await loadPromotedModel({
      modelsDir: models,
      name: 'forest87',
      kinds,
      featureSet: 'qa74-cohort',
    });
    expect(m87.featureSet.name).toBe('qa74-cohort');
  });

  it('refuses a feature set the model was not trained on, naming what differs', async () => {
    const error = await loadPromotedModel({
      modelsDir: models,
      name: 'forest74',
      kinds,
      featureSet: 'qa74-cohort',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FeatureSetMismatchError);
    const mismatch = error as FeatureSetMismatchError;
    expect(mismatch.missingFromModel).toEqual(QA_EXTENDED_FEATURE_NAMES.slice(74));
    expect(mismatch.missingFromSet).toEqual([]);
    expect(mismatch.message).toMatch(/forest74 was not trained on feature set qa74-cohort/);
    expect(mismatch.message).toContain(QA_EXTENDED_FEATURE_NAMES[74]!);
  });

  it('refuses a missing model, an unknown kind and a bad promotion record', async () => {
    await expect(loadPromotedModel({ modelsDir: models, name: 'nope', kinds })).rejects.toThrow(
      /current\/nope does not exist/,
    );
    await expect(loadPromotedModel({ modelsDir: models, name: 'forest74', kinds: {} })).rejects.toThrow(
      /manifest\.json\.kind: expected a model kind this program loads \(none\)/,
    );
    const bad = join(models, 'current', 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'promotion.json'), JSON.stringify({ runId: 'r', promoted: 'yes' }));
    const error = await loadPromotedModel({ modelsDir: models, name: 'bad', kinds }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('current/bad/promotion.json.promoted');
    writeFileSync(
      join(bad, 'promotion.json'),
      '{"runId": "r", "promoted": true, "__proto__": {"promoted": false}}',
    );
    const polluted = await loadPromotedModel({ modelsDir: models, name: 'bad', kinds }).catch(
      (e: unknown) => e,
    );
    expect((polluted as ValidationError).field).toBe('current/bad/promotion.json.__proto__');
  });
});

describe('scoreRecords', () => {
  it("scores records on the model's own features, with its threshold", async () => {
    const model = await loadPromotedModel({ modelsDir: models, name: 'forest74', kinds });
    const batch = records.slice(0, 50);
    const scored = await scoreRecords(model, batch, { asOf });
    const fm = extractQa74(batch, { asOf });
    const expected = await model.detector.score(fm.X);
    const flags = await model.detector.predict(fm.X);
    expect(scored.map((s) => s.ttxId)).toEqual(batch.map((r) => r.treatment.TTX_ID));
    expect(scored.map((s) => s.score)).toEqual(Array.from(expected));
    expect(scored.map((s) => s.flagged)).toEqual(Array.from(flags, (f) => f === 1));
    expect(scored.every((s) => s.severity === null && s.band === null)).toBe(true);
  });

  it('gives severities and bands for a model whose scores are severities', async () => {
    const model = await loadPromotedModel({
      modelsDir: models,
      name: 'forest74',
      kinds: { 'isolation-forest': { ...kinds['isolation-forest']!, scoresAreSeverities: true } },
    });
    const scored = await scoreRecords(model, records.slice(0, 20), { asOf });
    for (const s of scored) {
      expect(s.severity).toBe(Math.min(3, Math.max(0, s.score)));
      expect(s.band).toBe(s.severity! < 0.4 ? 'normal' : s.severity! < 1 ? 'low' : 'medium');
    }
  });

  it('loads the companions kept with the model, checked against promotion.json, and refuses an edited one', async () => {
    const fm = extractQa74(records, { asOf });
    const dir = join(models, 'current', 'forest74');
    const tables =
      '{"recorded":true,"present":["TrackTreatment","TxField","TxFieldPoint","Site","Patient","Ident","Staff","Dose_Hst"],"absent":["Offset"]}\n';
    const reference = `${JSON.stringify(buildFeatureReference(fm.X, fm.featureNames, 'qa74', 'test rows'))}\n`;
    writeFileSync(join(dir, 'source_tables.json'), tables);
    writeFileSync(join(dir, 'reference.json'), reference);
    const promotion = { runId: 'r2', promoted: true, reasons: [], metrics: {}, at: '2025-01-01' };
    const files = { 'source_tables.json': sha256Hex(tables), 'reference.json': sha256Hex(reference) };
    writeFileSync(join(dir, 'promotion.json'), JSON.stringify({ ...promotion, files }));
    const m = await loadPromotedModel({ dir, kinds });
    expect(m.name).toBe('forest74');
    expect(m.sourceTables?.absent).toEqual(['Offset']);
    expect(m.reference?.features.map((f) => f.name)).toEqual(fm.featureNames);

    writeFileSync(join(dir, 'reference.json'), reference.replace('"test rows"', '"other rows"'));
    await expect(loadPromotedModel({ dir, kinds })).rejects.toThrow(
      /reference\.json: expected the content promotion\.json's digest names .* the file was changed after promotion/,
    );
    rmSync(join(dir, 'reference.json'));
    await expect(loadPromotedModel({ dir, kinds })).rejects.toThrow(
      /reference\.json: expected the file promotion\.json lists/,
    );
    // Another model's reference (other features) is refused even when its digest matches.
    const other = extractQaExtended(records, { asOf });
    const foreign = `${JSON.stringify(buildFeatureReference(other.X, other.featureNames, 'qa74-cohort', 'x'))}\n`;
    writeFileSync(join(dir, 'reference.json'), foreign);
    writeFileSync(
      join(dir, 'promotion.json'),
      JSON.stringify({ ...promotion, files: { ...files, 'reference.json': sha256Hex(foreign) } }),
    );
    await expect(loadPromotedModel({ dir, kinds })).rejects.toThrow(
      /reference\.json\.features: expected the model's 74 features/,
    );
    // Without companions (a model promoted before they were kept): null, no error.
    rmSync(join(dir, 'reference.json'));
    rmSync(join(dir, 'source_tables.json'));
    writeFileSync(join(dir, 'promotion.json'), JSON.stringify(promotion));
    expect(await loadPromotedModel({ dir, kinds })).toMatchObject({ sourceTables: null, reference: null });
  });
});
