import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryMetrics, expectedCalibrationError, loadArtifact, saveArtifact } from '@anomalia/core';
import { conformanceChecks } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { NGramClassifier, unzipLabelled } from './ngram-classifier';
import { generateSyntheticSamples } from './synthetic';

const data = generateSyntheticSamples(2500, { seed: 11 });
const train = unzipLabelled(data.slice(0, 2000));
const validationSamples = data.slice(2000);
const validation = unzipLabelled(validationSamples);
const y = validationSamples.map((s) => s.label);

describe('NGramClassifier: conformance', () => {
  const small = unzipLabelled(data.slice(0, 600));
  const test = unzipLabelled(data.slice(600, 900));
  for (const c of conformanceChecks({
    create: (seed) => new NGramClassifier({ seed, epochs: 5 }),
    load: NGramClassifier.load,
    supervised: true,
    data: {
      train: { X: small.sequences, y: small.y },
      test: { X: test.sequences, y: test.y },
      invalid: [{ name: 'a non-string token', X: [['read', 3 as never]], field: 'sequences[0][1]' }],
      invalidFit: [['read'], 'write' as never],
    },
  }))
    it(c.name, c.run);
});

describe('NGramClassifier', async () => {
  const model = new NGramClassifier({ epochs: 10, batchSize: 32 });
  const report = await model.fit(train.sequences, { y: train.y });

  it('learns weights by logistic regression and predicts accurately with calibrated probabilities', async () => {
    expect(report.history).toHaveLength(10);
    expect(report.samples).toBe(2000);
    expect(Object.keys(report.weights)).toEqual([
      'ngramRarity',
      'actionFrequency',
      'entropy',
      'patternDiversity',
    ]);
    const p = await model.predictProba(validation.sequences);
    expect(Array.from(p)).toEqual(Array.from(await model.score(validation.sequences)));
    const pred = await model.predict(validation.sequences);
    expect(Array.from(pred)).toEqual(validation.sequences.map((s) => model.predictOne(s).label));
    expect(binaryMetrics(y, pred).accuracy).toBeGreaterThan(0.95);
    expect(expectedCalibrationError(p, y).ece).toBeLessThan(0.05);
    expect(expectedCalibrationError(p, y, { mode: 'probability' }).ece).toBeLessThan(0.05);
  });

  it('predictOne returns label, score and the confidence of that label; the default threshold is anomalyThreshold', () => {
    const r = model.predictOne(['delete', 'exfiltrate', 'cover_tracks']);
    expect(r.label).toBe(1);
    expect(r.confidence).toBe(r.score);
    const n = model.predictOne(['read', 'process', 'write']);
    expect(n.label).toBe(0);
    expect(n.confidence).toBeCloseTo(1 - n.score, 15);
    expect(model.threshold).toMatchObject({ value: 0.3, split: 'none', strategy: { strategy: 'fixed' } });
  });

  it('beats the original weighting rule on the same data', async () => {
    const original = new NGramClassifier({ weighting: 'original' });
    await original.fit(train.sequences, { y: train.y });
    const acc = async (m: NGramClassifier) =>
      binaryMetrics(y, await m.predict(validation.sequences)).accuracy;
    expect(await acc(model)).toBeGreaterThanOrEqual(await acc(original));
  });

  it('fits a threshold on validation data with a core strategy, and refuses the test split', async () => {
    const m = new NGramClassifier();
    await m.fit(train.sequences, { y: train.y });
    await expect(
      m.fitThreshold({ strategy: 'max-f1' }, validation.sequences, {
        y: validation.y,
        split: 'test' as never,
      }),
    ).rejects.toThrow(/split/);
    const t = await m.fitThreshold({ strategy: 'max-f1' }, validation.sequences, {
      y: validation.y,
      split: 'validation',
    });
    expect(t.achieved?.f1).toBeGreaterThan(0.9);
    expect(m.threshold).toEqual(t);
  });

  it('calibrate re-fits the probability map on the raw combination', async () => {
    const m = new NGramClassifier();
    await m.fit(train.sequences, { y: train.y });
    const before = await m.score(validation.sequences);
    const c = await m.calibrate(validation.sequences, validation.y, 'isotonic');
    expect(m.calibrator).toBe(c);
    const after = await m.predictProba(validation.sequences);
    expect(Array.from(after)).not.toEqual(Array.from(before));
    expect(expectedCalibrationError(after, y).ece).toBeLessThan(0.05);
  });

  it('validates its input, naming the field', async () => {
    const m = new NGramClassifier();
    await expect(m.fit([['a']], { y: Float64Array.of(0) })).rejects.toThrow(
      /^y: expected at least two normal/,
    );
    await expect(m.fit([['a']], { y: Float64Array.of(2) })).rejects.toThrow(/y\[0\]/);
    await expect(m.fit([['a']])).rejects.toThrow(/^y: expected 0\/1 labels/);
    await expect(m.fit([['a']], { y: Float64Array.of(0, 1) })).rejects.toThrow(/y\.length/);
    expect(() => m.predictOne(['a'])).toThrow(/fit/);
    expect(() => new NGramClassifier({ anomalyThreshold: 2 })).toThrow(/params\.anomalyThreshold/);
    expect(() => new NGramClassifier({ epochs: 0 })).toThrow(/params\.epochs/);
  });

  it('save / load round-trips predictions; a tampered artifact names the file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ngram-clf-'));
    const path = join(dir, 'model');
    await model.save(path);
    const loaded = await NGramClassifier.load(path);
    for (const s of validation.sequences.slice(0, 50))
      expect(loaded.predictOne(s)).toEqual(model.predictOne(s));
    const text = await readFile(join(path, 'manifest.json'), 'utf8');
    const g = JSON.parse(text);
    g.state.combiner.weights[0] = 100;
    await writeFile(join(path, 'manifest.json'), JSON.stringify(g));
    await expect(NGramClassifier.load(path)).rejects.toMatchObject({
      file: 'manifest.json',
      field: 'digest',
    });
    await writeFile(join(path, 'manifest.json'), text);
    const resaved = async (edit: (a: Awaited<ReturnType<typeof loadArtifact>>) => void) => {
      const a = await loadArtifact(path);
      edit(a);
      const target = await mkdtemp(join(dir, 'bad-'));
      await saveArtifact(target, a);
      return NGramClassifier.load(target);
    };
    await expect(resaved((a) => (a.tensors.anomalousActions!.data[3] = -1))).rejects.toThrow(
      /tensors\.anomalousActions\[3\]/,
    );
    await expect(
      resaved((a) => ((a.state.combiner as { weights: unknown[] }).weights[1] = 'many')),
    ).rejects.toThrow(/state\.combiner\.weights\[1\]/);
    await expect(resaved((a) => (a.tensors['normalNgrams.parent']!.data[0] = 9))).rejects.toThrow(
      /tensors\.normalNgrams\.parent\[0\]/,
    );
  });
});
