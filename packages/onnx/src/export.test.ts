import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadArtifact,
  Matrix,
  MinMaxScaler,
  NotFittedError,
  StandardScaler,
  saveArtifact,
} from '@anomalia/core';
import {
  AutoEncoder,
  ConditionalVAE,
  EnergyModel,
  oneHotConditions,
  VariationalAutoEncoder,
} from '@anomalia/neural';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDetector } from './detector';
import { buildOnnxModel, EXPORT_OPSET } from './export';
import { inspectOnnxModel } from './inspect';
import { exportOnnx, loadOnnxDetector } from './load';
import { METADATA_KEYS, readAnomaliaMetadata } from './metadata';
import { decodeModel } from './proto';
import { ADBENCH_SETS, adbench, mosaiqClinic } from './test-support/data';
import { cleanUp, decide, MODELS, type ParityResult, parity } from './test-support/parity';

/**
 * Float32 scores carry about 7 significant digits: above 1 the tolerance is relative (an
 * autoencoder's error on an outlier reaches ~100, where one float32 step is 7.6e-6).
 */
const TOLERANCE = 1e-5;
function expectParity(r: ParityResult): void {
  for (let i = 0; i < r.tfjs.length; i++) {
    const allowed = TOLERANCE * Math.max(1, Math.abs(r.tfjs[i]!));
    if (Math.abs(r.tfjs[i]! - r.onnx[i]!) > allowed) {
      throw new Error(`row ${i}: tfjs ${r.tfjs[i]} vs onnx ${r.onnx[i]} (allowed ${allowed})`);
    }
  }
}

const sets = [
  ...ADBENCH_SETS.map((name) => ({ name, load: () => adbench(name) })),
  { name: 'mosaiq-qa74 (synthetic clinic, corrupted)', load: async () => mosaiqClinic() },
];

describe.each(sets)('exported models score as tfjs on $name', ({ load }) => {
  let data: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    data = await load();
  });

  it.each(MODELS)('%s', async (kind) => {
    const r = await parity(kind, data);
    try {
      expect(r.rows).toBe(data.X.rows);
      expectParity(r);
      // The energy stays near the 0–3 severity scale: there the absolute bound holds as asked.
      if (kind === 'energy-model') expect(r.maxAbs).toBeLessThanOrEqual(TOLERANCE);
      // Same decisions except where a score sits within the tolerance of the threshold.
      const t = r.source.threshold!.value;
      expect(r.detector.threshold).toEqual(r.source.threshold);
      const onnxPred = await r.detector.predict(data.X);
      const tfjsPred = await r.source.predict(data.X);
      onnxPred.forEach((p, i) => {
        if (p !== tfjsPred[i])
          expect(Math.abs(r.tfjs[i]! - t)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, t));
      });
      if (r.source.calibrator) {
        const a = await r.source.predictProba(data.X);
        const b = await r.detector.predictProba(data.X);
        a.forEach((p, i) => {
          expect(Math.abs(p - b[i]!)).toBeLessThanOrEqual(1e-5);
        });
      }
    } finally {
      await cleanUp(r);
    }
  });
});

describe('export', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'anomalia-onnx-export-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('folds the saved scaler into the graph: each scaler parameter, clipping, NaN imputation', async () => {
    const data = await adbench('cardio');
    const X = data.X;
    // The model's own scaler parameter: fitted on the training rows, saved in the artifact.
    const byParam = (['standard', 'robust', 'minmax', 'none'] as const).map((scaler) => async () => {
      const model = new AutoEncoder({ seed: 2, epochs: 3, scaler });
      await model.fit(X, { featureNames: data.featureNames });
      const dir = await tmp();
      await model.save(dir);
      return { model, dir };
    });
    // Scaler states no parameter value fits (a clipping [-1, 1] min-max, NaN imputation), as
    // another producer of the format may save them: the network is trained on the rows that
    // scaler gives, and the artifact carries the fitted scaler for its scaler parameter.
    const byState = [
      () => new MinMaxScaler({ featureRange: [-1, 1], clip: true }),
      () => new StandardScaler({ nanPolicy: 'impute' }),
    ].map((make) => async () => {
      const scaler = make();
      const trained = new AutoEncoder({ seed: 2, epochs: 3, scaler: 'none' });
      await trained.fit(scaler.fitTransform(X), { featureNames: data.featureNames });
      const first = await tmp();
      await trained.save(first);
      const { manifest: _, ...a } = await loadArtifact(first);
      const dir = await tmp();
      await saveArtifact(dir, {
        ...a,
        params: { ...a.params, scaler: scaler.kind },
        scaler: scaler.toJSON(),
      });
      return { model: await AutoEncoder.load(dir), dir };
    });
    // Rows far outside the training range exercise the clipping.
    const wide = new Matrix(
      X.rows,
      X.cols,
      X.data.map((v, k) => (k % 7 === 0 ? v * 5 : v)),
    );
    for (const make of [...byParam, ...byState]) {
      const { model, dir } = await make();
      const state = model.scaler?.toJSON() ?? null;
      const bytes = buildOnnxModel(await loadArtifact(dir));
      const onnx = await OnnxDetector.fromBytes(bytes);
      expect(onnx.metadata!.scaler).toEqual(state);
      const a = await model.score(wide);
      const b = await onnx.score(wide);
      a.forEach((s, i) => {
        expect(Math.abs(s - b[i]!)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, s));
      });
      // The scaler's nodes, in order, before the first layer.
      const ops = decodeModel(bytes).graph!.node!.map((n) => n.op_type);
      const scaling = state
        ? [
            ...(state.nanPolicy === 'impute' ? ['IsNaN', 'Where'] : []),
            'Sub',
            'Div',
            ...(state.offset !== 0 ? ['Add'] : []),
            ...(state.clip ? ['Clip'] : []),
          ]
        : [];
      expect(ops.slice(0, ops.indexOf('Gemm'))).toEqual([...scaling, 'Cast']);
      if (state?.nanPolicy === 'impute') {
        expect(ops.slice(0, 2)).toEqual(['IsNaN', 'Where']);
        // NaN is replaced by the fitted mean in the graph, as the scaler's "impute" policy does.
        const holes = new Matrix(2, X.cols, X.data.slice(0, 2 * X.cols));
        const filled = new Matrix(2, X.cols, holes.data.slice());
        holes.data[3] = Number.NaN;
        filled.data[3] = state.fill[3]!;
        expect(await onnx.score(holes)).toEqual(await onnx.score(filled));
      } else {
        const holes = new Matrix(1, X.cols, X.data.slice(0, X.cols));
        holes.data[0] = Number.NaN;
        await expect(onnx.score(holes)).rejects.toThrow('X[0][0]: expected a finite number, received NaN');
      }
      await onnx.close();
    }
  });

  it('refuses a saved scaler that disagrees with the scaler parameter', async () => {
    const data = await adbench('breastw');
    const model = new AutoEncoder({ seed: 1, epochs: 1, scaler: 'robust' });
    await model.fit(data.X);
    const dir = await tmp();
    await model.save(dir);
    const artifact = await loadArtifact(dir);
    expect(() => buildOnnxModel({ ...artifact, scaler: null })).toThrow(
      'manifest.json: scaler: expected a fitted "robust" scaler (params.scaler), found none',
    );
    expect(() => buildOnnxModel({ ...artifact, params: { ...artifact.params, scaler: 'minmax' } })).toThrow(
      'manifest.json: scaler: expected a fitted "minmax" scaler (params.scaler), found a "robust" scaler',
    );
    expect(() => buildOnnxModel({ ...artifact, params: { ...artifact.params, scaler: 'none' } })).toThrow(
      'manifest.json: scaler: expected none (params.scaler), found a "robust" scaler',
    );
    expect(() => buildOnnxModel({ ...artifact, params: { ...artifact.params, scaler: 'zscore' } })).toThrow(
      /^manifest\.json: params\.scaler: /,
    );
  });

  it('writes opset 17 with the metadata, the same bytes every time', async () => {
    const data = await adbench('thyroid');
    const model = new EnergyModel({ seed: 3, epochs: 3, learningRate: 1e-3 });
    await model.fit(data.X, { y: data.y, featureNames: data.featureNames });
    await decide(model, data.X, data.y);
    const dir = await tmp();
    const manifest = await model.save(dir);
    const artifact = await loadArtifact(dir);
    const bytes = buildOnnxModel(artifact);
    expect(buildOnnxModel(await loadArtifact(dir))).toEqual(bytes);
    const info = inspectOnnxModel(bytes);
    expect(info).toMatchObject({
      opset: EXPORT_OPSET,
      irVersion: 8,
      producer: { name: 'anomalia' },
      input: { name: 'features', type: 'float64', dims: ['N', data.X.cols] },
      scoreOutput: { name: 'score', type: 'float32', dims: ['N'] },
    });
    const meta = readAnomaliaMetadata(info.metadata, 'm.onnx')!;
    expect(meta).toMatchObject({
      kind: 'energy-model',
      featureNames: data.featureNames,
      threshold: model.threshold,
      calibrator: model.calibrator!.toJSON(),
      scaler: model.scaler!.toJSON(),
      score: 'energy',
    });
    expect(meta.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.metadata[METADATA_KEYS.sourceWeightsSha256]).toBe(manifest.files['weights.bin']!.sha256);
    const ops = new Set(decodeModel(bytes).graph!.node!.map((n) => n.op_type));
    expect([...ops].sort()).toEqual(['Cast', 'Div', 'Gemm', 'LayerNormalization', 'Relu', 'Reshape', 'Sub']);

    const f32 = buildOnnxModel(artifact, { inputType: 'float32' });
    expect(inspectOnnxModel(f32).input.type).toBe('float32');
  });

  it('exports a threshold and a calibrator only when the caller set them', async () => {
    const data = await adbench('breastw');
    const model = new EnergyModel({ seed: 4, epochs: 2, learningRate: 1e-3 });
    await model.fit(data.X, { y: data.y, featureNames: data.featureNames });
    // EnergyModel.fit sets neither: the export carries neither, and the manifest agrees.
    const bare = await tmp();
    await model.save(bare);
    const props = inspectOnnxModel(buildOnnxModel(await loadArtifact(bare))).metadata;
    expect(props[METADATA_KEYS.threshold]).toBeUndefined();
    expect(props[METADATA_KEYS.calibrator]).toBeUndefined();
    const exported = await exportOnnx(bare, join(await tmp(), 'onnx'));
    expect(exported.manifest).toMatchObject({ threshold: null, calibrator: null });
    const undecided = await loadOnnxDetector(exported.path);
    expect([undecided.threshold, undecided.calibrator]).toEqual([null, null]);
    await expect(undecided.predict(data.X)).rejects.toThrow(NotFittedError);
    await expect(undecided.predictProba(data.X)).rejects.toThrow(NotFittedError);
    await undecided.close();

    await decide(model, data.X, data.y);
    const decided = await tmp();
    await model.save(decided);
    const meta = readAnomaliaMetadata(
      inspectOnnxModel(buildOnnxModel(await loadArtifact(decided))).metadata,
      'm.onnx',
    )!;
    expect(meta.threshold).toEqual(model.threshold);
    expect(meta.calibrator).toEqual(model.calibrator!.toJSON());
  });

  it('folds batch norm into the Gemm and reads every layer key strictly', async () => {
    const data = await adbench('cardio');
    const model = new AutoEncoder({ seed: 5, epochs: 2 });
    await model.fit(data.X);
    const dir = await tmp();
    await model.save(dir);
    const artifact = await loadArtifact(dir);
    const layers = (artifact.state.networks as { layers: Record<string, unknown>[] }[])[0]!.layers;
    // The defaults: seven batch-norm blocks (d → 64 → 32 → 16 → 8 → 16 → 32 → 64), a linear output.
    expect(layers.map((l) => l.batchNorm)).toEqual([true, true, true, true, true, true, true, false]);
    const bytes = buildOnnxModel(artifact);
    const graph = decodeModel(bytes).graph!;
    const ops = graph.node!.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'Gemm')).toHaveLength(8);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('LayerNormalization');
    // The folded weights are not the raw ones: the running statistics moved them.
    const w0 = graph.initializer!.find((t) => t.name === 'autoencoder.0.W')!;
    const raw = artifact.tensors['autoencoder.0.W']!.data;
    const folded = new Float32Array(Uint8Array.from(w0.raw_data!).buffer);
    expect(folded).toHaveLength(raw.length);
    expect(folded).not.toEqual(raw);
    const onnx = await OnnxDetector.fromBytes(bytes);
    const a = await model.score(data.X);
    const b = await onnx.score(data.X);
    a.forEach((s, i) => {
      expect(Math.abs(s - b[i]!)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, s));
    });
    await onnx.close();

    const withLayers = (edit: (l: Record<string, unknown>, i: number) => Record<string, unknown>) => ({
      ...artifact,
      state: {
        ...artifact.state,
        networks: [{ name: 'autoencoder', layers: layers.map((l, i) => edit({ ...l }, i)) }],
      },
    });
    // A layer feature this exporter does not know is an error naming it, never skipped.
    expect(() => buildOnnxModel(withLayers((l, i) => (i === 2 ? { ...l, residual: true } : l)))).toThrow(
      'manifest.json: state.networks[0].layers[2].residual: expected no such key (unknown keys are refused, not ignored)',
    );
    expect(() =>
      buildOnnxModel({
        ...artifact,
        state: { ...artifact.state, networks: [{ name: 'autoencoder', layers, skip: 1 }] },
      }),
    ).toThrow('manifest.json: state.networks[0].skip: expected no such key');
    expect(() => buildOnnxModel(withLayers((l, i) => (i === 1 ? { ...l, norm: true } : l)))).toThrow(
      'manifest.json: state.networks[0].layers[1]: expected a block with LayerNorm or batch norm, not both',
    );
    // Artifacts written before batch norm existed lack `batchNorm` and `init`: the same graph.
    const ebm = new EnergyModel({ seed: 3, epochs: 1, learningRate: 1e-3 });
    await ebm.fit(data.X, { y: data.y });
    const ebmDir = await tmp();
    await ebm.save(ebmDir);
    const ebmArtifact = await loadArtifact(ebmDir);
    const old = {
      ...ebmArtifact,
      state: {
        ...ebmArtifact.state,
        networks: (ebmArtifact.state.networks as { name: string; layers: Record<string, unknown>[] }[]).map(
          (n) => ({ ...n, layers: n.layers.map(({ batchNorm: _, init: __, ...rest }) => rest) }),
        ),
      },
    };
    expect(buildOnnxModel(old)).toEqual(buildOnnxModel(ebmArtifact));

    // The running statistics are required and checked.
    const noVar = { ...artifact, tensors: { ...artifact.tensors } };
    delete noVar.tensors['autoencoder.3.runningVar'];
    expect(() => buildOnnxModel(noVar)).toThrow(
      'weights.bin: tensors.autoencoder.3.runningVar: missing from the artifact',
    );
    const negative = { ...artifact, tensors: { ...artifact.tensors } };
    const v = artifact.tensors['autoencoder.1.runningVar']!;
    negative.tensors['autoencoder.1.runningVar'] = { ...v, data: v.data.map((x, j) => (j === 4 ? -1 : x)) };
    expect(() => buildOnnxModel(negative)).toThrow(
      'weights.bin: tensors.autoencoder.1.runningVar: expected variances ≥ 0',
    );
  });

  it('exports the other normalisations: AutoEncoder with LayerNorm or none, VAE with batch norm', async () => {
    const data = await adbench('vowels');
    const models = [
      new AutoEncoder({ seed: 6, epochs: 3, normalization: 'layer' }),
      new AutoEncoder({ seed: 6, epochs: 3, normalization: 'none' }),
      new VariationalAutoEncoder({ seed: 6, epochs: 3, normalization: 'batch' }),
    ];
    for (const model of models) {
      await model.fit(data.X);
      const dir = await tmp();
      await model.save(dir);
      const onnx = await OnnxDetector.fromBytes(buildOnnxModel(await loadArtifact(dir)));
      const a = await model.score(data.X);
      const b = await onnx.score(data.X);
      a.forEach((s, i) => {
        expect(Math.abs(s - b[i]!)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, s));
      });
      await onnx.close();
    }
  });

  it('refuses artifacts it cannot export, naming the field', async () => {
    const dir = await tmp();
    await saveArtifact(dir, { kind: 'isolation-forest', params: {} });
    const forest = await loadArtifact(dir);
    expect(() => buildOnnxModel(forest)).toThrow(
      'manifest.json: kind: expected one of "energy-model", "autoencoder", "variational-autoencoder", found "isolation-forest"',
    );
    const data = await adbench('breastw');
    const model = new AutoEncoder({ seed: 1, epochs: 2 });
    await model.fit(data.X);
    const good = await tmp();
    await model.save(good);
    const artifact = await loadArtifact(good);
    const broken = { ...artifact, state: { ...artifact.state, weightsFormat: 'float16' } };
    expect(() => buildOnnxModel(broken)).toThrow(/^manifest\.json: state\.weightsFormat: /);
    const missing = { ...artifact, tensors: { ...artifact.tensors } };
    delete missing.tensors['autoencoder.2.gamma'];
    expect(() => buildOnnxModel(missing)).toThrow(
      'weights.bin: tensors.autoencoder.2.gamma: missing from the artifact',
    );
    expect(() => buildOnnxModel(artifact, { inputType: 'int8' } as never)).toThrow(/^options\.inputType: /);
    // A VAE scored with KL instead of the latent distance: the graph would compute another score.
    const vae = new VariationalAutoEncoder({ seed: 1, epochs: 2, score: 'kl' });
    await vae.fit(data.X);
    const klDir = await tmp();
    await vae.save(klDir);
    const klArtifact = await loadArtifact(klDir);
    expect(() => buildOnnxModel(klArtifact)).toThrow(
      'manifest.json: params.score: expected "latent-distance" (the score this graph computes), found "kl"',
    );
    // A ConditionalVAE needs its condition columns as a second input: not an exportable kind.
    const regimes = Array.from({ length: data.X.rows }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
    const cvae = new ConditionalVAE({ seed: 1, epochs: 1 });
    await cvae.fit({ X: data.X, conditions: oneHotConditions(regimes).conditions });
    const cvaeDir = await tmp();
    await cvae.save(cvaeDir);
    const cvaeArtifact = await loadArtifact(cvaeDir);
    expect(() => buildOnnxModel(cvaeArtifact)).toThrow(
      'manifest.json: kind: expected one of "energy-model", "autoencoder", "variational-autoencoder", found "conditional-variational-autoencoder"',
    );
    await expect(exportOnnx(cvaeDir, join(await tmp(), 'cvae.onnx'))).rejects.toThrow(
      'found "conditional-variational-autoencoder"',
    );
  });
});
