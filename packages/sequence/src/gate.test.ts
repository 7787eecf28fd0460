import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPromotionGate, promoteModel, validationMetrics } from './gate';
import { NGramClassifier, unzipLabelled } from './ngram-classifier';
import { generateSyntheticSamples } from './synthetic';

const data = generateSyntheticSamples(1500, { seed: 5 });
const trainSet = unzipLabelled(data.slice(0, 1200));
const model = new NGramClassifier();
await model.fit(trainSet.sequences, { y: trainSet.y });
const validation = data.slice(1200);

describe('promotion gate', () => {
  it('passes only with ECE ≤ maxEce and accuracy ≥ minAccuracy (defaults 0.08 / 0.85)', () => {
    expect(checkPromotionGate({ ece: 0.05, accuracy: 0.9 }).passed).toBe(true);
    expect(checkPromotionGate({ ece: 0.08, accuracy: 0.85 }).passed).toBe(true);
    const bad = checkPromotionGate({ ece: 0.2, accuracy: 0.5 });
    expect(bad.passed).toBe(false);
    expect(bad.reasons).toHaveLength(2);
    expect(checkPromotionGate({ ece: Number.NaN, accuracy: 0.99 }).passed).toBe(false);
    expect(checkPromotionGate({ ece: 0.1, accuracy: 0.9 }, { maxEce: 0.15 }).passed).toBe(true);
    expect(() => checkPromotionGate({ ece: 0, accuracy: 1 }, { maxEce: -1 })).toThrow(/gate\.maxEce/);
  });

  it('ECE is the binned calibration error of the probabilities, not |accuracy − precision|', async () => {
    const m = new NGramClassifier();
    await m.fit(trainSet.sequences, { y: trainSet.y });
    const proba = await m.predictProba(validation.map((s) => s.sequence));
    const metrics = await validationMetrics(m, validation);
    expect(metrics.ece).toBeLessThan(0.05);
    // Squash every probability towards 0.5: same ranking and labels at 0.5, far worse calibration.
    const squashed = {
      predictProba: async () => proba.map((p) => 0.5 + (p - 0.5) * 0.1),
      threshold: m.threshold,
    };
    const worse = await validationMetrics(squashed as unknown as NGramClassifier, validation);
    expect(worse.ece).toBeGreaterThan(0.3);
    expect(worse.rocAuc).toBeCloseTo(metrics.rocAuc!, 12);
  });

  it('writes a passing model to current/ and a failing one to candidates/, each with a metrics file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gate-'));
    const now = new Date('2026-01-02T03:04:05Z');
    const pass = await promoteModel(model, validation, { outputRoot: root, now });
    expect(pass.passed).toBe(true);
    expect(pass.destination).toBe('current');
    expect(pass.modelPath).toBe(join(root, 'current', 'ngram_model_20260102_030405'));
    const written = JSON.parse(await readFile(pass.metricsPath, 'utf8'));
    expect(written.passed).toBe(true);
    expect(written.metrics.ece).toBeCloseTo(pass.metrics.ece, 12);
    expect((await NGramClassifier.load(pass.modelPath)).predictOne(['read', 'process', 'write']).label).toBe(
      0,
    );

    const fail = await promoteModel(model, validation, {
      outputRoot: root,
      now,
      gate: { minAccuracy: 0.9999, maxEce: 0 },
    });
    expect(fail.passed).toBe(false);
    expect(fail.destination).toBe('candidates');
    expect((await readdir(join(root, 'candidates'))).sort()).toEqual([
      'ngram_metrics_20260102_030405.json',
      'ngram_model_20260102_030405',
    ]);
    await expect(promoteModel(model, validation, { outputRoot: root, name: '../x' })).rejects.toThrow(/name/);
  });
});
