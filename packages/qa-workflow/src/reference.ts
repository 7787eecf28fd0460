import { type Matrix, parseWith, quantile, ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * The training reference of a model: per feature, bins drawn from the training normals and the
 * share of normals in each. A monitor bins live records the same way and compares the shares
 * with the population stability index (PSI): a source whose records do not look like the ones the
 * model learnt "normal" from (another clinic, another extract) shows as many shifted features, and
 * the model's scores there mean nothing.
 */

/** Quantiles cut into bins (deciles): ties collapse, so a flag gets two bins, a constant one. */
const QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

const finite = z.number().refine(Number.isFinite, 'a finite number');

const FeatureBinsSchema = z.strictObject({
  name: z.string().min(1),
  /** The smallest training value: below it is a bin of its own (a value the model never saw). */
  min: finite,
  /** The median of the training normals: a record's typical value of the feature. */
  median: finite.optional(),
  /**
   * Upper edges of the bins from `min` on, strictly ascending, the first ≥ min: [min, e0],
   * (e0, e1], …, (e_last, ∞). A value most rows share is an edge of its own (a flag's 0: [0, 0]).
   */
  edges: z.array(finite),
  /** Share of the training normals per bin: [below min, min … e0, …, above e_last]; sums to 1. */
  shares: z.array(z.number().min(0).max(1)),
});
export type FeatureBins = z.output<typeof FeatureBinsSchema>;

export const FeatureReferenceSchema = z
  .strictObject({
    format: z.literal('anomalia.feature-reference'),
    version: z.literal(1),
    /** The feature set the bins were drawn for (its names, in order, are `features[].name`). */
    featureSet: z.string().min(1),
    /** What the rows were (e.g. "training normals: completed non-QA treatments no change touched"). */
    rows: z.strictObject({ count: z.number().int().positive(), description: z.string() }),
    features: z.array(FeatureBinsSchema).min(1),
  })
  .superRefine((r, ctx) => {
    r.features.forEach((f, i) => {
      if (f.shares.length !== f.edges.length + 2)
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'shares'],
          message: `expected ${f.edges.length + 2} shares (one per bin), got ${f.shares.length}`,
        });
      if (f.edges.some((e, j) => (j === 0 ? e < f.min : e <= f.edges[j - 1]!)))
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'edges'],
          message: 'expected edges strictly ascending from min',
        });
    });
  });
export type FeatureReference = z.output<typeof FeatureReferenceSchema>;

/** The reference of `X`'s rows (the training normals), one entry per column of `featureNames`. */
export function buildFeatureReference(
  X: Matrix,
  featureNames: readonly string[],
  featureSet: string,
  description: string,
): FeatureReference {
  if (X.cols !== featureNames.length)
    throw new ValidationError('featureNames', `${X.cols} names (one per column)`, featureNames.length);
  if (X.rows === 0) throw new ValidationError('X', 'at least one row (the training normals)', 0);
  const column = new Float64Array(X.rows);
  const features = featureNames.map((name, j) => {
    for (let i = 0; i < X.rows; i++) column[i] = X.data[i * X.cols + j]!;
    column.sort();
    const min = column[0]!;
    const edges: number[] = [];
    for (const q of QUANTILES) {
      const e = quantile(column, q, true);
      if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
    }
    const bins = new FeatureBinner({ name, min, edges, shares: [] });
    const counts = new Float64Array(edges.length + 2);
    for (let i = 0; i < X.rows; i++) counts[bins.bin(column[i]!)]!++;
    const median = quantile(column, 0.5, true);
    return { name, min, median, edges, shares: Array.from(counts, (c) => c / X.rows) };
  });
  return {
    format: 'anomalia.feature-reference',
    version: 1,
    featureSet,
    rows: { count: X.rows, description },
    features,
  };
}

/** Validates a parsed reference file; errors name `field` (e.g. `current/x/reference.json`). */
export function parseFeatureReference(input: unknown, field = 'reference'): FeatureReference {
  return parseWith(FeatureReferenceSchema, input, field);
}

class FeatureBinner {
  constructor(private readonly f: FeatureBins) {}
  /** 0: below min; 1: [min, e0]; k + 1: (e_{k-1}, e_k]; last: above e_last. */
  bin(v: number): number {
    const { min, edges } = this.f;
    if (v < min) return 0;
    // Edges are few (≤ 9): a linear scan beats a binary search here.
    let k = 0;
    while (k < edges.length && v > edges[k]!) k++;
    return k + 1;
  }
}

/** Shares below this count as this (PSI's logarithm is undefined at 0). */
const FLOOR = 1e-4;

/** PSI of live bin counts against reference shares: Σ (live − ref) · ln(live / ref). */
export function populationStability(
  shares: readonly number[],
  counts: ArrayLike<number>,
  total: number,
): number {
  let psi = 0;
  for (let b = 0; b < shares.length; b++) {
    const ref = Math.max(shares[b]!, FLOOR);
    const live = Math.max(total > 0 ? counts[b]! / total : 0, FLOOR);
    psi += (live - ref) * Math.log(live / ref);
  }
  return psi;
}

/** One feature's drift in a window of live records. */
export interface FeatureDrift {
  readonly feature: string;
  readonly psi: number;
  /** Live shares per bin (same bins as the reference). */
  readonly live: readonly number[];
  readonly reference: readonly number[];
}

/**
 * A rolling window of live records binned on a reference: `add` the feature rows of each batch
 * (oldest rows leave once the window is full), `drift()` gives the PSI of every feature. Keeps one
 * byte per feature per record in the window; `add` costs O(rows × features).
 */
export class DriftWindow {
  private readonly binners: FeatureBinner[];
  private readonly counts: Uint32Array[];
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;

  constructor(
    readonly reference: FeatureReference,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new ValidationError('capacity', 'a positive integer', capacity);
    this.binners = reference.features.map((f) => new FeatureBinner(f));
    this.counts = reference.features.map((f) => new Uint32Array(f.edges.length + 2));
    this.ring = new Uint8Array(capacity * reference.features.length);
  }

  /** Records in the window. */
  get size(): number {
    return this.filled;
  }

  /** Adds the rows of `X` (columns in the reference's feature order). */
  add(X: Matrix, rows?: readonly number[]): void {
    const d = this.reference.features.length;
    if (X.cols !== d) throw new ValidationError('X.cols', `${d} (the reference's features)`, X.cols);
    const n = rows ? rows.length : X.rows;
    for (let r = 0; r < n; r++) {
      const i = rows ? rows[r]! : r;
      const slot = this.next * d;
      const full = this.filled === this.capacity;
      for (let j = 0; j < d; j++) {
        if (full) this.counts[j]![this.ring[slot + j]!]!--;
        const b = this.binners[j]!.bin(X.data[i * d + j]!);
        this.ring[slot + j] = b;
        this.counts[j]![b]!++;
      }
      if (!full) this.filled++;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** PSI per feature over the window, most shifted first. */
  drift(): FeatureDrift[] {
    const total = this.filled;
    return this.reference.features
      .map((f, j) => ({
        feature: f.name,
        psi: populationStability(f.shares, this.counts[j]!, total),
        live: Array.from(this.counts[j]!, (c) => (total > 0 ? c / total : 0)),
        reference: f.shares,
      }))
      .sort((a, b) => b.psi - a.psi);
  }
}
