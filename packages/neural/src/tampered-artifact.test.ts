import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactKey, Matrix, Rng } from '@anomalia/core';
import { editManifest, refusedLoad } from '@anomalia/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoEncoder } from './autoencoder';
import { EnergyModel } from './energy-model';

let dir: string;
const X = new Matrix(120, 5);
const y = new Float64Array(120);
const rng = new Rng(3);
for (let i = 0; i < 120; i++) {
  y[i] = i % 4 === 0 ? 2 : 0;
  for (let j = 0; j < 5; j++) X.set(i, j, rng.normal() + y[i]!);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalia-neural-tamper-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function saved(name: string): Promise<string> {
  const m = new EnergyModel({ epochs: 3, hiddenLayers: [8, 4], layerNorm: true, seed: 1 });
  await m.fit(X, { y });
  const path = join(dir, name);
  await m.save(path, { key: null });
  return path;
}

const loadError = (path: string, load: (p: string) => Promise<unknown> = (p) => EnergyModel.load(p)) =>
  refusedLoad(load(path));

describe('a neural artifact whose params no longer match its weights (digest recomputed, no key)', () => {
  it('params.layerNorm: false is refused, naming the saved layer', async () => {
    const path = await saved('layer-norm');
    await editManifest(path, (m) => (m.params.layerNorm = false), { redigest: true });
    const e = await loadError(path);
    expect(e.file).toBe('manifest.json');
    expect(e.field).toBe('state.networks[0].layers[0].norm');
    expect(e.message).toMatch(/has norm true, but params imply false: params and weights do not match/);
  });

  it('other layer sizes are refused, naming the field', async () => {
    const path = await saved('sizes');
    await editManifest(path, (m) => (m.params.hiddenLayers = [8, 8]), { redigest: true });
    expect((await loadError(path)).field).toBe('state.networks[0].layers[1].outputs');
    const three = await saved('three');
    await editManifest(three, (m) => (m.params.hiddenLayers = [8, 4, 2]), { redigest: true });
    expect((await loadError(three)).field).toBe('state.networks[0].layers');
  });

  it('state edited to match the params still fails on the weights: shapes and left-over tensors', async () => {
    const path = await saved('state-too');
    await editManifest(
      path,
      (m) => {
        m.params.layerNorm = false;
        for (const l of m.state.networks[0].layers) l.norm = false;
        m.state.parameterCount -= 2 * (8 + 4);
      },
      { redigest: true },
    );
    const e = await loadError(path);
    expect(e.file).toBe('weights.bin');
    expect(e.field).toBe('tensors.energy.0.gamma');
    expect(e.message).toMatch(/not a parameter of the networks the params describe/);

    const shaped = await saved('shape');
    await editManifest(shaped, (m) => (m.tensors['energy.0.W'].shape = [8, 5]), { redigest: true });
    const s = await loadError(shaped);
    expect([s.file, s.field]).toEqual(['weights.bin', 'tensors.energy.0.W.shape']);
    expect(s.message).toMatch(/expected \[5, 8\] \(what params and state\.nFeatures imply\), found \[8, 5\]/);
  });

  it('an invalid parameter names manifest.json', async () => {
    const path = await saved('bad-param');
    await editManifest(path, (m) => (m.params.dropout = 7), { redigest: true });
    expect(String(await loadError(path))).toMatch(
      /^ArtifactError: manifest\.json: params\.dropout: expected a number/,
    );
  });

  it('an autoencoder with a changed bottleneck is refused too', async () => {
    const ae = new AutoEncoder({ epochs: 2, hiddenLayers: [6, 3], seed: 1 });
    await ae.fit(X);
    const path = join(dir, 'ae');
    await ae.save(path, { key: null });
    await editManifest(path, (m) => (m.params.hiddenLayers = [6, 2]), { redigest: true });
    const e = await loadError(path, (p) => AutoEncoder.load(p));
    expect(e.field).toMatch(/^state\.networks\[0\]\.layers\[\d\]\.(inputs|outputs)$/);
  });

  it('an autoencoder whose normalization was switched from batch to none is refused', async () => {
    const ae = new AutoEncoder({ epochs: 2, hiddenLayers: [6, 3], normalization: 'batch', seed: 1 });
    await ae.fit(X);
    const path = join(dir, 'ae-batch');
    await ae.save(path, { key: null });
    await editManifest(path, (m) => (m.params.normalization = 'none'), { redigest: true });
    const e = await loadError(path, (p) => AutoEncoder.load(p));
    expect([e.file, e.field]).toEqual(['manifest.json', 'state.networks[0].layers[0].batchNorm']);
    expect(e.message).toMatch(/has batchNorm true, but params imply false/);
  });

  it('a negative batch-norm running variance is refused, naming the tensor', async () => {
    const ae = new AutoEncoder({ epochs: 2, hiddenLayers: [6, 3], normalization: 'batch', seed: 1 });
    await ae.fit(X);
    const path = join(dir, 'ae-var');
    await ae.save(path, { key: null });
    const weightsPath = join(path, 'weights.bin');
    const weights = await readFile(weightsPath);
    await editManifest(
      path,
      (m) => {
        const t = m.tensors['autoencoder.0.runningVar'];
        new DataView(weights.buffer, weights.byteOffset, weights.byteLength).setFloat32(t.offset, -1, true);
        m.files['weights.bin'].sha256 = createHash('sha256').update(weights).digest('hex');
      },
      { redigest: true },
    );
    await writeFile(weightsPath, weights);
    const e = await loadError(path, (p) => AutoEncoder.load(p));
    expect([e.file, e.field]).toEqual(['weights.bin', 'tensors.autoencoder.0.runningVar']);
    expect(e.message).toMatch(/expected variances ≥ 0/);
  });

  it('with a signing key, any of these edits is a signature mismatch first', async () => {
    const key = ArtifactKey.from('s'.repeat(48));
    const m = new EnergyModel({ epochs: 2, hiddenLayers: [4], seed: 2 });
    await m.fit(X, { y });
    const path = join(dir, 'signed');
    await m.save(path, { key });
    const saved = process.env.ANOMALIA_ARTIFACT_KEY;
    process.env.ANOMALIA_ARTIFACT_KEY = 's'.repeat(48);
    try {
      expect((await EnergyModel.load(path)).params.hiddenLayers).toEqual([4]);
      await editManifest(path, (mm) => (mm.params.layerNorm = false), { redigest: true });
      expect((await loadError(path)).field).toBe('signature.value');
    } finally {
      if (saved === undefined) delete process.env.ANOMALIA_ARTIFACT_KEY;
      else process.env.ANOMALIA_ARTIFACT_KEY = saved;
    }
  });
});
