import { Rng, ValidationError } from '@anomalia/core';
import type { Change, TreatmentRecord } from '@anomalia/mosaiq';
import {
  allocateLargestRemainder,
  DEFAULT_SAMPLING_MIX,
  type SamplingMix,
  type SeverityBand,
  STRATA,
  type Stratum,
  samplingPlan,
} from '@anomalia/severity';
import { type FailureCatalogue, failureCatalogue } from './catalogue';
import type { Cohort } from './cohort';
import { NotApplicableError } from './errors';
import type { FailureApplication, FailureModeKind, FailureVariant } from './failure-mode';
import { createKeyAllocator, type KeyAllocator } from './keys';

/** A (mode, variant) or a whole mode to leave out of a plan (e.g. held out to test generalisation). */
export interface Holdout {
  readonly mode: string;
  /** Omit to hold out every variant of the mode. */
  readonly variant?: string;
}

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

const stratumOf = (v: FailureVariant, kind: FailureModeKind): Stratum =>
  v.band === 'critical'
    ? kind === 'malicious'
      ? 'critical_malicious'
      : 'critical_accidental'
    : (v.band as Stratum);

interface Slot {
  variant: FailureVariant;
  kind: FailureModeKind;
  stratum: Stratum;
  params: unknown;
  requested: number;
  planned: number;
  order: Int32Array;
  cursor: number;
  rng: Rng;
  exhausted: boolean;
}

/**
 * A seeded, severity-balanced corruption plan over a cohort.
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
  const { cohort, seed } = options;
  if (!cohort || typeof cohort.record !== 'function') {
    throw new ValidationError('cohort', 'a Cohort (createCohort)', cohort);
  }
  if (!Number.isInteger(options.n) || options.n < 1) {
    throw new ValidationError('n', 'a positive integer number of examples', options.n);
  }
  if (typeof seed !== 'number' && typeof seed !== 'string') {
    throw new ValidationError('seed', 'a number or a string', seed);
  }
  const catalogue = options.catalogue ?? failureCatalogue;
  const maxAttempts = options.maxAttempts ?? 200;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError('maxAttempts', 'a positive integer', maxAttempts);
  }
  const rng = new Rng(seed);
  const keys = options.keys ?? createKeyAllocator({ rows: cohort.rows });

  // Which pairs may be used.
  const held = new Set<string>();
  (options.holdout ?? []).forEach((h, i) => {
    if (!h || typeof h.mode !== 'string')
      throw new ValidationError(`holdout[${i}].mode`, 'a failure-mode id', h?.mode);
    const mode = catalogue.mode(h.mode);
    if (h.variant === undefined) for (const v of mode.variants) held.add(`${mode.id}/${v.id}`);
    else held.add(`${mode.id}/${mode.variant(h.variant).id}`);
  });
  const catalogueKinds = [...new Set(catalogue.modes.map((m) => m.kind))];
  const kinds = options.kinds ?? catalogueKinds;
  kinds.forEach((k, i) => {
    if (k !== 'accidental' && k !== 'malicious') {
      throw new ValidationError(`kinds[${i}]`, '"accidental" or "malicious"', k);
    }
  });
  const params = options.params ?? {};
  for (const key of Object.keys(params)) {
    const [m, v] = key.split('/');
    const mode = catalogue.mode(m!);
    if (v !== undefined) mode.variant(v);
  }
  const paramsFor = (v: FailureVariant): unknown => params[`${v.mode}/${v.id}`] ?? params[v.mode];

  const eligible = options.eligible ?? (() => true);
  const population = cohort.records.filter((r) => eligible(r));
  const byStratum = new Map<Stratum, Slot[]>();
  for (const mode of catalogue.modes) {
    if (!kinds.includes(mode.kind)) continue;
    for (const v of mode.variants) {
      if (held.has(`${mode.id}/${v.id}`) || v.band === 'normal') continue;
      const p = paramsFor(v);
      mode.parseParams(v.id, p); // a bad parameter fails now, naming it
      const stratum = stratumOf(v, mode.kind);
      const list = byStratum.get(stratum) ?? [];
      list.push({
        variant: v,
        kind: mode.kind,
        stratum,
        params: p,
        requested: 0,
        planned: 0,
        order: new Int32Array(0),
        cursor: 0,
        rng: rng.fork(),
        exhausted: false,
      });
      byStratum.set(stratum, list);
    }
  }

  if (byStratum.size === 0) {
    throw new ValidationError(
      'kinds',
      `kinds and holdouts that leave at least one (mode, variant); the catalogue has ${catalogueKinds.join(', ')} modes`,
      kinds,
    );
  }

  // Stratum counts from the severity package, then spread over the available pairs.
  const droppedStrata: Stratum[] = [];
  let mix: SamplingMix;
  if (options.mix) {
    mix = options.mix;
    for (const s of STRATA) {
      if (s !== 'normal' && (mix[s] ?? 0) > 0 && !byStratum.has(s)) {
        throw new ValidationError(
          `mix.${s}`,
          `weight 0: no available (mode, variant) in stratum ${s} (kinds, holdouts and the catalogue leave none)`,
          mix[s],
        );
      }
    }
  } else {
    const m: Record<string, number> = { ...DEFAULT_SAMPLING_MIX };
    for (const s of STRATA) {
      if (s !== 'normal' && !byStratum.has(s) && m[s]! > 0) {
        m[s] = 0;
        droppedStrata.push(s);
      }
    }
    mix = m as SamplingMix;
  }
  const counts = samplingPlan(options.n, mix);
  const slots: Slot[] = [];
  for (const s of STRATA) {
    const list = byStratum.get(s);
    if (s === 'normal' || !list) continue;
    const spread = allocateLargestRemainder(
      counts[s],
      list.map(() => 1),
    );
    list.forEach((slot, i) => {
      slot.requested = spread[i]!;
      slot.order = slot.rng.permutation(population.length);
    });
    slots.push(...list);
  }

  // Footprints already claimed.
  const claimedTtx = new Set<number>();
  const claimedFields = new Set<number>();
  const claimedRows = new Set<string>();
  const applications: FailureApplication[] = [];
  const slotOf: Slot[] = [];

  /**
   * What an application occupies: the records it affects or concerns, the rows it writes, and the
   * fields whose rows it writes or on which it inserts a treatment (a later change to such a
   * field would silently affect that record too).
   */
  const footprint = (app: FailureApplication) => {
    const ttx = new Set([...app.affectedTtxIds, ...app.contextTtxIds]);
    if (app.targetTtxId !== null) ttx.add(app.targetTtxId);
    const fields = new Set<number>();
    for (const c of app.changes) {
      if (c.table === 'TxField') fields.add(c.key);
      if (c.table === 'TxFieldPoint') {
        const fld = c.kind === 'update' ? cohort.row('TxFieldPoint', c.key)?.FLD_ID : c.row.FLD_ID;
        if (typeof fld === 'number') fields.add(fld);
      }
      if (c.table === 'TrackTreatment' && c.kind === 'insert' && typeof c.row.FLD_ID === 'number') {
        fields.add(c.row.FLD_ID);
      }
    }
    const rows = new Set(app.changes.map((c) => `${c.table}:${c.key}`));
    return { ttx, fields, rows };
  };
  const free = (f: ReturnType<typeof footprint>) =>
    ![...f.ttx].some((x) => claimedTtx.has(x)) &&
    ![...f.fields].some((x) => claimedFields.has(x)) &&
    ![...f.rows].some((x) => claimedRows.has(x));

  /** Tries to plan one more application of a slot's pair. */
  const planOne = (slot: Slot): boolean => {
    const mode = catalogue.mode(slot.variant.mode);
    let rejected = 0;
    while (slot.cursor < population.length && rejected < maxAttempts) {
      const record = population[slot.order[slot.cursor++]!]!;
      const tt = record.treatment;
      if (claimedTtx.has(tt.TTX_ID)) continue;
      // A field-scope mode writes the target's field: skip fields already written.
      if (mode.scope === 'field' && tt.FLD_ID !== null && claimedFields.has(tt.FLD_ID)) continue;
      if (mode.check({ variant: slot.variant.id, target: record, cohort, params: slot.params }) !== null)
        continue;
      let app: FailureApplication;
      try {
        app = mode.apply({
          variant: slot.variant.id,
          target: record,
          cohort,
          params: slot.params,
          rng: slot.rng.fork(),
          keys,
        });
      } catch (e) {
        if (e instanceof NotApplicableError) {
          rejected++;
          continue;
        }
        throw e;
      }
      const f = footprint(app);
      if (!free(f)) {
        rejected++;
        continue;
      }
      for (const x of f.ttx) claimedTtx.add(x);
      for (const x of f.fields) claimedFields.add(x);
      for (const x of f.rows) claimedRows.add(x);
      applications.push(app);
      slotOf.push(slot);
      slot.planned++;
      return true;
    }
    slot.exhausted = true;
    return false;
  };

  // Round-robin over pairs so that no pair takes all the scarce targets.
  for (let progress = true; progress; ) {
    progress = false;
    for (const slot of slots) {
      if (slot.planned < slot.requested && !slot.exhausted && planOne(slot)) progress = true;
    }
  }
  // A stratum whose pairs ran out hands the missing slots to its other pairs.
  const shortfall: { stratum: Stratum; missing: number; reason: string }[] = [];
  for (const s of STRATA) {
    if (s === 'normal') continue;
    const list = slots.filter((x) => x.stratum === s);
    let missing = counts[s] - list.reduce((a, x) => a + x.planned, 0);
    while (missing > 0) {
      const open = list.filter((x) => !x.exhausted);
      if (open.length === 0) break;
      for (const slot of open) {
        if (missing > 0 && planOne(slot)) {
          slot.requested = Math.max(slot.requested, slot.planned);
          missing--;
        }
      }
    }
    if (missing > 0) {
      shortfall.push({
        stratum: s,
        missing,
        reason: 'not enough suitable records that share no field with another example in the cohort',
      });
    }
  }

  // Examples, labels, exclusions.
  const examples: LabelledExample[] = applications.map((app, i) => ({
    ttxId: app.primaryTtxId,
    mode: app.mode,
    variant: app.variant,
    kind: app.kind,
    severity: app.severity,
    band: app.band,
    stratum: slotOf[i]!.stratum,
    application: i,
  }));
  const labels: RecordLabel[] = [];
  const excluded = new Set<number>();
  applications.forEach((app, i) => {
    for (const id of app.affectedTtxIds) {
      labels.push({
        ttxId: id,
        mode: app.mode,
        variant: app.variant,
        severity: app.severity,
        application: i,
        primary: id === app.primaryTtxId,
      });
      if (id !== app.primaryTtxId) excluded.add(id);
    }
    for (const id of app.contextTtxIds) excluded.add(id);
  });
  labels.sort((a, b) => a.ttxId - b.ttxId);

  const normalPool = population.filter(
    (r) =>
      !claimedTtx.has(r.treatment.TTX_ID) &&
      !excluded.has(r.treatment.TTX_ID) &&
      (r.treatment.FLD_ID === null || !claimedFields.has(r.treatment.FLD_ID)),
  );
  const nNormal = Math.min(counts.normal, normalPool.length);
  const normals = Array.from(
    rng.sampleIndices(normalPool.length, nNormal),
    (i) => normalPool[i]!.treatment.TTX_ID,
  ).sort((a, b) => a - b);
  for (const ttxId of normals) {
    examples.push({
      ttxId,
      mode: null,
      variant: null,
      kind: null,
      severity: 0,
      band: 'normal',
      stratum: 'normal',
      application: null,
    });
  }
  if (nNormal < counts.normal) {
    shortfall.unshift({
      stratum: 'normal',
      missing: counts.normal - nNormal,
      reason: 'not enough eligible records left that no change affects and whose field no change writes',
    });
  }

  // Footprints are disjoint (no row is written twice), so the changes apply one after another.
  const changes = applications.flatMap((a) => a.changes);

  return Object.freeze({
    seed,
    n: options.n,
    mix: Object.freeze(normaliseMix(mix)),
    droppedStrata: Object.freeze(droppedStrata),
    strata: STRATA.map((s) => ({
      stratum: s,
      requested: counts[s],
      planned:
        s === 'normal' ? nNormal : slots.filter((x) => x.stratum === s).reduce((a, x) => a + x.planned, 0),
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
    changes: Object.freeze(changes),
    labels: Object.freeze(labels),
    excludedTtxIds: Object.freeze([...excluded].sort((a, b) => a - b)),
    shortfall: Object.freeze(shortfall),
  });
}

/** The mix's weights normalised to sum to 1 (`samplingPlan` has checked that one is positive). */
function normaliseMix(mix: SamplingMix): Record<Stratum, number> {
  const total = STRATA.reduce((a, s) => a + (mix[s] ?? 0), 0);
  return Object.fromEntries(STRATA.map((s) => [s, (mix[s] ?? 0) / total])) as Record<Stratum, number>;
}
