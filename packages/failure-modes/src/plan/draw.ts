import type { TreatmentRecord } from '@anomalia/mosaiq';
import { STRATA, type Stratum } from '@anomalia/severity';
import type { FailureCatalogue } from '../catalogue';
import type { Cohort } from '../cohort';
import { NotApplicableError } from '../errors';
import type { FailureApplication } from '../failure-mode';
import type { KeyAllocator } from '../keys';
import type { Claims } from './footprint';
import type { Slot } from './pairs';

export interface DrawContext {
  readonly catalogue: FailureCatalogue;
  readonly cohort: Cohort;
  /** Records that may be targets, in cohort order (the slots' orders index it). */
  readonly population: readonly TreatmentRecord[];
  readonly keys: KeyAllocator;
  readonly claims: Claims;
  /** Rejected candidate targets tolerated per example before the pair counts as exhausted. */
  readonly maxAttempts: number;
}

export interface Drawn {
  readonly applications: FailureApplication[];
  /** The slot of each application. */
  readonly slotOf: Slot[];
  readonly shortfall: { stratum: Stratum; missing: number; reason: string }[];
}

/**
 * Stage 4: the applications. Round-robin over the pairs so that no pair takes all the scarce
 * targets; then, in each stratum whose pairs ran short, the pairs that still have targets take
 * over the missing examples. What no pair can fill is reported as shortfall.
 */
export function drawApplications(
  slots: readonly Slot[],
  counts: Readonly<Record<Stratum, number>>,
  ctx: DrawContext,
): Drawn {
  const drawn: Drawn = { applications: [], slotOf: [], shortfall: [] };
  // Malicious applications claim whole courses: they are placed first, while courses are still
  // free, and interleaved by mode (each mode's first variant, then each mode's second, ...) so
  // that when courses are scarce every mode is represented before any mode's second variant.
  const rank = (slot: Slot) =>
    ctx.catalogue.mode(slot.variant.mode).variants.findIndex((v) => v.id === slot.variant.id);
  const malicious = slots
    .map((slot, i) => ({ slot, i }))
    .filter((x) => x.slot.kind === 'malicious')
    .sort((a, b) => rank(a.slot) - rank(b.slot) || a.i - b.i)
    .map((x) => x.slot);
  const groups = [malicious, slots.filter((s) => s.kind !== 'malicious')];
  for (const group of groups) {
    for (let progress = true; progress; ) {
      progress = false;
      for (const slot of group) {
        if (slot.planned < slot.requested && !slot.exhausted && drawOne(slot, ctx, drawn)) progress = true;
      }
    }
  }
  for (const s of STRATA) {
    if (s === 'normal') continue;
    const list = slots.filter((x) => x.stratum === s);
    let missing = counts[s] - list.reduce((a, x) => a + x.planned, 0);
    while (missing > 0) {
      const open = list.filter((x) => !x.exhausted);
      if (open.length === 0) break;
      for (const slot of open) {
        if (missing > 0 && drawOne(slot, ctx, drawn)) {
          slot.requested = Math.max(slot.requested, slot.planned);
          missing--;
        }
      }
    }
    if (missing > 0) {
      drawn.shortfall.push({
        stratum: s,
        missing,
        reason: 'not enough suitable records that share no field with another example in the cohort',
      });
    }
  }
  return drawn;
}

/**
 * Tries the slot's next targets in its seeded order until one takes an application whose
 * footprint is free. Returns false (and marks the slot exhausted) when the population runs out
 * or `maxAttempts` candidates were rejected.
 */
function drawOne(slot: Slot, ctx: DrawContext, drawn: Drawn): boolean {
  const { cohort, population, claims } = ctx;
  const mode = ctx.catalogue.mode(slot.variant.mode);
  let rejected = 0;
  while (slot.cursor < population.length && rejected < ctx.maxAttempts) {
    const record = population[slot.order[slot.cursor++]!]!;
    const tt = record.treatment;
    if (claims.records.has(tt.TTX_ID)) continue;
    // A field-scope mode writes the target's field: skip fields already written.
    if (mode.scope === 'field' && tt.FLD_ID !== null && claims.fields.has(tt.FLD_ID)) continue;
    // A cross-record malicious mode gives one footprint per course (field): try each course once.
    const course = courseKey(mode.kind, mode.scope, record);
    if (course !== null && slot.tried.has(course)) continue;
    // A malicious application takes a whole course: one per patient (per field for field-scope modes).
    if (course !== null && takenCourse(cohort, claims, mode.scope, record)) continue;
    if (mode.check({ variant: slot.variant.id, target: record, cohort, params: slot.params }) !== null)
      continue;
    if (course !== null) slot.tried.add(course);
    let app: FailureApplication;
    try {
      app = mode.apply({
        variant: slot.variant.id,
        target: record,
        cohort,
        params: slot.params,
        rng: slot.rng.fork(),
        keys: ctx.keys,
        avoid: claims.records,
      });
    } catch (e) {
      if (e instanceof NotApplicableError) {
        rejected++;
        continue;
      }
      throw e;
    }
    const footprint = claims.fit(app);
    if (!footprint) {
      rejected++;
      continue;
    }
    claims.claim(footprint);
    drawn.applications.push(app);
    drawn.slotOf.push(slot);
    slot.planned++;
    return true;
  }
  slot.exhausted = true;
  return false;
}

/** The course (or field) whose footprint a malicious application on `record` takes, or null (record-level). */
function courseKey(kind: string, scope: string, record: TreatmentRecord): string | null {
  if (kind !== 'malicious') return null;
  const t = record.treatment;
  if (scope === 'field') return `f:${t.FLD_ID}`;
  return `p:${t.Pat_ID1}:${record.field?.SIT_Set_ID ?? t.FLD_ID}`;
}

/** Whether another application already claimed a record of the target's patient (of its field, for field scope). */
function takenCourse(cohort: Cohort, claims: Claims, scope: string, record: TreatmentRecord): boolean {
  const t = record.treatment;
  const rows =
    scope === 'field'
      ? t.FLD_ID === null
        ? []
        : cohort.treatmentsOf('FLD_ID', t.FLD_ID)
      : t.Pat_ID1 === null
        ? []
        : cohort.treatmentsOf('Pat_ID1', t.Pat_ID1);
  return rows.some((r) => claims.records.has(r.TTX_ID));
}
