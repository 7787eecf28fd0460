import { stratifiedGroupKFold, stratifiedGroupSplit, stratifiedKFold, stratifiedSplit } from '@anomalia/core';

export interface Fractions {
  train: number;
  validation: number;
  calibration: number;
  test: number;
}

/** Index lists of a four-way split (into whatever the strata were given for). */
export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  calibration: Int32Array;
  test: Int32Array;
}

/** The non-test fractions renormalised to sum to 1 (what is left once a fold or a time cut took the test rows). */
export function innerFractions(f: Fractions): { train: number; validation: number; calibration: number } {
  const rest = f.train + f.validation + f.calibration;
  return { train: f.train / rest, validation: f.validation / rest, calibration: f.calibration / rest };
}

const pick = (pool: ArrayLike<number>, local: ArrayLike<number>) => Int32Array.from(local, (k) => pool[k]!);

/**
 * k-fold over a pool of rows: fold f's test part is the f-th fold; the other rows are split into
 * train / validation / calibration with the configured fractions (renormalised), so each fold
 * chooses its threshold and calibration on its own parts, never on its test part. Stratified;
 * with `groups`, group-aware at both levels (a group's rows are in one part of one fold).
 */
export function pooledFolds(
  strata: ArrayLike<number>,
  k: number,
  seed: number,
  fractions: Fractions,
  groups?: ArrayLike<number | string>,
): SplitIndices[] {
  const outer = groups ? stratifiedGroupKFold(strata, groups, k, seed) : stratifiedKFold(strata, k, seed);
  const inner = innerFractions(fractions);
  return outer.map(({ train: rest, test }, f) => {
    const restStrata = Array.from(rest, (i) => strata[i]!);
    const s = groups
      ? stratifiedGroupSplit(
          restStrata,
          Array.from(rest, (i) => groups[i]!),
          inner,
          seed + f + 1,
        )
      : stratifiedSplit(restStrata, inner, seed + f + 1);
    return {
      train: pick(rest, s.train),
      validation: pick(rest, s.validation),
      calibration: pick(rest, s.calibration),
      test,
    };
  });
}

/**
 * A prospective split: the most recent `test` fraction of the rows (by `times`, ties by position)
 * is the test part; the older rows are split stratified into train / validation / calibration.
 * Rows without a time (NaN) count as the oldest.
 */
export function timeSplit(
  times: ArrayLike<number>,
  strata: ArrayLike<number>,
  fractions: Fractions,
  seed: number,
): SplitIndices & { cut: number } {
  const n = times.length;
  const t = (i: number) => (Number.isNaN(times[i]!) ? Number.NEGATIVE_INFINITY : times[i]!);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => t(a) - t(b) || a - b);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(fractions.test * n)));
  const older = Int32Array.from(order.slice(0, n - nTest));
  const test = Int32Array.from(order.slice(n - nTest)).sort();
  const s = stratifiedSplit(
    Array.from(older, (i) => strata[i]!),
    innerFractions(fractions),
    seed,
  );
  return {
    train: pick(older, s.train),
    validation: pick(older, s.validation),
    calibration: pick(older, s.calibration),
    test,
    cut: t(order[n - nTest]!),
  };
}

/** `k` contiguous blocks [start, end) covering 0 … n − 1, sizes differing by at most one. */
export function contiguousBlocks(n: number, k: number): Array<[number, number]> {
  return Array.from({ length: k }, (_, b) => [Math.floor((b * n) / k), Math.floor(((b + 1) * n) / k)]);
}
