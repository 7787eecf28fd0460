import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFileText } from './model-file';
import { SequenceAnomalyDetector } from './sequence-detector';
import { generateSyntheticSamples } from './synthetic';

const samples = generateSyntheticSamples(600, { seed: 3 });
const normal = samples.filter((s) => s.label === 0).map((s) => s.sequence);
const anomalous = samples.filter((s) => s.label === 1).map((s) => s.sequence);
const train = normal.slice(0, 250);
const calibration = normal.slice(250, 330);
const calLabels = [...calibration.map(() => 0), ...anomalous.slice(0, 40).map(() => 1)];
const calSeqs = [...calibration, ...anomalous.slice(0, 40)];

describe('SequenceAnomalyDetector', () => {
  for (const mode of ['language-model', 'stide'] as const) {
    it(`${mode}: anomalies score higher than held-out normals`, () => {
      const d = new SequenceAnomalyDetector({ mode, order: 3, window: 3 });
      const report = d.fit(train);
      expect(report.sequences).toBe(250);
      const sn = d.score(normal.slice(330));
      const sa = d.score(anomalous.slice(40));
      const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
      expect(mean(sa)).toBeGreaterThan(mean(sn) + 0.1);
    });
  }

  it('thresholds come from a non-test split and drive predict; calibration gives probabilities', () => {
    const d = new SequenceAnomalyDetector({ order: 3 });
    d.fit(train);
    expect(() => d.predict(calibration)).toThrow(/threshold/);
    expect(() =>
      d.fitThreshold({ strategy: 'target-fpr', fpr: 0.05 }, calibration, { split: 'test' as never }),
    ).toThrow(/threshold\.split/);
    const t = d.fitThreshold({ strategy: 'target-fpr', fpr: 0.05 }, calibration, { split: 'calibration' });
    expect(t.split).toBe('calibration');
    const flagged = d.predict(calibration).reduce((a, b) => a + b, 0);
    expect(flagged / calibration.length).toBeLessThanOrEqual(0.05);
    expect(() => d.predictProba(calibration)).toThrow(/calibrate/);
    d.calibrate(calSeqs, calLabels, 'isotonic');
    const p = d.predictProba([...normal.slice(400, 420), ...anomalous.slice(100, 120)]);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(p.slice(20).reduce((a, b) => a + b, 0)).toBeGreaterThan(p.slice(0, 20).reduce((a, b) => a + b, 0));
  });

  it('max aggregate is at least the mean', () => {
    const mean = new SequenceAnomalyDetector({ order: 3, aggregate: 'mean' });
    const max = new SequenceAnomalyDetector({ order: 3, aggregate: 'max' });
    mean.fit(train);
    max.fit(train);
    const a = mean.score(anomalous.slice(0, 20));
    const b = max.score(anomalous.slice(0, 20));
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeGreaterThanOrEqual(a[i]!);
  });

  it('validates parameters and inputs, naming the field', () => {
    expect(() => new SequenceAnomalyDetector({ order: 0 })).toThrow(/params\.order/);
    expect(() => new SequenceAnomalyDetector({ mode: 'lstm' as never })).toThrow(/params\.mode/);
    const d = new SequenceAnomalyDetector();
    expect(() => d.score([['a']])).toThrow(/fit/);
    expect(() => d.fit([])).toThrow(/sequences/);
    expect(() => d.fit([['a', 3 as never]])).toThrow(/sequences\[0\]\[1\]/);
  });

  it('save / load round-trips scores, threshold and calibrator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-detector-'));
    for (const mode of ['language-model', 'stide'] as const) {
      const d = new SequenceAnomalyDetector({ mode, order: 4, smoothing: 'kneser-ney' });
      d.fit(train);
      d.fitThreshold({ strategy: 'target-fpr', fpr: 0.1 }, calibration, { split: 'calibration' });
      d.calibrate(calSeqs, calLabels);
      const path = join(dir, `${mode}.json`);
      await d.save(path);
      const loaded = await SequenceAnomalyDetector.load(path);
      const probe = [...anomalous.slice(0, 10), ...normal.slice(400, 410), ['never', 'seen']];
      expect(Array.from(loaded.score(probe))).toEqual(Array.from(d.score(probe)));
      expect(Array.from(loaded.predictProba(probe))).toEqual(Array.from(d.predictProba(probe)));
      expect(loaded.threshold).toEqual(d.threshold);
      expect(loaded.params).toEqual(d.params);
    }
  });

  it('a tampered or corrupt file is a clear error naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-tamper-'));
    const d = new SequenceAnomalyDetector({ order: 3 });
    d.fit(train);
    const path = join(dir, 'model.json');
    await d.save(path);
    const original = JSON.parse(await readFile(path, 'utf8'));
    // biome-ignore lint/suspicious/noExplicitAny: the test edits arbitrary JSON fields
    const tamper = async (edit: (f: { model: Record<string, any> }) => void) => {
      const f = structuredClone(original);
      edit(f);
      await writeFile(path, JSON.stringify(f));
      return SequenceAnomalyDetector.load(path);
    };
    await expect(tamper((f) => (f.model.ngrams.count[2] = -5))).rejects.toThrow(/model\.ngrams\.count\[2\]/);
    await expect(tamper((f) => (f.model.params.order = 'eight'))).rejects.toThrow(/model\.params\.order/);
    await expect(tamper((f) => delete f.model.vocabulary)).rejects.toThrow(/model\.vocabulary/);
    await expect(tamper((f) => (f.model.ngrams.count[2] += 1))).rejects.toThrow(/sha256.*modified/);
    await expect(tamper((f) => ((f as Record<string, unknown>).kind = 'ngram-classifier'))).rejects.toThrow(
      /kind/,
    );
    await writeFile(path, '{"format": "anomalia-sequence-model", "model": [1, 2');
    await expect(SequenceAnomalyDetector.load(path)).rejects.toThrow(/not valid JSON/);
    await expect(SequenceAnomalyDetector.load(join(dir, 'missing.json'))).rejects.toThrow(/cannot read/);
    // Consistent checksum but impossible structure: caught by the semantic checks.
    const bad = structuredClone(original.model);
    bad.ngrams.parent[0] = 5;
    await writeFile(path, modelFileText('sequence-detector', bad));
    await expect(SequenceAnomalyDetector.load(path)).rejects.toThrow(/model\.ngrams\.parent\[0\]/);
    const badToken = structuredClone(original.model);
    badToken.ngrams.token[1] = 10_000;
    await writeFile(path, modelFileText('sequence-detector', badToken));
    await expect(SequenceAnomalyDetector.load(path)).rejects.toThrow(/model\.ngrams\.token\[1\]/);
    // A language-model table holding "x never" without "never" cannot come from counting.
    const unclosed = structuredClone(original.model);
    unclosed.vocabulary.push('never');
    unclosed.ngrams.parent.push(1);
    unclosed.ngrams.token.push(unclosed.vocabulary.length + 2); // ids 0–2 are reserved
    unclosed.ngrams.count.push(1);
    await writeFile(path, modelFileText('sequence-detector', unclosed));
    await expect(SequenceAnomalyDetector.load(path)).rejects.toThrow(/model\.ngrams: .*suffix-closed/);
  });
});
