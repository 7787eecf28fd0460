import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix } from '@anomalia/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxDetector } from './detector';
import { loadOnnxDetector } from './load';

/** Made by scripts/make_torch_fixture.py (PyTorch's MosaiqEBM, exported with torch.onnx.export). */
const MODEL = new URL('../fixtures/torch-ebm.onnx', import.meta.url).pathname;
interface Fixture {
  torch_version: string;
  opset: number;
  input_name: string;
  output_name: string;
  feature_names: string[];
  rows: number[][];
  energies: number[];
}

describe('a model exported from PyTorch', () => {
  let fixture: Fixture;
  let X: Matrix;
  let detector: OnnxDetector;
  const dirs: string[] = [];

  beforeAll(async () => {
    fixture = JSON.parse(await readFile(new URL('../fixtures/torch-ebm.json', import.meta.url), 'utf8'));
    X = new Matrix(fixture.rows.length, fixture.feature_names.length, Float64Array.from(fixture.rows.flat()));
    detector = await loadOnnxDetector(MODEL, {
      featureNames: fixture.feature_names,
      threshold: 1.2,
      session: { intraOpNumThreads: 1 },
    });
  });
  afterAll(async () => {
    await detector.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is recognised as a foreign row scorer', () => {
    expect(detector.model).toMatchObject({
      producer: { name: 'pytorch' },
      opset: fixture.opset,
      input: { name: fixture.input_name, type: 'float32', dims: ['N', 74] },
      scoreOutput: { name: fixture.output_name, dims: ['N', 1] },
    });
    expect(detector.metadata).toBeNull();
    expect(detector.params.source).toBe('external');
    expect(detector.featureNames).toEqual(fixture.feature_names);
    expect(detector.threshold).toMatchObject({ value: 1.2, strategy: { strategy: 'fixed' }, split: 'none' });
  });

  it('gives the energies PyTorch gave', async () => {
    const scores = await detector.score(X);
    expect(scores).toHaveLength(fixture.energies.length);
    let maxAbs = 0;
    scores.forEach((s, i) => {
      maxAbs = Math.max(maxAbs, Math.abs(s - fixture.energies[i]!));
    });
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
    // Scored row by row, in small batches or all at once: the same energies.
    const rowByRow = await loadOnnxDetector(MODEL, { featureNames: fixture.feature_names, batchSize: 1 });
    expect(await rowByRow.score(X)).toEqual(scores);
    await rowByRow.close();
  });

  it('predicts with the given threshold and keeps it through an artifact', async () => {
    const scores = await detector.score(X);
    const predicted = await detector.predict(X);
    expect(Array.from(predicted)).toEqual(Array.from(scores, (s) => (s > 1.2 ? 1 : 0)));
    expect(predicted.some((p) => p === 1) && predicted.some((p) => p === 0)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'anomalia-onnx-torch-'));
    dirs.push(dir);
    const manifest = await detector.save(dir);
    expect(manifest.kind).toBe('onnx');
    expect(manifest.files['model.onnx']!.sha256).toBe(detector.model.sha256);
    const again = await loadOnnxDetector(dir);
    expect(again.featureNames).toEqual(fixture.feature_names);
    expect(again.threshold).toEqual(detector.threshold);
    expect(await again.score(X)).toEqual(scores);
    await again.close();
  });

  it('needs feature names of the right length, and refuses a different file when pinned', async () => {
    await expect(loadOnnxDetector(MODEL, { featureNames: ['a', 'b'] })).rejects.toThrow(
      'options.featureNames: expected 74 names (the width of input "features")',
    );
    const sha256 = detector.model.sha256;
    const pinned = await loadOnnxDetector(MODEL, { sha256 });
    await pinned.close();
    await expect(loadOnnxDetector(MODEL, { sha256: '0'.repeat(64) })).rejects.toThrow(
      `${MODEL}: sha256: checksum mismatch: expected ${'0'.repeat(64)}, found ${sha256}`,
    );
  });
});
