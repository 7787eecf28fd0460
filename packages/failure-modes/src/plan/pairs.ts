import { type Rng, ValidationError } from '@anomalia/core';
import type { FailureModeKind, Stratum } from '@anomalia/severity';
import type { FailureCatalogue } from '../catalogue';
import type { FailureVariant } from '../failure-mode';

/** A (mode, variant) or a whole mode to leave out of a plan (e.g. held out to test generalisation). */
export interface Holdout {
  readonly mode: string;
  /** Omit to hold out every variant of the mode. */
  readonly variant?: string;
}

/** What the plan may use: which pairs, of which kinds, with which parameters. */
export interface PairSelection {
  readonly holdout?: readonly Holdout[];
  readonly kinds?: readonly FailureModeKind[];
  readonly params?: Readonly<Record<string, unknown>>;
}

/** One (mode, variant) of the plan: how many examples it owes and its seeded draw of targets. */
export interface Slot {
  readonly variant: FailureVariant;
  readonly kind: FailureModeKind;
  readonly stratum: Stratum;
  readonly params: unknown;
  requested: number;
  planned: number;
  /** The order in which the population's records are tried as targets. */
  order: Int32Array;
  cursor: number;
  /** Courses (or fields) a cross-record pair already tried: another target there gives the same footprint. */
  readonly tried: Set<string>;
  readonly rng: Rng;
  exhausted: boolean;
}

/** A variant's sampling stratum: its band, with the critical band split by kind. */
export const stratumOf = (v: FailureVariant, kind: FailureModeKind): Stratum =>
  v.band === 'critical'
    ? kind === 'malicious'
      ? 'critical_malicious'
      : 'critical_accidental'
    : (v.band as Stratum);

/**
 * Stage 1: the usable (mode, variant) pairs grouped by stratum, in catalogue order, each with a
 * generator forked from `rng` in that order. Holdouts, kinds and parameter keys are validated
 * (unknown ids throw, naming the field), and every pair's parameters are parsed now so that a bad
 * one fails before anything is drawn. Normal-band variants are never corruptions to plan.
 */
export function selectPairs(
  selection: PairSelection,
  catalogue: FailureCatalogue,
  rng: Rng,
): Map<Stratum, Slot[]> {
  const held = heldOutPairs(selection.holdout ?? [], catalogue);
  const catalogueKinds = [...new Set(catalogue.modes.map((m) => m.kind))];
  const kinds = selection.kinds ?? catalogueKinds;
  kinds.forEach((k, i) => {
    if (k !== 'accidental' && k !== 'malicious') {
      throw new ValidationError(`kinds[${i}]`, '"accidental" or "malicious"', k);
    }
  });
  const params = selection.params ?? {};
  for (const key of Object.keys(params)) {
    const [m, v] = key.split('/');
    const mode = catalogue.mode(m!);
    if (v !== undefined) mode.variant(v);
  }
  const paramsFor = (v: FailureVariant): unknown => params[`${v.mode}/${v.id}`] ?? params[v.mode];

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
        tried: new Set(),
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
  return byStratum;
}

/** `"mode/variant"` keys of the held-out pairs (a holdout without a variant holds out the whole mode). */
function heldOutPairs(holdout: readonly Holdout[], catalogue: FailureCatalogue): Set<string> {
  const held = new Set<string>();
  holdout.forEach((h, i) => {
    if (!h || typeof h.mode !== 'string')
      throw new ValidationError(`holdout[${i}].mode`, 'a failure-mode id', h?.mode);
    const mode = catalogue.mode(h.mode);
    if (h.variant === undefined) for (const v of mode.variants) held.add(`${mode.id}/${v.id}`);
    else held.add(`${mode.id}/${mode.variant(h.variant).id}`);
  });
  return held;
}
