import { ArtifactError } from '@anomalia/core';
import { z } from 'zod';
import { tf } from './engine';

/**
 * The two anomaly scores of seed 002, both "reconstruction + weight · latent term":
 *
 * - `latent-distance`: rec(x) / m_rec + α · dist(μ(x)) / m_dist, with dist the mean over latent
 *   dimensions of ((μ − c) / s)², c and s the mean and standard deviation of the training rows'
 *   latent means: a diagonal Mahalanobis distance to the centroid of the normal data.
 * - `kl`: rec(x) / m_rec + α · KL(q(z | x) ‖ N(0, I)) / m_KL.
 *
 * rec is the mean squared error of the reconstruction from μ (no sampling); m_rec, m_dist and
 * m_KL are the terms' means over the training rows, so each term is ≈ 1 on a typical normal row
 * and α weighs them directly.
 */
export const LatentScoreSchema = z.enum(['latent-distance', 'kl']);
export type LatentScore = z.infer<typeof LatentScoreSchema>;

/** What the score needs from the training data (saved in the artifact's state). */
export interface LatentStats {
  centroid: Float32Array;
  scale: Float32Array;
  reconstructionScale: number;
  distanceScale: number;
  /** Mean KL of the training rows; null in artifacts written before the `kl` score existed. */
  klScale: number | null;
}

/** KL(N(μ, σ²) ‖ N(0, I)) per row: ½ Σ (μ² + σ² − log σ² − 1). */
export function klPerRow(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.mul(
    tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(logVar, 1)), 1),
    0.5,
  ) as tf.Tensor1D;
}

/**
 * The statistics of the training rows: latent centroid and per-dimension scale (floored at
 * `minScale`: a unit whose means vary less is inactive, and dividing by its spread would turn
 * noise into score), and the mean of each score term.
 */
export function latentStatistics(
  mu: Float32Array,
  logVar: Float32Array,
  rec: Float32Array,
  latent: number,
  minScale: number,
): LatentStats {
  const L = latent;
  const n = rec.length;
  const centroid = new Float32Array(L);
  const scale = new Float32Array(L);
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) centroid[j]! += mu[i * L + j]! / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < L; j++) scale[j]! += (mu[i * L + j]! - centroid[j]!) ** 2 / n;
  for (let j = 0; j < L; j++) scale[j] = Math.max(Math.sqrt(scale[j]!), minScale, 1e-6);
  let recMean = 0;
  let distMean = 0;
  let klMean = 0;
  for (let i = 0; i < n; i++) {
    recMean += rec[i]! / n;
    let d = 0;
    let kl = 0;
    for (let j = 0; j < L; j++) {
      const m = mu[i * L + j]!;
      const lv = logVar[i * L + j]!;
      d += ((m - centroid[j]!) / scale[j]!) ** 2;
      kl += 0.5 * (m * m + Math.exp(lv) - lv - 1);
    }
    distMean += d / L / n;
    klMean += kl / n;
  }
  return {
    centroid,
    scale,
    reconstructionScale: Math.max(recMean, 1e-12),
    distanceScale: Math.max(distMean, 1e-12),
    klScale: Math.max(klMean, 1e-12),
  };
}

/** The anomaly score of rows from their reconstruction error and posterior (see `LatentScoreSchema`). */
export function latentScoreGraph(
  rec: tf.Tensor1D,
  mu: tf.Tensor2D,
  logVar: tf.Tensor2D,
  stats: LatentStats,
  score: LatentScore,
  alpha: number,
): tf.Tensor1D {
  const r = tf.div(rec, stats.reconstructionScale);
  let latentTerm: tf.Tensor;
  if (score === 'kl') {
    if (stats.klScale === null)
      throw new ArtifactError(
        'manifest.json',
        'state.klScale',
        'needed by the "kl" score: fit the model again',
      );
    latentTerm = tf.div(klPerRow(mu, logVar), stats.klScale);
  } else {
    const z = tf.div(tf.sub(mu, tf.tensor1d(stats.centroid)), tf.tensor1d(stats.scale));
    latentTerm = tf.div(tf.mean(tf.square(z), 1), stats.distanceScale);
  }
  return tf.add(r, tf.mul(latentTerm, alpha)) as tf.Tensor1D;
}

/** The statistics as artifact state fields. */
export function latentStatsState(s: LatentStats): Record<string, unknown> {
  return {
    latentCentroid: Array.from(s.centroid),
    latentScale: Array.from(s.scale),
    reconstructionScale: s.reconstructionScale,
    distanceScale: s.distanceScale,
    ...(s.klScale === null ? {} : { klScale: s.klScale }),
  };
}

/**
 * Reads the statistics back from an artifact's state; a bad field is an ArtifactError naming it.
 * `score` "kl" requires the KL mean (absent from artifacts written before that score existed).
 */
export function restoreLatentStats(
  state: Record<string, unknown>,
  latent: number,
  score: LatentScore,
): LatentStats {
  const vec = (name: string) => {
    const v = state[name];
    if (
      !Array.isArray(v) ||
      v.length !== latent ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw new ArtifactError('manifest.json', `state.${name}`, `expected ${latent} finite numbers`);
    }
    return Float32Array.from(v as number[]);
  };
  const num = (name: string) => {
    const v = state[name];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw new ArtifactError('manifest.json', `state.${name}`, 'expected a positive number');
    return v;
  };
  return {
    centroid: vec('latentCentroid'),
    scale: vec('latentScale'),
    reconstructionScale: num('reconstructionScale'),
    distanceScale: num('distanceScale'),
    klScale: state.klScale === undefined && score !== 'kl' ? null : num('klScale'),
  };
}
