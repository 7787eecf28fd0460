import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadArtifact, rocAuc, saveArtifact } from '@anomalia/core';
import { plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { tf } from './engine';
import { latentScoreGraph, latentStatistics, restoreLatentStats } from './latent-score';
import { VariationalAutoEncoder } from './vae';

const small = { epochs: 15, encoderLayers: [16], decoderLayers: [16], latent: 2, learningRate: 3e-3 };

describe('the two VAE scores', () => {
  const train = plantedAnomalies(400, 6, 51, 0);
  const test = plantedAnomalies(200, 6, 52, 0.2);

  it('score "kl": reconstruction + α·KL, each term ≈ 1 on the training rows; separates anomalies', async () => {
    const m = new VariationalAutoEncoder({ ...small, seed: 3, score: 'kl' });
    await m.fit(train.X);
    const s = await m.score(train.X);
    expect(s.reduce((a, b) => a + b, 0) / s.length).toBeCloseTo(1 + m.params.alpha, 1);
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.95);
  });

  it('the score does not change training: with α = 0 both give the same scores, otherwise not', async () => {
    const fitted = async (score: 'kl' | 'latent-distance', alpha: number) => {
      const m = new VariationalAutoEncoder({ ...small, seed: 4, score, alpha });
      await m.fit(train.X);
      return Array.from(await m.score(test.X));
    };
    expect(await fitted('kl', 0)).toEqual(await fitted('latent-distance', 0));
    expect(await fitted('kl', 1)).not.toEqual(await fitted('latent-distance', 1));
  });

  it('saves the KL mean; an artifact without it loads with the latent distance only', async () => {
    const m = new VariationalAutoEncoder({ ...small, seed: 5, score: 'kl' });
    await m.fit(train.X);
    const dir = await mkdtemp(join(tmpdir(), 'anomalia-vae-kl-'));
    try {
      const manifest = await m.save(dir);
      expect(manifest.state.klScale).toBeGreaterThan(0);
      expect(Array.from(await (await VariationalAutoEncoder.load(dir)).score(test.X))).toEqual(
        Array.from(await m.score(test.X)),
      );
      // As written before the KL score existed: no klScale.
      const artifact = await loadArtifact(dir);
      const { klScale: _dropped, ...older } = artifact.state;
      const old = join(dir, 'older');
      await saveArtifact(old, { ...artifact, state: older });
      await expect(VariationalAutoEncoder.load(old)).rejects.toMatchObject({
        name: 'ArtifactError',
        field: 'state.klScale',
      });
      await saveArtifact(old, {
        ...artifact,
        params: { ...artifact.params, score: 'latent-distance' },
        state: older,
      });
      expect((await VariationalAutoEncoder.load(old)).params.score).toBe('latent-distance');
      expect((await (await VariationalAutoEncoder.load(old)).score(test.X)).every(Number.isFinite)).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('latentStatistics and the score graph follow their formulas', () => {
    // Two rows, one latent unit: μ = 1 and 3, log σ² = 0 and log 4, rec = 2 and 4.
    const stats = latentStatistics(
      Float32Array.from([1, 3]),
      Float32Array.from([0, Math.log(4)]),
      Float32Array.from([2, 4]),
      1,
      0.1,
    );
    expect(stats.centroid[0]).toBeCloseTo(2, 6);
    expect(stats.scale[0]).toBeCloseTo(1, 6);
    expect(stats.reconstructionScale).toBeCloseTo(3, 6);
    expect(stats.distanceScale).toBeCloseTo(1, 6);
    // KL = ½(μ² + σ² − log σ² − 1): 0.5 and ½(9 + 4 − log 4 − 1).
    const kl1 = 0.5 * (9 + 4 - Math.log(4) - 1);
    expect(stats.klScale!).toBeCloseTo((0.5 + kl1) / 2, 5);
    const graph = (score: 'kl' | 'latent-distance') =>
      tf.tidy(() =>
        latentScoreGraph(
          tf.tensor1d([2, 4]),
          tf.tensor2d([[1], [3]]),
          tf.tensor2d([[0], [Math.log(4)]]),
          stats,
          score,
          0.5,
        ).arraySync(),
      );
    const [a, b] = graph('kl') as number[];
    expect(a).toBeCloseTo(2 / 3 + (0.5 * 0.5) / stats.klScale!, 5);
    expect(b).toBeCloseTo(4 / 3 + (0.5 * kl1) / stats.klScale!, 5);
    const [c] = graph('latent-distance') as number[];
    expect(c).toBeCloseTo(2 / 3 + 0.5 * 1, 5);
    const restored = restoreLatentStats(
      { latentCentroid: [2], latentScale: [1], reconstructionScale: 3, distanceScale: 1 },
      1,
      'latent-distance',
    );
    expect(restored.klScale).toBeNull();
    expect(() =>
      restoreLatentStats(
        { latentCentroid: [2], latentScale: [1], reconstructionScale: 3, distanceScale: 1 },
        1,
        'kl',
      ),
    ).toThrow(expect.objectContaining({ field: 'state.klScale' }) as unknown as Error);
    expect(() => restoreLatentStats({ latentCentroid: [2, 1] }, 1, 'latent-distance')).toThrow(
      expect.objectContaining({ field: 'state.latentCentroid' }) as unknown as Error,
    );
  });
});
