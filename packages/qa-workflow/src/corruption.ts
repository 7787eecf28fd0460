import { Rng, ValidationError } from '@anomalia/core';
import {
  type Cohort,
  createCohort,
  type FailureApplication,
  type FailureCatalogue,
  type FailureMode,
  NotApplicableError,
} from '@anomalia/failure-modes';
import { applyChanges, type Change, type TreatmentSummary } from '@anomalia/mosaiq';
import { UnknownVariantError } from '@anomalia/severity';
import {
  databaseKeyAllocator,
  listAllTreatments,
  loadPatientCohort,
  loadRecordsInBatches,
  type PatientScope,
  scopeOf,
} from './cohort';
import type { OpenSource } from './sources/types';

/** What a failure-mode tool (or `preview`) is asked to do. */
export interface CorruptionRequest {
  readonly mode: string;
  readonly variant: string;
  /** The variant's parameters (validated by the mode; omitted ones take their defaults). */
  readonly params?: Record<string, unknown>;
  /** Explicit targets (TTX_IDs), applied in this order. */
  readonly ttxIds?: readonly number[];
  /** Otherwise: this many eligible records drawn at random with `seed`. */
  readonly count?: number;
  readonly seed: number;
}

export interface CorruptionLimits {
  /** The most records one call may corrupt. */
  readonly maxTargets: number;
  /** The most candidates examined when drawing eligible records at random. */
  readonly maxCandidates: number;
}

/** The changes of one call: one application per target, composed in order. */
export interface Corruption {
  readonly mode: FailureMode;
  readonly variant: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly applications: readonly FailureApplication[];
  /** Every application's changes, in order: apply them in one transaction. */
  readonly changes: readonly Change[];
  /** Records whose rows the changes alter (every application's affected records), ascending. */
  readonly affectedTtxIds: readonly number[];
  /** Random selection: how many were asked for, and how many candidates did not suit the variant. */
  readonly requested: number;
  readonly candidatesSkipped: number;
}

/**
 * Computes the changes of a failure mode on records of the target, reading only. Each target
 * is applied to a cohort of every treatment of its patient (fields, control points, dose and
 * offset rows included; for a cohort-scope mode, every treatment of the database), so the
 * affected sets are exact; targets of one patient are applied in turn to the cohort as the
 * earlier ones left it, so their changes compose, and records an earlier target changed are
 * avoided. Keys for inserted rows and dangling ids come from one allocator above the database's
 * highest keys.
 */
export async function computeCorruption(
  target: Pick<OpenSource, 'name' | 'reader'>,
  catalogue: FailureCatalogue,
  request: CorruptionRequest,
  limits: CorruptionLimits,
): Promise<Corruption> {
  const mode = catalogue.mode(request.mode);
  const variant = variantOf(mode, request.variant);
  const params = mode.parseParams(variant, request.params);
  if (request.ttxIds !== undefined && request.count !== undefined) {
    throw new ValidationError('count', 'either ttx_ids or count, not both', request.count);
  }
  const explicit = request.ttxIds !== undefined;
  const requested = request.ttxIds?.length ?? request.count ?? 1;
  if (requested > limits.maxTargets) {
    throw new ValidationError(
      explicit ? 'ttx_ids' : 'count',
      `at most ${limits.maxTargets} records per call`,
      requested,
    );
  }

  const rng = new Rng(request.seed);
  const keys = await databaseKeyAllocator(target.reader);
  const cohorts = new Map<string, Cohort>();
  const applications: FailureApplication[] = [];
  const affected = new Set<number>();
  let skipped = 0;

  // A cohort-scope mode (targeted_patient_selection) picks victims among every patient: its
  // cohort is every treatment of the database, shared by all targets of the call.
  const wholeDatabase = mode.scope === 'cohort';
  const scopeFor = (t: Pick<TreatmentSummary, 'TTX_ID' | 'Pat_ID1' | 'FLD_ID'>): PatientScope =>
    wholeDatabase ? { ...scopeOf(t), key: 'database' } : scopeOf(t);
  const cohortFor = async (scope: PatientScope): Promise<Cohort> => {
    let cohort = cohorts.get(scope.key);
    if (!cohort) {
      cohort = wholeDatabase
        ? createCohort(
            await loadRecordsInBatches(
              target.reader,
              (await listAllTreatments(target.reader)).map((t) => t.TTX_ID),
            ),
          )
        : await loadPatientCohort(target.reader, scope);
      cohorts.set(scope.key, cohort);
    }
    return cohort;
  };
  const applyTo = (scope: PatientScope, cohort: Cohort, ttxId: number) => {
    // Records an earlier target of this call changed are left alone (victims are chosen elsewhere).
    const app = mode.apply({
      variant,
      target: ttxId,
      cohort,
      params: request.params,
      rng,
      keys,
      avoid: affected,
    });
    cohorts.set(scope.key, createCohort(applyChanges(cohort.rows, app.changes)));
    applications.push(app);
    for (const id of app.affectedTtxIds) affected.add(id);
  };

  if (explicit) {
    const ids = request.ttxIds!;
    const { records, missingIds } = await target.reader.loadRecords(ids);
    if (missingIds.length > 0) {
      const i = ids.indexOf(missingIds[0]!);
      throw new ValidationError(
        `ttx_ids[${i}]`,
        `the TTX_ID of a TrackTreatment row of ${target.name}`,
        ids[i],
      );
    }
    for (const [i, record] of records.entries()) {
      const id = record.treatment.TTX_ID;
      if (affected.has(id)) {
        throw new ValidationError(
          `ttx_ids[${i}]`,
          'a record not already changed by an earlier target of this call (it shares their rows)',
          id,
        );
      }
      const scope = scopeFor(record.treatment);
      const cohort = await cohortFor(scope);
      try {
        applyTo(scope, cohort, id);
      } catch (error) {
        if (error instanceof NotApplicableError) {
          const blamed = paramToBlame(mode, variant, request.params, [{ id, cohort }]);
          if (blamed)
            throw blamedParamError({ ...blamed, reason: error.reason }, mode, variant, `record ${id}`);
          throw new ValidationError(
            `ttx_ids[${i}]`,
            `a record ${mode.id}/${variant} suits: ${error.reason}`,
            id,
          );
        }
        throw error;
      }
    }
  } else {
    const candidates: TreatmentSummary[] = await listAllTreatments(target.reader);
    rng.shuffle(candidates);
    let examined = 0;
    const rejected: { id: number; cohort: Cohort; reason: string }[] = [];
    for (const candidate of candidates) {
      if (applications.length >= requested || examined >= limits.maxCandidates) break;
      if (affected.has(candidate.TTX_ID)) continue;
      examined++;
      const scope = scopeFor(candidate);
      const cohort = await cohortFor(scope);
      if (!cohort.record(candidate.TTX_ID)) continue;
      const reason = mode.check({ variant, target: candidate.TTX_ID, cohort, params: request.params });
      if (reason !== null) {
        skipped++;
        rejected.push({ id: candidate.TTX_ID, cohort, reason });
        continue;
      }
      try {
        applyTo(scope, cohort, candidate.TTX_ID);
      } catch (error) {
        if (!(error instanceof NotApplicableError)) throw error;
        skipped++;
        rejected.push({ id: candidate.TTX_ID, cohort, reason: error.reason });
      }
    }
    if (applications.length === 0) {
      const reason = commonest(rejected.map((r) => r.reason));
      const blamed = paramToBlame(mode, variant, request.params, rejected);
      if (blamed) throw blamedParamError(blamed, mode, variant, `any of the ${examined} records examined`);
      throw new ValidationError(
        'variant',
        `a variant some record of ${target.name} suits (${mode.id}/${variant}: none of the ${examined} records examined does${reason ? `, most often because ${reason}` : ''}; see describe_failure_mode)`,
        variant,
      );
    }
  }

  return {
    mode,
    variant,
    params,
    applications,
    changes: applications.flatMap((a) => a.changes),
    affectedTtxIds: [...affected].sort((a, b) => a - b),
    requested,
    candidatesSkipped: skipped,
  };
}

/** The variant's id; an unknown one is a ValidationError naming `variant` and listing the mode's variants. */
function variantOf(mode: FailureMode, variant: string): string {
  try {
    return mode.variant(variant).id;
  } catch (error) {
    if (!(error instanceof UnknownVariantError)) throw error;
    const hint = error.suggestion ? ` (did you mean "${error.suggestion}"?)` : '';
    throw new ValidationError(
      'variant',
      `one of ${error.knownVariants.map((v) => `"${v}"`).join(', ')} (the variants of ${mode.id})${hint}`,
      variant,
    );
  }
}

/**
 * The given parameter that makes the variant refuse these records: one without which some of them
 * would suit it (so the records are fine and the value is wrong), with the reason such a record
 * gave; or null when there is none.
 */
function paramToBlame(
  mode: FailureMode,
  variant: string,
  params: Record<string, unknown> | undefined,
  records: readonly { id: number; cohort: Cohort; reason?: string }[],
): { name: string; value: unknown; reason: string | null } | null {
  if (!params) return null;
  const check = (r: { id: number; cohort: Cohort }, p: Record<string, unknown>) => {
    try {
      return mode.check({ variant, target: r.id, cohort: r.cohort, params: p });
    } catch (error) {
      return (error as Error).message;
    }
  };
  for (const name of Object.keys(params)) {
    const { [name]: value, ...without } = params;
    const fine = records.find((r) => check(r, without) === null);
    if (fine) return { name, value, reason: fine.reason ?? check(fine, params) };
  }
  return null;
}

function blamedParamError(
  blamed: { name: string; value: unknown; reason: string | null },
  mode: FailureMode,
  variant: string,
  where: string,
): ValidationError {
  return new ValidationError(
    `params.${blamed.name}`,
    `a value that suits ${where} (${mode.id}/${variant}${blamed.reason ? `: ${blamed.reason}` : ''}; without this parameter it would apply)`,
    blamed.value,
  );
}

/** The most frequent of some strings (the first on ties), or null for none. */
function commonest(values: readonly string[]): string | null {
  const counts = new Map<string, number>();
  let best: string | null = null;
  for (const v of values) {
    const n = (counts.get(v) ?? 0) + 1;
    counts.set(v, n);
    if (best === null || n > counts.get(best)!) best = v;
  }
  return best;
}
