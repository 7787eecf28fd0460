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
  for (let progress = true; progress; ) {
    progress = false;
    for (const slot of slots) {
      if (slot.planned < slot.requested && !slot.exhausted && drawOne(slot, ctx, drawn)) progress = true;
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
        keys: ctx.keys,
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
