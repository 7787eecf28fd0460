import { ValidationError } from '@anomalia/core';
import {
  allocateLargestRemainder,
  DEFAULT_SAMPLING_MIX,
  type SamplingMix,
  STRATA,
  type Stratum,
} from '@anomalia/severity';
import type { Slot } from './pairs';

/**
 * Stage 2: the weights per stratum. An explicit mix must give weight 0 to every stratum that has
 * no available pair; the default mix (seed 001's 50/15/15/10/5/5 %) drops such strata instead and
 * lists them.
 */
export function resolveMix(
  requested: SamplingMix | undefined,
  byStratum: ReadonlyMap<Stratum, readonly Slot[]>,
): { mix: SamplingMix; droppedStrata: Stratum[] } {
  const droppedStrata: Stratum[] = [];
  if (requested) {
    for (const s of STRATA) {
      if (s !== 'normal' && (requested[s] ?? 0) > 0 && !byStratum.has(s)) {
        throw new ValidationError(
          `mix.${s}`,
          `weight 0: no available (mode, variant) in stratum ${s} (kinds, holdouts and the catalogue leave none)`,
          requested[s],
        );
      }
    }
    return { mix: requested, droppedStrata };
  }
  const m: Record<string, number> = { ...DEFAULT_SAMPLING_MIX };
  for (const s of STRATA) {
    if (s !== 'normal' && !byStratum.has(s) && m[s]! > 0) {
      m[s] = 0;
      droppedStrata.push(s);
    }
  }
  return { mix: m as SamplingMix, droppedStrata };
}

/**
 * Stage 3: each stratum's count spread evenly over its pairs (largest remainder), and each
 * pair's seeded order over the population. Returns the slots in stratum order.
 */
export function allocateSlots(
  byStratum: ReadonlyMap<Stratum, Slot[]>,
  counts: Readonly<Record<Stratum, number>>,
  populationSize: number,
): Slot[] {
  const slots: Slot[] = [];
  for (const s of STRATA) {
    const list = byStratum.get(s);
    if (s === 'normal' || !list) continue;
    const ordered = s === 'critical_malicious' ? interleaveByMode(list) : list;
    const spread = allocateLargestRemainder(
      counts[s],
      ordered.map(() => 1),
    );
    ordered.forEach((slot, i) => {
      slot.requested = spread[i]!;
    });
    for (const slot of list) slot.order = slot.rng.permutation(populationSize);
    slots.push(...list);
  }
  return slots;
}

/**
 * The malicious pairs in the order their share is handed out: each mode's first variant, then
 * each mode's second, … (so a count below the number of pairs still covers every mode), starting
 * at a seeded position (so which variants a small count leaves out changes with the seed).
 */
function interleaveByMode(list: readonly Slot[]): Slot[] {
  const rank = new Map<Slot, number>();
  const seen = new Map<string, number>();
  for (const slot of list) {
    const r = seen.get(slot.variant.mode) ?? 0;
    rank.set(slot, r);
    seen.set(slot.variant.mode, r + 1);
  }
  const ordered = list
    .map((slot, i) => ({ slot, i }))
    .sort((a, b) => rank.get(a.slot)! - rank.get(b.slot)! || a.i - b.i)
    .map((x) => x.slot);
  const offset = list[0]!.rng.integer(0, ordered.length);
  return [...ordered.slice(offset), ...ordered.slice(0, offset)];
}

/** The mix's weights normalised to sum to 1 (`samplingPlan` has checked that one is positive). */
export function normaliseMix(mix: SamplingMix): Record<Stratum, number> {
  const total = STRATA.reduce((a, s) => a + (mix[s] ?? 0), 0);
  return Object.fromEntries(STRATA.map((s) => [s, (mix[s] ?? 0) / total])) as Record<Stratum, number>;
}
