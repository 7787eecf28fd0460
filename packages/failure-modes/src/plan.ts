import { Rng, ValidationError } from '@anomalia/core';
import type { Change, TreatmentRecord } from '@anomalia/mosaiq';
import {
  type FailureModeKind,
  type SamplingMix,
  type SeverityBand,
  STRATA,
  type Stratum,
  samplingPlan,
} from '@anomalia/severity';
import { type FailureCatalogue, failureCatalogue } from './catalogue';
import type { Cohort } from './cohort';
import type { FailureApplication } from './failure-mode';
import { createKeyAllocator, type KeyAllocator } from './keys';
import { drawApplications } from './plan/draw';
import { createClaims } from './plan/footprint';
import { drawNormals, labelApplications, normalExample } from './plan/label';
import { allocateSlots, normaliseMix, resolveMix } from './plan/mix';
import { type Holdout, selectPairs } from './plan/pairs';

export type { Holdout } from './plan/pairs';

export interface CorruptionPlanOptions {
  /** The records to draw targets and normal examples from. */
  readonly cohort: Cohort;
  /** Labelled examples to plan, normal ones included (split over strata by `samplingPlan`). */
  readonly n: number;
  readonly seed: number | string;
  /**
   * Weights per stratum (default: seed 001's 50/15/15/10/5/5 %). With the default mix, strata
   * without any available (mode, variant) get weight 0 and are listed in `droppedStrata`; an
   * explicit mix giving weight to such a stratum is an error.
   */
  readonly mix?: SamplingMix;
  /** Pairs or modes never to use. */
  readonly holdout?: readonly Holdout[];
  /** Only modes of these kinds (e.g. `['accidental']`); default: every kind in the catalogue. */
  readonly kinds?: readonly FailureModeKind[];
  /** Parameters per `"mode/variant"` (or per `"mode"`, for all its variants). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Records that may be targets or normal examples (default: all), e.g. only completed deliveries. */
  readonly eligible?: (record: TreatmentRecord) => boolean;
  /** Shared key allocator; pass one with the database's highest keys as `floor` when the cohort is a subset. */
  readonly keys?: KeyAllocator;
  readonly catalogue?: FailureCatalogue;
  /** Rejected candidate targets tolerated per example before the pair counts as exhausted (default 200). */
  readonly maxAttempts?: number;
}

/** One example of the balanced set: a corrupted record or a clean one. */
export interface LabelledExample {
  readonly ttxId: number;
  readonly mode: string | null;
  readonly variant: string | null;
  readonly kind: FailureModeKind | null;
  /** 0 for a normal example. */
  readonly severity: number;
  readonly band: SeverityBand;
  readonly stratum: Stratum;
  /** Index into `applications` (null for a normal example). */
  readonly application: number | null;
}

/** The label of a record a plan changes: every affected record has one. */
export interface RecordLabel {
  readonly ttxId: number;
  readonly mode: string;
  readonly variant: string;
  readonly severity: number;
  readonly application: number;
  /** True for the application's example (its primary record); false for the other records it affects. */
  readonly primary: boolean;
}

export interface PlannedPairCount {
  readonly mode: string;
  readonly variant: string;
  readonly stratum: Stratum;
  readonly requested: number;
  readonly planned: number;
}

export interface CorruptionPlan {
  readonly seed: number | string;
  readonly n: number;
  /** The weights used (normalised by `samplingPlan`). */
  readonly mix: Readonly<Record<Stratum, number>>;
  /** Strata the default mix dropped because no (mode, variant) is available for them. */
  readonly droppedStrata: readonly Stratum[];
  readonly strata: readonly { stratum: Stratum; requested: number; planned: number }[];
  readonly pairs: readonly PlannedPairCount[];
  /** The balanced set: one example per application, then the normal examples. */
  readonly examples: readonly LabelledExample[];
  readonly applications: readonly FailureApplication[];
  /** Every change, in application order: apply them in one transaction; undo with `invertChanges`. */
  readonly changes: readonly Change[];
  /** Every record the changes affect, ascending by TTX_ID (primary examples and shared-field siblings). */
  readonly labels: readonly RecordLabel[];
  /** Records that are neither examples nor normal: affected non-primary records and context records. */
  readonly excludedTtxIds: readonly number[];
  /** Strata that could not be filled, and why. */
  readonly shortfall: readonly { stratum: Stratum; missing: number; reason: string }[];
}

/**
 * A seeded, severity-balanced corruption plan over a cohort, in named stages: select the usable
 * pairs (`selectPairs`), weigh the strata (`resolveMix`), spread each stratum's count over its
 * pairs (`allocateSlots`), draw the applications (`drawApplications`), label them
 * (`labelApplications`) and draw the normal examples (`drawNormals`).
 *
 * `samplingPlan(n, mix)` (from @anomalia/severity) splits `n` over the strata; each stratum's
 * count is spread evenly over its available (mode, variant) pairs, and a pair that runs out of
 * suitable targets hands its remaining slots to the other pairs of its stratum. Targets are drawn
 * in a seeded order; an application is accepted only when its footprint (the records it affects
 * or concerns, the rows it writes, the fields whose rows it writes or on which it inserts a
 * treatment) is disjoint from every earlier one: no record is affected twice, no row or field is
 * written twice, and every change applies on top of the others. (Two record-level corruptions may
 * hit different treatments of one field; neither changes the other's record.)
 *
 * Shared fields: corrupting a TxField or its control points changes every treatment of that
 * field. The plan labels ALL of them (`labels`, with `primary: false` for the siblings), keeps only
 * the primary record of each application in `examples` (so the strata stay balanced), lists the
 * siblings in `excludedTtxIds`, and draws normal examples only from records that no change affects
 * and whose field no change writes (a record-level corruption of one fraction leaves the other
 * fractions of its field clean, so they remain eligible). Applying `changes` to a sandbox and reading the records back gives
 * exactly the labelled rows.
 */
export function planCorruption(options: CorruptionPlanOptions): CorruptionPlan {
  const { cohort, seed, n } = checkPlanOptions(options);
  const catalogue = options.catalogue ?? failureCatalogue;
  const maxAttempts = options.maxAttempts ?? 200;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError('maxAttempts', 'a positive integer', maxAttempts);
  }
  const rng = new Rng(seed);
  const keys = options.keys ?? createKeyAllocator({ rows: cohort.rows });
  const eligible = options.eligible ?? (() => true);
  const population = cohort.records.filter((r) => eligible(r));

  const byStratum = selectPairs(options, catalogue, rng);
  const { mix, droppedStrata } = resolveMix(options.mix, byStratum);
  const counts = samplingPlan(n, mix);
  const slots = allocateSlots(byStratum, counts, population.length);
  const claims = createClaims(cohort);
  const { applications, slotOf, shortfall } = drawApplications(slots, counts, {
    catalogue,
    cohort,
    population,
    keys,
    claims,
    maxAttempts,
  });
  const { examples, labels, excluded } = labelApplications(applications, slotOf);
  const normals = drawNormals(population, claims, excluded, counts.normal, rng);
  examples.push(...normals.map(normalExample));
  if (normals.length < counts.normal) {
    shortfall.unshift({
      stratum: 'normal',
      missing: counts.normal - normals.length,
      reason: 'not enough eligible records left that no change affects and whose field no change writes',
    });
  }

  return Object.freeze({
    seed,
    n,
    mix: Object.freeze(normaliseMix(mix)),
    droppedStrata: Object.freeze(droppedStrata),
    strata: STRATA.map((s) => ({
      stratum: s,
      requested: counts[s],
      planned:
        s === 'normal'
          ? normals.length
          : slots.filter((x) => x.stratum === s).reduce((a, x) => a + x.planned, 0),
    })),
    pairs: slots.map((x) => ({
      mode: x.variant.mode,
      variant: x.variant.id,
      stratum: x.stratum,
      requested: x.requested,
      planned: x.planned,
    })),
    examples: Object.freeze(examples),
    applications: Object.freeze(applications),
    // Footprints are disjoint (no row is written twice), so the changes apply one after another.
    changes: Object.freeze(applications.flatMap((a) => a.changes)),
    labels: Object.freeze(labels),
    excludedTtxIds: Object.freeze([...excluded].sort((a, b) => a - b)),
    shortfall: Object.freeze(shortfall),
  });
}

function checkPlanOptions(
  options: CorruptionPlanOptions,
): Pick<CorruptionPlanOptions, 'cohort' | 'seed' | 'n'> {
  const { cohort, seed, n } = options;
  if (!cohort || typeof cohort.record !== 'function') {
    throw new ValidationError('cohort', 'a Cohort (createCohort)', cohort);
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new ValidationError('n', 'a positive integer number of examples', n);
  }
  if (typeof seed !== 'number' && typeof seed !== 'string') {
    throw new ValidationError('seed', 'a number or a string', seed);
  }
  return { cohort, seed, n };
}
