import { ValidationError } from './errors';
import { Rng } from './rng';

/**
 * Group-aware stratified splits: every row of a group lands in the same part, so rows that share
 * something (a patient, a machine, a recording) never sit on both sides of a split, while each
 * stratum stays as close to its share of every part as whole groups allow.
 *
 * Groups are placed one by one, largest first (groups of equal size in a seeded random order),
 * each into the part where it most reduces the squared distance between the part's per-stratum
 * counts and their targets (fraction × stratum size). With one row per group this deals each
 * stratum out like a stratified split; with large groups it is the greedy of scikit-learn's
 * StratifiedGroupKFold, with a quadratic cost instead of a standard deviation.
 */
function assignGroups(
  strata: ArrayLike<number>,
  groups: ArrayLike<number | string>,
  fractions: readonly number[],
  seed: number,
): Int32Array {
  if (groups.length !== strata.length)
    throw new ValidationError('groups', `one group per row (${strata.length})`, groups.length);
  const strataIds = new Map<number, number>();
  const stratumOf = new Int32Array(strata.length);
  for (let i = 0; i < strata.length; i++) {
    const s = strata[i]!;
    if (!Number.isFinite(s)) throw new ValidationError(`strata[${i}]`, 'a finite stratum label', s);
    let id = strataIds.get(s);
    if (id === undefined) {
      id = strataIds.size;
      strataIds.set(s, id);
    }
    stratumOf[i] = id;
  }
  const members = new Map<number | string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (typeof g === 'number' ? !Number.isFinite(g) : typeof g !== 'string')
      throw new ValidationError(`groups[${i}]`, 'a finite number or a string', g);
    const m = members.get(g);
    if (m) m.push(i);
    else members.set(g, [i]);
  }
  const nStrata = strataIds.size;
  const stratumSize = new Float64Array(nStrata);
  for (const s of stratumOf) stratumSize[s]!++;
  const parts = fractions.length;
  const target = (p: number, s: number) => fractions[p]! * stratumSize[s]!;
  const counts = Array.from({ length: parts }, () => new Float64Array(nStrata));

  const rng = new Rng(seed);
  const order = [...members.values()];
  rng.shuffle(order);
  // Stable: equal sizes keep the seeded order.
  order.sort((a, b) => b.length - a.length);

  const part = new Int32Array(strata.length);
  const groupCounts = new Float64Array(nStrata);
  for (const rows of order) {
    groupCounts.fill(0);
    for (const i of rows) groupCounts[stratumOf[i]!]!++;
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let p = 0; p < parts; p++) {
      if (!(fractions[p]! > 0)) continue;
      let cost = 0;
      for (let s = 0; s < nStrata; s++) {
        const g = groupCounts[s]!;
        if (g === 0) continue;
        const before = counts[p]![s]! - target(p, s);
        cost += (before + g) ** 2 - before ** 2;
      }
      if (cost < bestCost - 1e-12) {
        bestCost = cost;
        best = p;
      }
    }
    for (let s = 0; s < nStrata; s++) counts[best]![s]! += groupCounts[s]!;
    for (const i of rows) part[i] = best;
  }
  return part;
}

/** The number of distinct groups. */
const countGroups = (groups: ArrayLike<number | string>) => new Set(Array.from(groups)).size;

/**
 * Stratified k-fold that never splits a group: every row is in exactly one test fold, every
 * group's rows in the same one, and each stratum spread over the folds as evenly as the groups
 * allow. Seeded and deterministic.
 */
export function stratifiedGroupKFold(
  strata: ArrayLike<number>,
  groups: ArrayLike<number | string>,
  k: number,
  seed: number,
): Array<{ train: Int32Array; test: Int32Array }> {
  if (!Number.isInteger(k) || k < 2) throw new ValidationError('k', 'an integer ≥ 2', k);
  const nGroups = countGroups(groups);
  if (k > nGroups) throw new ValidationError('k', `at most the number of groups (${nGroups})`, k);
  const fold = assignGroups(
    strata,
    groups,
    Array.from({ length: k }, () => 1 / k),
    seed,
  );
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    fold.forEach((v, i) => {
      (v === f ? test : train).push(i);
    });
    return { train: Int32Array.from(train), test: Int32Array.from(test) };
  });
}

/**
 * Splits rows into named parts with the given fractions, never splitting a group, each stratum as
 * close to its fractions as whole groups allow. Parts are in ascending row order. Seeded.
 */
export function stratifiedGroupSplit<K extends string>(
  strata: ArrayLike<number>,
  groups: ArrayLike<number | string>,
  fractions: Record<K, number>,
  seed: number,
): Record<K, Int32Array> {
  const names = Object.keys(fractions) as K[];
  const f = names.map((k) => fractions[k]);
  f.forEach((v, i) => {
    if (!(v >= 0)) throw new ValidationError(`fractions.${names[i]}`, 'a fraction ≥ 0', v);
  });
  const total = f.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) throw new ValidationError('fractions', 'fractions summing to 1', total);
  const part = assignGroups(strata, groups, f, seed);
  const out = {} as Record<K, Int32Array>;
  names.forEach((k, p) => {
    const idx: number[] = [];
    part.forEach((v, i) => {
      if (v === p) idx.push(i);
    });
    out[k] = Int32Array.from(idx);
  });
  return out;
}
