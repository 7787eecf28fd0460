import { type Detector, type Matrix, Rng } from '@anomalia/core';

export interface Importance {
  method: string;
  values: Array<{ feature: string; importance: number }>;
}

interface SaliencyCapable {
  featureImportance(X: Matrix): Promise<{ importance: Float64Array }>;
}

const hasSaliency = (d: Detector): d is Detector & SaliencyCapable =>
  typeof (d as Partial<SaliencyCapable>).featureImportance === 'function';

/**
 * Feature importance on (a sample of) the test split: gradient saliency for neural models,
 * otherwise permutation importance (mean |score change| when one column is shuffled), which
 * works for any detector. Sorted, largest first.
 */
export async function featureImportance(
  detector: Detector,
  X: Matrix,
  featureNames: string[],
  seed: number,
  maxRows = 500,
): Promise<Importance> {
  const rng = new Rng(seed);
  const sample = X.rows > maxRows ? X.selectRows(rng.sampleIndices(X.rows, maxRows)) : X;
  let raw: Float64Array;
  let method: string;
  if (hasSaliency(detector)) {
    raw = (await detector.featureImportance(sample)).importance;
    method = 'gradient saliency: mean |∂score/∂x| over test rows';
  } else {
    const base = await detector.score(sample);
    raw = new Float64Array(sample.cols);
    const shuffled = sample.clone();
    for (let j = 0; j < sample.cols; j++) {
      const col = sample.getColumn(j);
      const perm = rng.permutation(sample.rows);
      for (let i = 0; i < sample.rows; i++) shuffled.data[i * sample.cols + j] = col[perm[i]!]!;
      const s = await detector.score(shuffled);
      let delta = 0;
      for (let i = 0; i < s.length; i++) delta += Math.abs(s[i]! - base[i]!);
      raw[j] = delta / s.length;
      for (let i = 0; i < sample.rows; i++) shuffled.data[i * sample.cols + j] = col[i]!;
    }
    method = 'permutation: mean |score change| when the column is shuffled, over test rows';
  }
  const values = featureNames
    .map((feature, j) => ({ feature, importance: raw[j]! }))
    .sort((a, b) => b.importance - a.importance);
  return { method, values };
}
