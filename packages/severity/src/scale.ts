import { categorize, isInDocumentedGap, type SeverityBand } from './bands';
import {
  type Catalogue,
  type CatalogueMode,
  defineCatalogue,
  type FailureModeKind,
  isDefinedCatalogue,
  type ReadonlyCatalogueInput,
} from './catalogue';
import { SeverityValidationError, UnknownFailureModeError, UnknownVariantError } from './errors';
import { type Escalation, escalateSeverity, type MaliciousFactors } from './malicious';
import {
  type ResponseTime,
  type RouteOptions,
  type RoutingAction,
  type RoutingDecision,
  route,
} from './routing';
import {
  allocateLargestRemainder,
  type SamplingMix,
  STRATA,
  STRATUM_BAND,
  type Stratum,
  samplingPlan,
} from './sampling';

/** A (mode, variant) of the catalogue with its severity; `variant: null` is the base severity. */
export interface CataloguePair {
  readonly mode: string;
  readonly variant: string | null;
  readonly kind: FailureModeKind;
  readonly value: number;
  readonly band: SeverityBand;
}

/** Everything the scale says about one (mode, variant). */
export interface SeverityAssessment extends CataloguePair {
  /** The mode's description. */
  readonly description: string;
  /** Why this value (the variant's rationale, or the mode's base rationale). */
  readonly rationale: string;
  readonly action: RoutingAction;
  readonly responseTime: ResponseTime;
  /** Recommended steps from the catalogue's playbook (malicious steps included for malicious modes). */
  readonly steps: readonly string[];
  /** The value lies between seed 001's documented band ranges (e.g. 0.9, 2.4). */
  readonly inDocumentedGap: boolean;
}

export interface PlannedPair extends CataloguePair {
  readonly count: number;
}

export interface StratumPlan {
  readonly stratum: Stratum;
  readonly band: SeverityBand;
  readonly count: number;
  /** The stratum's count spread evenly over its pairs (empty for `normal`: clean records). */
  readonly pairs: readonly PlannedPair[];
}

export interface CatalogueSamplingPlan {
  readonly n: number;
  readonly strata: readonly StratumPlan[];
}

export interface SeverityScale {
  readonly catalogue: Catalogue;
  /** Mode ids in catalogue order, optionally only one kind. */
  modeIds(kind?: FailureModeKind): string[];
  /** A mode's definition. Throws UnknownFailureModeError. */
  getMode(mode: string): CatalogueMode;
  /**
   * Severity of (mode, variant). Omitting the variant (or passing null) explicitly asks for the
   * mode's base value. Throws UnknownFailureModeError / UnknownVariantError, never falls back.
   */
  severity(mode: string, variant?: string | null): number;
  /** Severity with band, rationale, action, response time and steps. */
  assess(mode: string, variant?: string | null): SeverityAssessment;
  /** Every variant of every mode (a mode without variants contributes its base), in catalogue order. */
  entries(): SeverityAssessment[];
  /** The (mode, variant) pairs of each sampling stratum (`normal` is always empty). */
  pairsByStratum(): Record<Stratum, CataloguePair[]>;
  /**
   * Counts per stratum for `n` records (summing to `n`), each spread evenly over the stratum's
   * pairs. Throws when a stratum with a positive count has no pair in this catalogue: give it
   * weight 0 in `mix` to leave it out.
   */
  samplingPlan(n: number, mix?: SamplingMix): CatalogueSamplingPlan;
  /** `route` with this catalogue's playbook. */
  route(value: number, options?: Omit<RouteOptions, 'playbook'>): RoutingDecision;
  /** Escalates (mode, variant)'s severity with malicious factors (see `escalateSeverity`). */
  escalate(
    mode: string,
    variant: string | null | undefined,
    factors: MaliciousFactors,
  ): Escalation & { mode: string; variant: string | null };
}

/**
 * A severity scale over a catalogue. Accepts a catalogue from `defineCatalogue` or a plain
 * object, which is validated here. (The Mosaiq scale is `mosaiqScale` of `@anomalia/severity/mosaiq`.)
 */
export function createSeverityScale(catalogue: Catalogue | ReadonlyCatalogueInput): SeverityScale {
  const cat: Catalogue = isDefinedCatalogue(catalogue) ? catalogue : defineCatalogue(catalogue);
  const byId = new Map(cat.modes.map((m) => [m.id, m]));
  const modeIds = cat.modes.map((m) => m.id);

  const getMode = (mode: string): CatalogueMode => {
    if (typeof mode !== 'string')
      throw new SeverityValidationError('mode', 'a failure-mode id (string)', mode);
    const found = byId.get(mode);
    if (!found) throw new UnknownFailureModeError(mode, modeIds, cat.name);
    return found;
  };

  const lookup = (mode: string, variant: string | null | undefined) => {
    const m = getMode(mode);
    if (variant === undefined || variant === null) {
      return { m, variant: null, value: m.base, rationale: m.baseRationale ?? m.description };
    }
    if (typeof variant !== 'string')
      throw new SeverityValidationError('variant', 'a variant id (string), null or undefined', variant);
    const v = m.variants.find((x) => x.id === variant);
    if (!v)
      throw new UnknownVariantError(
        mode,
        variant,
        m.variants.map((x) => x.id),
      );
    return { m, variant: v.id, value: v.value, rationale: v.rationale };
  };

  const scaleRoute = (value: number, options: Omit<RouteOptions, 'playbook'> = {}) =>
    route(value, cat.playbook ? { ...options, playbook: cat.playbook } : options);

  const assess = (mode: string, variant?: string | null): SeverityAssessment => {
    const { m, variant: v, value, rationale } = lookup(mode, variant);
    const decision = scaleRoute(value, { malicious: m.kind === 'malicious' });
    return {
      mode: m.id,
      variant: v,
      kind: m.kind,
      value,
      band: decision.band,
      description: m.description,
      rationale,
      action: decision.action,
      responseTime: decision.responseTime,
      steps: decision.steps,
      inDocumentedGap: isInDocumentedGap(value),
    };
  };

  const pairs = (): CataloguePair[] =>
    cat.modes.flatMap((m): CataloguePair[] =>
      m.variants.length === 0
        ? [{ mode: m.id, variant: null, kind: m.kind, value: m.base, band: categorize(m.base) }]
        : m.variants.map((v) => ({
            mode: m.id,
            variant: v.id,
            kind: m.kind,
            value: v.value,
            band: categorize(v.value),
          })),
    );

  const stratumOf = (p: CataloguePair): Stratum =>
    p.band === 'critical' ? (p.kind === 'malicious' ? 'critical_malicious' : 'critical_accidental') : p.band;

  const pairsByStratum = (): Record<Stratum, CataloguePair[]> => {
    const out = Object.fromEntries(STRATA.map((s) => [s, [] as CataloguePair[]])) as Record<
      Stratum,
      CataloguePair[]
    >;
    // A normal-band variant (severity < 0.4) is not a failure to sample: normal records are clean ones.
    for (const p of pairs()) if (p.band !== 'normal') out[stratumOf(p)].push(p);
    return out;
  };

  return Object.freeze({
    catalogue: cat,
    modeIds: (kind?: FailureModeKind) => {
      if (kind === undefined) return [...modeIds];
      if (kind !== 'accidental' && kind !== 'malicious') {
        throw new SeverityValidationError('kind', '"accidental" or "malicious"', kind);
      }
      return cat.modes.filter((m) => m.kind === kind).map((m) => m.id);
    },
    getMode,
    severity: (mode: string, variant?: string | null) => lookup(mode, variant).value,
    assess,
    entries: () => pairs().map((p) => assess(p.mode, p.variant)),
    pairsByStratum,
    samplingPlan: (n: number, mix?: SamplingMix): CatalogueSamplingPlan => {
      const counts = samplingPlan(n, mix);
      const byStratum = pairsByStratum();
      const strata = STRATA.map((stratum): StratumPlan => {
        const count = counts[stratum];
        const available = byStratum[stratum];
        if (stratum === 'normal') return { stratum, band: 'normal', count, pairs: [] };
        if (available.length === 0) {
          if (count > 0) {
            throw new SeverityValidationError(
              `mix.${stratum}`,
              `weight 0: catalogue "${cat.name}" has no ${stratum} (mode, variant) to sample ${count} record(s) from`,
              mix?.[stratum] ?? 'the default weight',
            );
          }
          return { stratum, band: STRATUM_BAND[stratum], count, pairs: [] };
        }
        const spread = allocateLargestRemainder(
          count,
          available.map(() => 1),
        );
        return {
          stratum,
          band: STRATUM_BAND[stratum],
          count,
          pairs: available.map((p, i) => ({ ...p, count: spread[i]! })),
        };
      });
      return { n, strata };
    },
    route: scaleRoute,
    escalate: (mode: string, variant: string | null | undefined, factors: MaliciousFactors) => {
      const { m, variant: v, value } = lookup(mode, variant);
      return { mode: m.id, variant: v, ...escalateSeverity(value, factors) };
    },
  });
}
