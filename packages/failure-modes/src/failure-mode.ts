import { assertNoPrototypeKeys, parseWith, Rng, ValidationError } from '@anomalia/core';
import { type Change, type TreatmentRecord, validateChange } from '@anomalia/mosaiq';
import {
  categorize,
  type FailureModeKind,
  type SeverityBand,
  type SeverityScale,
  UnknownVariantError,
} from '@anomalia/severity';
import { mosaiqScale } from '@anomalia/severity/mosaiq';
import { z } from 'zod';
import { type Cohort, createCohort } from './cohort';
import { NotApplicableError } from './errors';
import { impactOf } from './impact';
import { createKeyAllocator, type KeyAllocator } from './keys';

/**
 * What one application of a mode corrupts:
 * - `record`: one TrackTreatment row and the rows only it uses (a timestamp, a foreign key);
 * - `field`: a TxField and its TxFieldPoint rows, shared by every treatment of that field;
 * - `patient`: several fields or fractions of one patient (e.g. a dose escalation over a course);
 * - `cohort`: many patients (e.g. targeted selection).
 * Whatever the scope, an application reports every record it affects (`affectedTtxIds`).
 */
export type FailureScope = 'record' | 'field' | 'patient' | 'cohort';

/** What a variant's `apply` sees. Never mutate any of it but `rng` and `keys`. */
export interface VariantContext<P> {
  /** The record the caller pointed at (for a cohort-scope mode: the first record of the cohort). */
  readonly target: TreatmentRecord;
  readonly cohort: Cohort;
  readonly params: P;
  readonly rng: Rng;
  readonly keys: KeyAllocator;
  /** Records another application already changed: a mode that picks victims picks them elsewhere. */
  readonly avoid: ReadonlySet<number>;
}

/** What a variant's `apply` returns. */
export interface VariantOutcome {
  readonly changes: readonly Change[];
  /** The TrackTreatment row that carries the failure when it is not the target (an inserted duplicate). */
  readonly primaryTtxId?: number;
  /** Records whose own rows are unchanged but that the failure is about (the original of a duplicate). */
  readonly contextTtxIds?: readonly number[];
  /** One line on what was done, for logs and tool output. */
  readonly summary: string;
}

/** How to write one variant (see `defineFailureMode`). */
export interface VariantDefinition<S extends z.ZodType = z.ZodType> {
  /** What the change does, to which table and column. */
  readonly description: string;
  /** `Table.Column` cells it writes (or `Table` for inserted / deleted rows). */
  readonly writes: readonly string[];
  /** QA features (names from @anomalia/features' 74) that react with the default parameters on a clean record. */
  readonly features: readonly string[];
  /** Features of the extended `qa74-cohort` set that react as well (cross-record signals). */
  readonly cohortFeatures?: readonly string[];
  /** What reveals it: which series or records, which test (malicious modes hide from single-record checks). */
  readonly evidence?: string;
  /** Zod schema of the parameters (a strict object with defaults). */
  readonly params: S;
  /** Why `target` does not suit this variant with these parameters, or null when it does. */
  check?(target: TreatmentRecord, cohort: Cohort, params: z.output<S>): string | null;
  /** The changes, computed from the cohort's current rows. Pure but for `rng` and `keys`. */
  apply(ctx: VariantContext<z.output<S>>): VariantOutcome;
}

/** A mode's definition; `Id` and `V` narrow its id and variant ids (see `defineMosaiqMode`). */
export interface FailureModeDefinition<Id extends string = string, V extends string = string> {
  readonly id: Id;
  readonly kind: FailureModeKind;
  readonly scope: FailureScope;
  readonly description: string;
  /** Variants in catalogue order. Their severities come from the severity scale, never from here. */
  readonly variants: Readonly<Record<V, VariantDefinition>>;
}

/** One variant of a catalogued mode, with its severity from @anomalia/severity. */
export interface FailureVariant {
  readonly id: string;
  readonly mode: string;
  readonly severity: number;
  readonly band: SeverityBand;
  readonly description: string;
  readonly writes: readonly string[];
  readonly features: readonly string[];
  readonly cohortFeatures: readonly string[];
  /** What reveals it (series, records, test); empty when the features above are the whole story. */
  readonly evidence: string;
  readonly params: z.ZodType;
}

/** Input of `FailureMode.apply`. */
export interface ApplyInput {
  readonly variant: string;
  /** The TTX_ID of a record of the cohort, or the record itself. Optional for cohort-scope modes only. */
  readonly target?: number | TreatmentRecord;
  /** The cohort, or its records. */
  readonly cohort: Cohort | readonly TreatmentRecord[];
  /** Parameters; omitted ones take their defaults. */
  readonly params?: unknown;
  /** A generator, or a seed for a fresh one. */
  readonly rng: Rng | number | string;
  /** Key allocator shared across applications (default: a fresh one over the cohort's rows). */
  readonly keys?: KeyAllocator;
  /**
   * TTX_IDs to leave alone (e.g. those a plan's earlier applications changed): cohort-scope modes
   * choose their other victims among patients with none of them. The target itself is the caller's.
   */
  readonly avoid?: ReadonlySet<number>;
}

/** The result of applying one (mode, variant): the changes and what they do to which records. */
export interface FailureApplication {
  readonly mode: string;
  readonly variant: string;
  readonly kind: FailureModeKind;
  readonly scope: FailureScope;
  readonly severity: number;
  readonly band: SeverityBand;
  /** The parameters used, defaults filled in. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The record the caller pointed at (null for a cohort-scope application without a target). */
  readonly targetTtxId: number | null;
  /** The record that carries the label as the application's example: the target, or the inserted row. */
  readonly primaryTtxId: number;
  /** Apply in order (one transaction); undo with `invertChanges`. */
  readonly changes: readonly Change[];
  /** Every TrackTreatment row whose record changes (label them all), ascending. */
  readonly affectedTtxIds: readonly number[];
  /** Rows not changed but part of the failure (never use them as normal examples). */
  readonly contextTtxIds: readonly number[];
  /** FLD_IDs of the affected records. */
  readonly fieldIds: readonly number[];
  readonly summary: string;
}

export interface FailureMode {
  readonly id: string;
  readonly kind: FailureModeKind;
  readonly scope: FailureScope;
  readonly description: string;
  /** The mode's base severity (from @anomalia/severity). */
  readonly severity: number;
  readonly variants: readonly FailureVariant[];
  /** A variant by id; throws UnknownVariantError listing the known ones. */
  variant(id: string): FailureVariant;
  /** Parses a variant's parameters (defaults filled); a bad one is a ValidationError naming `params.<name>`. */
  parseParams(variant: string, params?: unknown): Record<string, unknown>;
  /** Why `target` does not suit the variant, or null. */
  check(input: Omit<ApplyInput, 'rng' | 'keys'> & { target: number | TreatmentRecord }): string | null;
  /** The records of the cohort the variant can be applied to (with these parameters). */
  targets(cohort: Cohort, variant: string, params?: unknown): TreatmentRecord[];
  /** Applies a variant: validates everything, computes the changes and the records they affect. */
  apply(input: ApplyInput): FailureApplication;
}

function toCohort(cohort: Cohort | readonly TreatmentRecord[]): Cohort {
  if (Array.isArray(cohort)) return createCohort(cohort);
  if (cohort && typeof cohort === 'object' && typeof (cohort as Cohort).record === 'function') {
    return cohort as Cohort;
  }
  throw new ValidationError('cohort', 'a Cohort (createCohort) or an array of TreatmentRecords', cohort);
}

function resolveTarget(
  cohort: Cohort,
  target: number | TreatmentRecord | undefined,
  scope: FailureScope,
  suits?: (record: TreatmentRecord) => boolean,
): TreatmentRecord {
  if (target === undefined) {
    // A cohort-scope mode picks its own victims: without a target it starts from the first record it suits.
    const first =
      scope === 'cohort' ? (cohort.records.find((r) => suits?.(r) ?? true) ?? cohort.records[0]) : undefined;
    if (first) return first;
    throw new ValidationError(
      'target',
      scope === 'cohort' ? 'a cohort with at least one record' : 'the TTX_ID of a record of the cohort',
    );
  }
  const id = typeof target === 'number' ? target : target?.treatment?.TTX_ID;
  const found = typeof id === 'number' ? cohort.record(id) : undefined;
  if (!found) {
    throw new ValidationError('target', 'the TTX_ID (or record) of a TrackTreatment row in the cohort', id);
  }
  return found;
}

/**
 * Builds a catalogued failure mode from its definition. Severities are looked up in the severity
 * scale (the Mosaiq catalogue by default): an id or kind the scale does not know is an error, so
 * this package can never drift from @anomalia/severity.
 */
export function defineFailureMode(
  def: FailureModeDefinition,
  scale: SeverityScale = mosaiqScale,
): FailureMode {
  const catalogued = scale.getMode(def.id);
  if (catalogued.kind !== def.kind) {
    throw new ValidationError(
      `${def.id}.kind`,
      `"${catalogued.kind}" (as in the severity catalogue)`,
      def.kind,
    );
  }
  const definitions = new Map<string, VariantDefinition>(Object.entries<VariantDefinition>(def.variants));
  const variants: FailureVariant[] = [...definitions].map(([id, v]) => {
    const severity = scale.severity(def.id, id);
    return Object.freeze({
      id,
      mode: def.id,
      severity,
      band: categorize(severity),
      description: v.description,
      writes: Object.freeze([...v.writes]),
      features: Object.freeze([...v.features]),
      cohortFeatures: Object.freeze([...(v.cohortFeatures ?? [])]),
      evidence: v.evidence ?? '',
      params: v.params,
    });
  });
  const byId = new Map(variants.map((v) => [v.id, v]));

  const variant = (id: string): FailureVariant => {
    const found = typeof id === 'string' ? byId.get(id) : undefined;
    if (!found) throw new UnknownVariantError(def.id, String(id), [...byId.keys()]);
    return found;
  };
  const definition = (id: string) => {
    variant(id);
    return definitions.get(id)!;
  };
  const parse = (id: string, params: unknown) => parseVariantParams(definition(id).params, params);
  const checkResolved = (id: string, target: TreatmentRecord, cohort: Cohort, params: unknown) =>
    definition(id).check?.(target, cohort, params) ?? null;

  const mode: FailureMode = {
    id: def.id,
    kind: def.kind,
    scope: def.scope,
    description: def.description,
    severity: scale.severity(def.id),
    variants: Object.freeze(variants),
    variant,
    parseParams: (id, params) => parse(id, params) as Record<string, unknown>,
    check(input) {
      const cohort = toCohort(input.cohort);
      const params = parse(input.variant, input.params);
      return checkResolved(input.variant, resolveTarget(cohort, input.target, def.scope), cohort, params);
    },
    targets(cohort, id, params) {
      const c = toCohort(cohort);
      const parsed = parse(id, params);
      return c.records.filter((r) => checkResolved(id, r, c, parsed) === null);
    },
    apply(input) {
      if (!input || typeof input !== 'object')
        throw new ValidationError('input', 'an ApplyInput object', input);
      const v = variant(input.variant);
      const cohort = toCohort(input.cohort);
      const params = parse(v.id, input.params);
      const target = resolveTarget(
        cohort,
        input.target,
        def.scope,
        (r) => checkResolved(v.id, r, cohort, params) === null,
      );
      const ttxId = target.treatment.TTX_ID;
      const reason = checkResolved(v.id, target, cohort, params);
      if (reason !== null) throw new NotApplicableError(def.id, v.id, ttxId, reason);
      const rng =
        input.rng instanceof Rng
          ? input.rng
          : typeof input.rng === 'number' || typeof input.rng === 'string'
            ? new Rng(input.rng)
            : null;
      if (!rng) throw new ValidationError('rng', 'an Rng or a seed (number or string)', input.rng);
      const keys = input.keys ?? createKeyAllocator({ rows: cohort.rows });
      const avoid = input.avoid ?? EMPTY_SET;
      const outcome = definitions.get(v.id)!.apply({ target, cohort, params, rng, keys, avoid });
      const changes = outcome.changes.map((c, i) => validateChange(c, `changes[${i}]`));
      if (changes.length === 0) throw new NotApplicableError(def.id, v.id, ttxId, 'it would change nothing');
      const impact = impactOf(cohort, changes);
      const primaryTtxId = outcome.primaryTtxId ?? ttxId;
      if (!impact.affectedTtxIds.includes(primaryTtxId)) {
        throw new NotApplicableError(
          def.id,
          v.id,
          ttxId,
          `the changes leave record ${primaryTtxId} as it was (nothing a QA feature could see)`,
        );
      }
      const affected = new Set(impact.affectedTtxIds);
      const context = [...new Set(outcome.contextTtxIds ?? [])].filter((id) => !affected.has(id));
      return Object.freeze({
        mode: def.id,
        variant: v.id,
        kind: def.kind,
        scope: def.scope,
        severity: v.severity,
        band: v.band,
        params: Object.freeze({ ...(params as Record<string, unknown>) }),
        targetTtxId: input.target === undefined ? null : ttxId,
        primaryTtxId,
        changes: Object.freeze(changes),
        affectedTtxIds: impact.affectedTtxIds,
        contextTtxIds: context.sort((a, b) => a - b),
        fieldIds: impact.fieldIds,
        summary: outcome.summary,
      });
    },
  };
  return Object.freeze(mode);
}

/**
 * A variant's parameters with defaults filled (`undefined` means all defaults). A bad value is a
 * ValidationError naming `params.<name>`; an unknown key also lists the accepted parameters.
 */
function parseVariantParams(schema: z.ZodType, input: unknown): unknown {
  const params = input === undefined ? {} : input;
  assertNoPrototypeKeys(params, 'params');
  if (
    schema instanceof z.ZodObject &&
    params !== null &&
    typeof params === 'object' &&
    !Array.isArray(params)
  ) {
    const known = Object.keys(schema.shape);
    const unknown = Object.keys(params).find((key) => !known.includes(key));
    if (unknown !== undefined) {
      // No "received": the value is fine, the name is not (it used to read `received "an unknown parameter"`).
      throw new ValidationError(
        `params.${unknown}`,
        known.length > 0
          ? `one of the parameters ${known.join(', ')} (unknown parameters are refused)`
          : 'no parameters (this variant takes none)',
      );
    }
  }
  return parseWith(schema, params, 'params');
}

/** Shorthand for a variant definition with its parameter types inferred from the schema. */
export function defineVariant<S extends z.ZodType>(def: VariantDefinition<S>): VariantDefinition {
  return def as unknown as VariantDefinition;
}

const EMPTY_SET: ReadonlySet<number> = new Set();

/** A parameter-less variant's schema. */
export const noParams = z.strictObject({});
