import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryMetrics, expectedCalibrationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { NGramClassifier } from './ngram-classifier';
import { generateSyntheticSamples } from './synthetic';

const data = generateSyntheticSamples(2500, { seed: 11 });
const train = data.slice(0, 2000);
const validation = data.slice(2000);
const y = validation.map((s) => s.label);

describe('NGramClassifier', () => {
  const model = new NGramClassifier();
  const report = model.train(train, { epochs: 10, batchSize: 32 });

  it('learns weights by logistic regression and predicts accurately with calibrated probabilities', () => {
    expect(report.history).toHaveLength(10);
    expect(Object.keys(report.weights)).toEqual([
      'ngramRarity',
      'actionFrequency',
      'entropy',
      'patternDiversity',
    ]);
    const p = model.predictProba(validation.map((s) => s.sequence));
    const pred = validation.map((s) => model.predict(s).label);
    expect(binaryMetrics(y, pred).accuracy).toBeGreaterThan(0.95);
    expect(expectedCalibrationError(p, y).ece).toBeLessThan(0.05);
    expect(expectedCalibrationError(p, y, { mode: 'probability' }).ece).toBeLessThan(0.05);
  });

  it('predict returns label, score and the confidence of that label', () => {
    const r = model.predict(['delete', 'exfiltrate', 'cover_tracks']);
    expect(r.label).toBe(1);
    expect(r.confidence).toBe(r.score);
    const n = model.predict({ sequence: ['read', 'process', 'write'] });
    expect(n.label).toBe(0);
    expect(n.confidence).toBeCloseTo(1 - n.score, 15);
    expect(model.threshold.value).toBe(0.3);
  });

  it('beats the original weighting rule on the same data', () => {
    const original = new NGramClassifier({ weighting: 'original' });
    original.train(train);
    const acc = (m: NGramClassifier) =>
      binaryMetrics(
        y,
        validation.map((s) => m.predict(s).label),
      ).accuracy;
    expect(acc(model)).toBeGreaterThanOrEqual(acc(original));
  });

  it('fits a threshold on validation data with a core strategy, and refuses the test split', () => {
    const m = new NGramClassifier();
    m.train(train);
    expect(() => m.fitThreshold({ strategy: 'max-f1' }, validation, 'test' as never)).toThrow(/split/);
    const t = m.fitThreshold({ strategy: 'max-f1' }, validation, 'validation');
    expect(t.achieved?.f1).toBeGreaterThan(0.9);
    expect(m.threshold).toEqual(t);
  });

  it('validates its input, naming the field', () => {
    const m = new NGramClassifier();
    expect(() => m.train([{ sequence: ['a'], label: 0 }])).toThrow(/samples/);
    expect(() => m.train([{ sequence: ['a'], label: 2 as never }])).toThrow(/samples\[0\]\.label/);
    expect(() => m.train(train, { epochs: 0 })).toThrow(/epochs/);
    expect(() => m.predict(['a'])).toThrow(/train/);
    expect(() => new NGramClassifier({ anomalyThreshold: 2 })).toThrow(/params\.anomalyThreshold/);
  });

  it('save / load round-trips predictions; a tampered file names the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ngram-clf-'));
    const path = join(dir, 'model.json');
    await model.save(path);
    const loaded = await NGramClassifier.load(path);
    for (const s of validation.slice(0, 50)) expect(loaded.predict(s)).toEqual(model.predict(s));
    const text = await readFile(path, 'utf8');
    const f = JSON.parse(text);
    f.model.anomalousActions[3] = 'many';
    await writeFile(path, JSON.stringify(f));
    await expect(NGramClassifier.load(path)).rejects.toThrow(/model\.anomalousActions\[3\]/);
    const g = JSON.parse(text);
    g.model.combiner.weights[0] = 100;
    await writeFile(path, JSON.stringify(g));
    await expect(NGramClassifier.load(path)).rejects.toThrow(/sha256/);
  });
});
