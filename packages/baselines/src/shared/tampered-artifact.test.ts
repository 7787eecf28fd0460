import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editManifest, plantedAnomalies, refusedLoad } from '@anomalia/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsolationForest } from '../isolation-forest/isolation-forest';
import { LocalOutlierFactor } from '../lof/local-outlier-factor';
import { OneClassSVM } from '../ocsvm/one-class-svm';

let dir: string;
const { X } = plantedAnomalies(120, 3, 5, 0.05);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalia-baselines-tamper-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a baseline artifact whose params were edited after saving (digest recomputed, no key)', () => {
  it('one-class SVM: another kernel, degree or gamma than the support vectors were fitted with', async () => {
    const m = new OneClassSVM({ kernel: 'rbf', gamma: 0.5, nu: 0.1 });
    await m.fit(X);
    for (const [edit, field] of [
      [(p: Record<string, unknown>) => (p.kernel = 'linear'), 'state.kernel'],
      [(p: Record<string, unknown>) => (p.gamma = 5), 'state.gamma'],
      [(p: Record<string, unknown>) => (p.coef0 = 1), 'state.coef0'],
    ] as const) {
      const path = join(dir, `ocsvm-${field}`);
      await m.save(path, { key: null });
      await editManifest(path, (mm) => edit(mm.params), { redigest: true });
      const e = await refusedLoad(OneClassSVM.load(path));
      expect([e.file, e.field]).toEqual(['manifest.json', field]);
      expect(e.message).toMatch(/params and weights do not match/);
    }
    const path = join(dir, 'ocsvm-tensor');
    await m.save(path, { key: null });
    await editManifest(path, (mm) => (mm.tensors.supportVectors.shape = [3, mm.state.supportVectors]), {
      redigest: true,
    });
    expect((await refusedLoad(OneClassSVM.load(path))).field).toMatch(/^tensors\.supportVectors\.shape$/);
  });

  it('LOF: another nNeighbors or metric than the densities were computed with', async () => {
    const m = new LocalOutlierFactor({ nNeighbors: 10 });
    await m.fit(X);
    for (const [edit, field] of [
      [(p: Record<string, unknown>) => (p.nNeighbors = 30), 'state.nNeighborsUsed'],
      [(p: Record<string, unknown>) => (p.metric = 'manhattan'), 'state.metric'],
    ] as const) {
      const path = join(dir, `lof-${field}`);
      await m.save(path, { key: null });
      await editManifest(path, (mm) => edit(mm.params), { redigest: true });
      const e = await refusedLoad(LocalOutlierFactor.load(path));
      expect([e.file, e.field]).toEqual(['manifest.json', field]);
    }
  });

  it('isolation forest: a tensor that is not part of the model, and a parameter it refuses', async () => {
    const m = new IsolationForest({ nEstimators: 10, seed: 1 });
    await m.fit(X);
    const path = join(dir, 'iforest');
    await m.save(path, { key: null });
    await editManifest(path, (mm) => (mm.tensors.extra = { ...mm.tensors.roots }), { redigest: true });
    const e = await refusedLoad(IsolationForest.load(path));
    expect([e.file, e.field]).toEqual(['weights.bin', 'tensors.extra']);
    const bad = join(dir, 'iforest-param');
    await m.save(bad, { key: null });
    await editManifest(bad, (mm) => (mm.params.nEstimators = 0), { redigest: true });
    expect(String(await refusedLoad(IsolationForest.load(bad)))).toBe(
      'ArtifactError: manifest.json: params.nEstimators: expected a number ≥ 1, received 0',
    );
  });
});
