import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactError,
  type Dataset,
  loadArtifact,
  Matrix,
  NotFittedError,
  ValidationError,
} from '@anomalia/core';
import { AutoEncoder, EnergyModel, VariationalAutoEncoder } from '@anomalia/neural';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDetector } from './detector';
import { buildOnnxModel } from './export';
import { exportOnnx, loadOnnxDetector } from './load';
import { adbench } from './test-support/data';
import { tinyModel } from './test-support/models';
import { decide } from './test-support/parity';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'anomalia-onnx-detector-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

let data: Dataset & { y: Float64Array };
beforeAll(async () => {
  data = await adbench('cardio');
});

describe.each([
  ['energy-model', () => new EnergyModel({ seed: 5, epochs: 4, learningRate: 1e-3 })],
  ['autoencoder', () => new AutoEncoder({ seed: 5, epochs: 4 })],
  ['variational-autoencoder', () => new VariationalAutoEncoder({ seed: 5, epochs: 4 })],
] as const)('%s round trip', (kind, create) => {
  it('export → load gives identical scores from the file, the artifact and a re-saved artifact', async () => {
    const model = create();
    await model.fit(data.X, {
      y: kind === 'energy-model' ? data.y : undefined,
      featureNames: data.featureNames,
    });
    // The energy model's threshold and calibrator are the caller's (the autoencoders' threshold is their default).
    if (model instanceof EnergyModel) await decide(model, data.X, data.y);
    expect(model.threshold).not.toBeNull();
    const root = await tmp();
    await model.save(join(root, 'neural'));
    const file = await exportOnnx(join(root, 'neural'), join(root, 'new', 'dir', 'model.onnx'));
    const dir = await exportOnnx(join(root, 'neural'), join(root, 'onnx'));
    expect(file.sha256).toBe(dir.sha256);
    expect(dir.manifest!.files['model.onnx']!.sha256).toBe(dir.sha256);
    expect(new Uint8Array(await readFile(file.path))).toEqual(
      new Uint8Array(await readFile(join(root, 'onnx', 'model.onnx'))),
    );

    const fromFile = await loadOnnxDetector(file.path);
    const fromDir = await loadOnnxDetector(dir.path);
    const scores = await fromFile.score(data.X);
    expect(await fromDir.score(data.X)).toEqual(scores);
    for (const d of [fromFile, fromDir]) {
      expect(d.params.source).toBe(kind);
      expect(d.featureNames).toEqual(data.featureNames);
      expect(d.threshold).toEqual(model.threshold);
      expect(d.calibrator?.toJSON() ?? null).toEqual(model.calibrator?.toJSON() ?? null);
      expect(d.model.sha256).toBe(file.sha256);
    }
    await fromDir.save(join(root, 'again'));
    const again = await loadOnnxDetector(join(root, 'again'));
    expect(await again.score(data.X)).toEqual(scores);
    expect(await again.predict(data.X)).toEqual(await fromFile.predict(data.X));
    for (const d of [fromFile, fromDir, again]) await d.close();
  });
});

describe('OnnxDetector', () => {
  let root: string;
  let model: EnergyModel;
  beforeAll(async () => {
    model = new EnergyModel({ seed: 6, epochs: 4, learningRate: 1e-3 });
    await model.fit(data.X, { y: data.y, featureNames: data.featureNames });
    await decide(model, data.X, data.y);
    root = await tmp();
    await model.save(join(root, 'neural'));
    await exportOnnx(join(root, 'neural'), join(root, 'onnx'));
  });

  it('scores the same in any batch size and with any thread setting', async () => {
    const reference = await loadOnnxDetector(join(root, 'onnx'));
    const scores = await reference.score(data.X);
    for (const options of [
      { batchSize: 1 },
      { batchSize: 7 },
      { batchSize: 100_000 },
      { session: { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' as const } },
      { session: { intraOpNumThreads: 2, interOpNumThreads: 2, executionMode: 'parallel' as const } },
      { session: { graphOptimizationLevel: 'disabled' as const } },
    ]) {
      const d = await loadOnnxDetector(join(root, 'onnx'), options);
      const s = await d.score(data.X);
      s.forEach((v, i) => {
        expect(Math.abs(v - scores[i]!)).toBeLessThanOrEqual(1e-6);
      });
      await d.close();
    }
    expect(await reference.score(new Matrix(0, data.X.cols))).toEqual(new Float64Array(0));
    await reference.close();
  });

  it('refuses bad options, naming them', async () => {
    await expect(loadOnnxDetector(join(root, 'onnx'), { batchSize: 0 })).rejects.toThrow(
      /^options\.batchSize: /,
    );
    await expect(
      loadOnnxDetector(join(root, 'onnx'), { session: { intraOpNumThreads: -1 } }),
    ).rejects.toThrow(/^options\.session\.intraOpNumThreads: /);
    await expect(loadOnnxDetector(join(root, 'onnx'), { session: { threads: 2 } } as never)).rejects.toThrow(
      'options.session.threads: expected no such key',
    );
    await expect(
      loadOnnxDetector(join(root, 'onnx'), { featureNames: data.featureNames.toReversed() }),
    ).rejects.toThrow(ValidationError);
  });

  it('validates the rows it scores', async () => {
    const d = await loadOnnxDetector(join(root, 'onnx'));
    await expect(d.score(new Matrix(2, 3))).rejects.toThrow(`X.cols: expected ${data.X.cols}`);
    const inf = new Matrix(2, data.X.cols);
    inf.data[data.X.cols + 1] = Number.POSITIVE_INFINITY;
    await expect(d.score(inf)).rejects.toThrow('X[1][1]: expected a finite number, received Infinity');
    await d.close();
    await expect(d.score(data.X)).rejects.toThrow('session: expected an open session');
  });

  it('cannot be fitted, but its threshold and calibration can, and they are saved', async () => {
    const d = await loadOnnxDetector(join(root, 'onnx'));
    await expect(d.fit()).rejects.toThrow(ValidationError);
    const t = await d.fitThreshold({ strategy: 'target-fpr', fpr: 0.05 }, data.X, {
      y: data.y,
      split: 'calibration',
    });
    expect(d.threshold).toBe(t);
    const c = await d.calibrate(data.X, data.y, 'isotonic');
    expect(c.method).toBe('isotonic');
    const p = await d.predictProba(data.X);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    await d.save(join(root, 'recalibrated'));
    const again = await loadOnnxDetector(join(root, 'recalibrated'));
    expect(again.threshold).toEqual(t);
    expect(await again.predictProba(data.X)).toEqual(p);
    // An explicit threshold overrides the stored one.
    const fixed = await loadOnnxDetector(join(root, 'recalibrated'), { threshold: 0.5 });
    expect(fixed.threshold!.value).toBe(0.5);
    for (const x of [d, again, fixed]) await x.close();
  });

  it('needs a threshold to predict and a calibrator for probabilities', async () => {
    const d = await OnnxDetector.fromBytes(tinyModel({ features: 3 }));
    const X = new Matrix(2, 3, Float64Array.from([1, 1, 1, 0, 0, -1]));
    expect(Array.from(await d.score(X))).toEqual([6, -3]);
    await expect(d.predict(X)).rejects.toThrow(NotFittedError);
    await expect(d.predict(X)).rejects.toThrow(
      /^onnx: no threshold: pass options\.threshold, call fitThreshold\(\)/,
    );
    await expect(d.predictProba(X)).rejects.toThrow(NotFittedError);
    await expect(d.predictProba(X)).rejects.toThrow(/^onnx: predictProba\(\) needs a calibrator/);
    d.setThreshold({ value: 0, strategy: { strategy: 'fixed', value: 0 }, split: 'none', n: 0 });
    expect(Array.from(await d.predict(X))).toEqual([1, 0]);
    await d.close();
  });

  it('scores a model with a fixed batch of 1 row by row', async () => {
    const d = await OnnxDetector.fromBytes(tinyModel({ features: 2, inputs: [{ name: 'x', dims: [1, 2] }] }));
    expect(d.model.fixedBatch).toBe(1);
    expect(Array.from(await d.score(new Matrix(3, 2, Float64Array.from([1, 0, 0, 1, 2, 2]))))).toEqual([
      1, 2, 6,
    ]);
    await d.close();
  });

  it('needs feature names for a model of symbolic width', async () => {
    const bytes = tinyModel({ features: 3, inputs: [{ name: 'x', dims: ['N', 'd'] }] });
    await expect(OnnxDetector.fromBytes(bytes, {}, 'w.onnx')).rejects.toThrow(
      'options.featureNames: expected the feature names: input "x" of w.onnx has a symbolic width',
    );
    const d = await OnnxDetector.fromBytes(bytes, { featureNames: ['a', 'b', 'c'] });
    expect(d.inputDimension).toBe(3);
    await d.close();
  });

  it('reports a graph onnxruntime refuses as an error naming the file', async () => {
    const broken = tinyModel({ edit: (m) => (m.graph!.node![0]!.input = ['x', 'no_such_value']) });
    await expect(OnnxDetector.fromBytes(broken, {}, 'broken.onnx')).rejects.toThrow(
      /^broken\.onnx: \(session\): onnxruntime refused the model: /,
    );
  });

  it('refuses tampered, truncated, oversized and mislabelled files with errors naming them', async () => {
    const dir = join(root, 'tampered');
    await exportOnnx(join(root, 'neural'), dir);
    const path = join(dir, 'model.onnx');
    const bytes = new Uint8Array(await readFile(path));
    bytes[bytes.length - 100]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(loadOnnxDetector(dir)).rejects.toThrow(
      'model.onnx: files.model.onnx.sha256: checksum mismatch: the file was modified after it was saved',
    );
    await writeFile(path, bytes.subarray(0, 1000));
    await expect(loadOnnxDetector(dir)).rejects.toThrow(
      /^model\.onnx: files\.model\.onnx\.bytes: expected \d+ bytes, found 1000/,
    );

    const file = join(root, 'truncated.onnx');
    await writeFile(file, bytes.subarray(0, 1000));
    const e = await loadOnnxDetector(file).catch((x) => x);
    expect(e).toBeInstanceOf(ArtifactError);
    expect(e.message).toMatch(new RegExp(`^${file}: \\(protobuf\\): not an ONNX ModelProto`));
    await expect(loadOnnxDetector(join(root, 'onnx'), { maxBytes: 1000 })).rejects.toThrow(
      /model\.onnx: \(file\): \d+ bytes is above the size limit of 1000 bytes/,
    );
    await expect(loadOnnxDetector(join(root, 'neural'))).rejects.toThrow(
      'manifest.json: kind: expected "onnx", found "energy-model": export it to ONNX first (exportOnnx(dir, out))',
    );
    await expect(loadOnnxDetector(join(root, 'missing.onnx'))).rejects.toThrow(
      /missing\.onnx: \(file\): cannot read: ENOENT/,
    );
    await expect(loadOnnxDetector(root)).rejects.toThrow(/manifest\.json: \(file\): missing/);
  });

  it('refuses an artifact whose manifest disagrees with its model', async () => {
    const artifact = await loadArtifact(join(root, 'onnx'));
    await expect(
      OnnxDetector.fromArtifact({ ...artifact, state: { ...artifact.state, nFeatures: 3 } }),
    ).rejects.toThrow(
      `manifest.json: state.nFeatures: expected ${data.X.cols} (the model's input width), found 3`,
    );
    await expect(
      OnnxDetector.fromArtifact({ ...artifact, state: { ...artifact.state, inputName: 7 } }),
    ).rejects.toThrow(/^manifest\.json: state\.inputName: /);
    await expect(OnnxDetector.fromArtifact({ ...artifact, files: {} })).rejects.toThrow(
      'manifest.json: files.model.onnx: missing',
    );
    await expect(OnnxDetector.fromArtifact({ ...artifact, kind: 'autoencoder' })).rejects.toThrow(
      'manifest.json: kind: expected "onnx", found "autoencoder"',
    );
    await expect(
      OnnxDetector.fromArtifact({ ...artifact, calibrator: { method: 'isotonic', x: [0, 1], y: [0.5] } }),
    ).rejects.toThrow(/^manifest\.json: calibrator\.y: expected as many knots/);
  });

  it('refuses malformed Anomalia metadata, naming the key', async () => {
    const bytes = buildOnnxModel(await loadArtifact(join(root, 'neural')));
    const { decodeModel, encodeModel } = await import('./proto');
    const m = decodeModel(bytes);
    m.metadata_props!.find((p) => p.key === 'anomalia.threshold')!.value = '{"value": "high"}';
    await expect(OnnxDetector.fromBytes(encodeModel(m), {}, 'meta.onnx')).rejects.toThrow(
      /^meta\.onnx: metadata_props\["anomalia\.threshold"\]: /,
    );
    m.metadata_props!.find((p) => p.key === 'anomalia.threshold')!.value = '{"__proto__": {}}';
    await expect(OnnxDetector.fromBytes(encodeModel(m), {}, 'meta.onnx')).rejects.toThrow(/__proto__/);
    m.metadata_props!.find((p) => p.key === 'anomalia.threshold')!.value = JSON.stringify(model.threshold);
    // Core's checks beyond the schema: isotonic knots in pairs, one positive scale per column.
    m.metadata_props!.find((p) => p.key === 'anomalia.calibrator')!.value =
      '{"method": "isotonic", "x": [0, 1], "y": [0.5]}';
    await expect(OnnxDetector.fromBytes(encodeModel(m), {}, 'meta.onnx')).rejects.toThrow(
      /^meta\.onnx: metadata_props\["anomalia\.calibrator"\]: calibrator\.y: expected as many knots as calibrator\.x \(2\)/,
    );
    m.metadata_props!.find((p) => p.key === 'anomalia.calibrator')!.value = JSON.stringify(
      model.calibrator!.toJSON(),
    );
    const scaler = model.scaler!.toJSON();
    m.metadata_props!.find((p) => p.key === 'anomalia.scaler')!.value = JSON.stringify({
      ...scaler,
      scale: scaler.scale.map((v, j) => (j === 2 ? 0 : v)),
    });
    await expect(OnnxDetector.fromBytes(encodeModel(m), {}, 'meta.onnx')).rejects.toThrow(
      /^meta\.onnx: metadata_props\["anomalia\.scaler"\]: scaler\.scale: expected positive scales/,
    );
  });
});
