import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ValidationError } from './errors';
import { Rng } from './rng';
import { parseWith } from './validation';

/**
 * Splits a set of rows into named parts with the given fractions, preserving the proportion of
 * every stratum in every part (largest-remainder allocation per stratum, so part sizes are as
 * close to the fractions as integers allow). Seeded and deterministic.
 */
export function stratifiedSplit<K extends string>(
  strata: ArrayLike<number>,
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
  const rng = new Rng(seed);
  const byStratum = groupByStratum(strata);
  const parts: number[][] = names.map(() => []);
  for (const idx of byStratum) {
    rng.shuffle(idx);
    const counts = largestRemainder(f, idx.length);
    let offset = 0;
    counts.forEach((c, p) => {
      for (let k = 0; k < c; k++) parts[p]!.push(idx[offset + k]!);
      offset += c;
    });
  }
  const out = {} as Record<K, Int32Array>;
  names.forEach((k, p) => {
    out[k] = rng.shuffle(Int32Array.from(parts[p]!));
  });
  return out;
}

/** Stratified train / test split (test fraction `testSize`). */
export function stratifiedTrainTestSplit(
  strata: ArrayLike<number>,
  options: { testSize: number; seed: number },
): { train: Int32Array; test: Int32Array } {
  const { testSize, seed } = options;
  if (!(testSize > 0 && testSize < 1))
    throw new ValidationError('testSize', 'a fraction in (0, 1)', testSize);
  return stratifiedSplit(strata, { train: 1 - testSize, test: testSize }, seed);
}

/** Stratified four-way split; the default fractions are 60 / 15 / 10 / 15 %. */
export function trainValidationCalibrationTestSplit(
  strata: ArrayLike<number>,
  options: {
    seed: number;
    fractions?: { train: number; validation: number; calibration: number; test: number };
  },
): { train: Int32Array; validation: Int32Array; calibration: Int32Array; test: Int32Array } {
  return stratifiedSplit(
    strata,
    options.fractions ?? { train: 0.6, validation: 0.15, calibration: 0.1, test: 0.15 },
    options.seed,
  );
}

/** Stratified k-fold: every row is in exactly one test fold; folds differ in size by at most one per stratum. */
export function stratifiedKFold(
  strata: ArrayLike<number>,
  k: number,
  seed: number,
): Array<{ train: Int32Array; test: Int32Array }> {
  if (!Number.isInteger(k) || k < 2) throw new ValidationError('k', 'an integer ≥ 2', k);
  if (k > strata.length) throw new ValidationError('k', `at most the number of rows (${strata.length})`, k);
  const rng = new Rng(seed);
  const fold = new Int32Array(strata.length);
  let next = 0;
  for (const idx of groupByStratum(strata)) {
    rng.shuffle(idx);
    // Deal each stratum round-robin, continuing where the previous stratum stopped, to balance fold sizes.
    for (const i of idx) fold[i] = next++ % k;
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    fold.forEach((v, i) => {
      (v === f ? test : train).push(i);
    });
    return { train: Int32Array.from(train), test: Int32Array.from(test) };
  });
}

function groupByStratum(strata: ArrayLike<number>): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < strata.length; i++) {
    const s = strata[i]!;
    if (!Number.isFinite(s)) throw new ValidationError(`strata[${i}]`, 'a finite stratum label', s);
    const g = groups.get(s);
    if (g) g.push(i);
    else groups.set(s, [i]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((key) => groups.get(key)!);
}

/** Integer counts proportional to `weights` summing exactly to `n` (Hamilton's method). */
export function largestRemainder(weights: readonly number[], n: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total > 0 ? (w / total) * n : 0));
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => [e - Math.floor(e), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k]![1]]!++;
  return counts;
}

const indexList = z.array(z.number().int().nonnegative());
/** Splits given as index lists, keyed by seed or name: `{ "1": { "train": [...], "test": [...] } }`. */
export const IndexSplitsSchema = z.object({
  dataset: z.string().optional(),
  protocol: z.string().optional(),
  splits: z.record(z.string(), z.object({ train: indexList, test: indexList })),
});
export type IndexSplits = z.infer<typeof IndexSplitsSchema>;

/**
 * Parses splits given as index lists (the ADBench JSON files), checking every index against
 * the number of rows. Duplicated indices are allowed: ADBench resamples small data sets with
 * replacement.
 */
export function parseIndexSplits(
  json: unknown,
  rows: number,
  source = 'splits',
): Record<string, { train: Int32Array; test: Int32Array }> {
  const parsed = parseWith(IndexSplitsSchema, json, source);
  const out: Record<string, { train: Int32Array; test: Int32Array }> = {};
  for (const [key, s] of Object.entries(parsed.splits)) {
    for (const part of ['train', 'test'] as const) {
      const bad = s[part].findIndex((i) => i >= rows);
      if (bad >= 0)
        throw new ValidationError(
          `${source}.splits.${key}.${part}[${bad}]`,
          `a row index below ${rows}`,
          s[part][bad],
        );
    }
    out[key] = { train: Int32Array.from(s.train), test: Int32Array.from(s.test) };
  }
  return out;
}

export async function loadIndexSplits(path: string, rows: number) {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new ValidationError(path, 'a readable JSON file of index splits', (e as Error).message);
  }
  return parseIndexSplits(json, rows, path);
}
