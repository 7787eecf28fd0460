import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError, loadArtifact, saveArtifact } from '@anomalia/core';
import { conformanceChecks } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { NGramClassifier } from './ngram-classifier';
import { SequenceAnomalyDetector } from './sequence-detector';
import { generateSyntheticSamples } from './synthetic';

const samples = generateSyntheticSamples(600, { seed: 3 });
const normal = samples.filter((s) => s.label === 0).map((s) => s.sequence);
const anomalous = samples.filter((s) => s.label === 1).map((s) => s.sequence);
const train = normal.slice(0, 250);
const calibration = normal.slice(250, 330);
const calLabels = [...calibration.map(() => 0), ...anomalous.slice(0, 40).map(() => 1)];
const calSeqs = [...calibration, ...anomalous.slice(0, 40)];

describe('SequenceAnomalyDetector: conformance', () => {
  const test = [...normal.slice(330, 430), ...anomalous.slice(40, 80)];
  for (const mode of ['language-model', 'stide'] as const) {
    for (const c of conformanceChecks({
      create: () => new SequenceAnomalyDetector({ mode, order: 3, window: 3 }),
      load: SequenceAnomalyDetector.load,
      data: {
        train: { X: train, y: new Float64Array(train.length) },
        test: { X: test, y: Float64Array.from(test, (_, i) => (i < 100 ? 0 : 1)) },
        invalid: [
          { name: 'a non-string token', X: [['read'], ['write', 7 as never]], field: 'sequences[1][1]' },
          { name: 'a sequence that is not an array', X: ['read write' as never], field: 'sequences[0]' },
        ],
        invalidFit: [],
      },
    }))
      it(`${mode}: ${c.name}`, c.run);
  }
});

describe('SequenceAnomalyDetector', () => {
  for (const mode of ['language-model', 'stide'] as const) {
    it(`${mode}: anomalies score higher than held-out normals`, async () => {
      const d = new SequenceAnomalyDetector({ mode, order: 3, window: 3 });
      const report = await d.fit(train);
      expect(report.sequences).toBe(250);
      expect(report.seconds).toBeGreaterThanOrEqual(0);
      const sn = await d.score(normal.slice(330));
      const sa = await d.score(anomalous.slice(40));
      const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
      expect(mean(sa)).toBeGreaterThan(mean(sn) + 0.1);
      expect(d.scoreOne(anomalous[40]!)).toBe(sa[0]);
    });
  }

  it('thresholds come from a non-test split and drive predict; calibration gives probabilities', async () => {
    const d = new SequenceAnomalyDetector({ order: 3 });
    await d.fit(train);
    expect(d.threshold).toBeNull();
    await expect(d.predict(calibration)).rejects.toThrow(/threshold/);
    await expect(
      d.fitThreshold({ strategy: 'target-fpr', fpr: 0.05 }, calibration, { split: 'test' as never }),
    ).rejects.toThrow(/threshold\.split/);
    const t = await d.fitThreshold({ strategy: 'target-fpr', fpr: 0.05 }, calibration, {
      split: 'calibration',
    });
    expect(t.split).toBe('calibration');
    const flagged = (await d.predict(calibration)).reduce((a, b) => a + b, 0);
    expect(flagged / calibration.length).toBeLessThanOrEqual(0.05);
    await expect(d.predictProba(calibration)).rejects.toThrow(/calibrate/);
    await d.calibrate(calSeqs, calLabels, 'isotonic');
    const p = await d.predictProba([...normal.slice(400, 420), ...anomalous.slice(100, 120)]);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(p.slice(20).reduce((a, b) => a + b, 0)).toBeGreaterThan(p.slice(0, 20).reduce((a, b) => a + b, 0));
  });

  it('max aggregate is at least the mean', async () => {
    const mean = new SequenceAnomalyDetector({ order: 3, aggregate: 'mean' });
    const max = new SequenceAnomalyDetector({ order: 3, aggregate: 'max' });
    await mean.fit(train);
    await max.fit(train);
    const a = await mean.score(anomalous.slice(0, 20));
    const b = await max.score(anomalous.slice(0, 20));
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeGreaterThanOrEqual(a[i]!);
  });

  it('validates parameters and inputs, naming the field', async () => {
    expect(() => new SequenceAnomalyDetector({ order: 0 })).toThrow(/params\.order/);
    expect(() => new SequenceAnomalyDetector({ mode: 'lstm' as never })).toThrow(/params\.mode/);
    const d = new SequenceAnomalyDetector();
    await expect(d.score([['a']])).rejects.toThrow(/fit/);
    expect(() => d.scoreOne(['a'])).toThrow(/fit/);
    await expect(d.fit([])).rejects.toThrow(/sequences/);
    await expect(d.fit([['a', 3 as never]])).rejects.toThrow(/sequences\[0\]\[1\]/);
  });

  it('save / load round-trips scores, threshold and calibrator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-detector-'));
    for (const mode of ['language-model', 'stide'] as const) {
      const d = new SequenceAnomalyDetector({ mode, order: 4, smoothing: 'kneser-ney' });
      await d.fit(train);
      await d.fitThreshold({ strategy: 'target-fpr', fpr: 0.1 }, calibration, { split: 'calibration' });
      await d.calibrate(calSeqs, calLabels);
      const path = join(dir, mode);
      const manifest = await d.save(path);
      expect(manifest.kind).toBe('sequence-detector');
      expect(manifest.tensors['ngrams.parent']?.dtype).toBe('int32');
      const loaded = await SequenceAnomalyDetector.load(path);
      const probe = [...anomalous.slice(0, 10), ...normal.slice(400, 410), ['never', 'seen']];
      expect(Array.from(await loaded.score(probe))).toEqual(Array.from(await d.score(probe)));
      expect(Array.from(await loaded.predictProba(probe))).toEqual(Array.from(await d.predictProba(probe)));
      expect(loaded.threshold).toEqual(d.threshold);
      expect(loaded.params).toEqual(d.params);
      expect(loaded.vocabularySize).toBe(d.vocabularySize);
    }
  });

  it('a tampered or corrupt artifact is a clear error naming the file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-tamper-'));
    const d = new SequenceAnomalyDetector({ order: 3 });
    await d.fit(train);
    const path = join(dir, 'model');
    await d.save(path);
    const manifestPath = join(path, 'manifest.json');
    const original = await readFile(manifestPath, 'utf8');
    // Edits to the manifest (parameters, vocabulary) or to the weights are caught by the digests.
    const edited = JSON.parse(original);
    edited.params.order = 4;
    await writeFile(manifestPath, JSON.stringify(edited));
    await expect(SequenceAnomalyDetector.load(path)).rejects.toMatchObject({ field: 'digest' });
    await writeFile(manifestPath, original);
    const weights = await readFile(join(path, 'weights.bin'));
    weights[8] = weights[8]! ^ 1;
    await writeFile(join(path, 'weights.bin'), weights);
    await expect(SequenceAnomalyDetector.load(path)).rejects.toThrow(/files\.weights\.bin\.sha256/);
    await d.save(path);
    await expect(NGramClassifier.load(path)).rejects.toThrow(
      /kind: expected "ngram-classifier", found "sequence-detector"/,
    );
    await expect(SequenceAnomalyDetector.load(join(dir, 'missing'))).rejects.toThrow(/cannot read/);

    // Consistent checksums over impossible content: caught by the checks behind them.
    const resaved = async (edit: (a: Awaited<ReturnType<typeof loadArtifact>>) => void) => {
      const a = await loadArtifact(path);
      edit(a);
      const target = await mkdtemp(join(dir, 'bad-'));
      await saveArtifact(target, a);
      return SequenceAnomalyDetector.load(target);
    };
    await expect(resaved((a) => (a.tensors['ngrams.parent']!.data[0] = 5))).rejects.toThrow(
      /tensors\.ngrams\.parent\[0\]/,
    );
    await expect(resaved((a) => (a.tensors['ngrams.token']!.data[1] = 10_000))).rejects.toThrow(
      /tensors\.ngrams\.token\[1\]/,
    );
    await expect(resaved((a) => (a.tensors['ngrams.count']!.data[2] = -5))).rejects.toThrow(
      /tensors\.ngrams\.count\[2\]/,
    );
    await expect(resaved((a) => (a.state.vocabulary = ['read', 'read']))).rejects.toThrow(
      /state\.vocabulary\[1\]: expected tokens without duplicates/,
    );
    await expect(resaved((a) => delete a.state.vocabulary)).rejects.toThrow(/state\.vocabulary/);
    await expect(resaved((a) => (a.params.order = 'eight'))).rejects.toThrow(/params\.order/);
    // A language-model table holding "x never" without "never" cannot come from counting.
    await expect(
      resaved((a) => {
        const vocabulary = a.state.vocabulary as string[];
        vocabulary.push('never');
        const grow = (name: string, value: number) => {
          const t = a.tensors[name]!;
          t.data = Int32Array.from([...(t.data as Int32Array), value]);
          t.shape = [t.data.length];
        };
        grow('ngrams.parent', 1);
        grow('ngrams.token', vocabulary.length + 2); // ids 0–2 are reserved
        grow('ngrams.count', 1);
      }),
    ).rejects.toThrow(/weights\.bin: ngrams: expected a suffix-closed n-gram table/);
  });

  it('refuses a single-file model of version 0.1 with a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-legacy-'));
    const file = join(dir, 'model.json');
    await writeFile(
      file,
      '{"format":"anomalia-sequence-model","formatVersion":1,"kind":"sequence-detector"}',
    );
    await expect(SequenceAnomalyDetector.load(file)).rejects.toBeInstanceOf(ArtifactError);
    await expect(SequenceAnomalyDetector.load(file)).rejects.toThrow(
      /not an artifact directory.*fit the model again/,
    );
  });
});
