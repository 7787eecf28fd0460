import { type Dataset, Matrix, ValidationError } from '@anomalia/core';

/**
 * Features of a batch of records. Every cell of `X` is finite; when a feature's inputs are
 * missing the cell holds the feature's documented `missingValue` and `missing[row * cols + col]`
 * is 1, so a model can be given indicator columns (`withMissingIndicators`) or impute itself.
 */
export interface FeatureMatrix {
  X: Matrix;
  featureNames: string[];
  /** rows × cols, row-major like X: 1 where the inputs of that feature were missing. */
  missing: Uint8Array;
  /** TrackTreatment.TTX_ID of each row. */
  recordIds: Float64Array;
}

export function isMissing(fm: FeatureMatrix, row: number, feature: string | number): boolean {
  const col = typeof feature === 'number' ? feature : fm.featureNames.indexOf(feature);
  if (col < 0 || col >= fm.X.cols)
    throw new ValidationError('feature', `one of ${fm.featureNames.length} feature names`, feature);
  return fm.missing[row * fm.X.cols + col] === 1;
}

/** How many rows have each feature missing. */
export function missingCounts(fm: FeatureMatrix): Record<string, number> {
  const counts = new Float64Array(fm.X.cols);
  for (let k = 0; k < fm.missing.length; k++) if (fm.missing[k]) counts[k % fm.X.cols]!++;
  return Object.fromEntries(fm.featureNames.map((n, j) => [n, counts[j]!]));
}

/**
 * X with one 0/1 column `<name>__missing` appended per feature in `features` (default: those
 * missing in at least one row). Pass the same list at training and scoring time so the columns
 * line up.
 */
export function withMissingIndicators(fm: FeatureMatrix, features?: readonly string[]): Dataset {
  const cols = fm.X.cols;
  let chosen: number[];
  if (features) {
    chosen = features.map((name, k) => {
      const j = fm.featureNames.indexOf(name);
      if (j < 0) throw new ValidationError(`features[${k}]`, 'a feature name of this matrix', name);
      return j;
    });
  } else {
    const any = new Uint8Array(cols);
    for (let k = 0; k < fm.missing.length; k++) if (fm.missing[k]) any[k % cols] = 1;
    chosen = [];
    any.forEach((v, j) => {
      if (v) chosen.push(j);
    });
  }
  const outCols = cols + chosen.length;
  const X = new Matrix(fm.X.rows, outCols);
  for (let i = 0; i < fm.X.rows; i++) {
    X.data.set(fm.X.row(i), i * outCols);
    for (let k = 0; k < chosen.length; k++)
      X.data[i * outCols + cols + k] = fm.missing[i * cols + chosen[k]!]!;
  }
  return { X, featureNames: [...fm.featureNames, ...chosen.map((j) => `${fm.featureNames[j]}__missing`)] };
}

/** The plain Dataset (features only). */
export function toDataset(fm: FeatureMatrix, y?: Float64Array): Dataset {
  if (y && y.length !== fm.X.rows)
    throw new ValidationError('y.length', `${fm.X.rows} (one label per row)`, y.length);
  return y
    ? { X: fm.X, y, featureNames: [...fm.featureNames] }
    : { X: fm.X, featureNames: [...fm.featureNames] };
}
