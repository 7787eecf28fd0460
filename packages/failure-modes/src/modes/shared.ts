import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import type { MosaiqFailureModeId, MosaiqVariantId } from '@anomalia/severity/mosaiq';
import type { Cohort } from '../cohort';
import { defineFailureMode, type FailureMode, type FailureModeDefinition } from '../failure-mode';
import { type PointSelection, selectPoints } from '../params';

/** A value, or the reason there is none (checks return the reason, applies unwrap with `must`). */
export type Checked<T> = T | { reason: string };

export const reasonOf = (r: object): string | null =>
  'reason' in r ? (r as { reason: string }).reason : null;

/** Unwraps a checked value inside `apply`, where `check` has already passed. */
export function must<T extends object>(r: Checked<T>): T {
  if ('reason' in r)
    throw new Error(`internal: apply after a failed check: ${(r as { reason: string }).reason}`);
  return r;
}

/** The ordered control points of the target's field. */
export function fieldPoints(
  cohort: Cohort,
  target: TreatmentRecord,
): Checked<{ all: readonly TxFieldPointRow[] }> {
  const fld = target.treatment.FLD_ID;
  if (fld === null) return { reason: 'the treatment has no FLD_ID' };
  return { all: cohort.pointsOfField(fld) };
}

/** The selected control points of the target's field. */
export function selectedPoints(
  cohort: Cohort,
  target: TreatmentRecord,
  selection: PointSelection,
): Checked<{ points: TxFieldPointRow[] }> {
  const f = fieldPoints(cohort, target);
  if ('reason' in f) return f;
  return selectPoints(f.all, selection);
}

export const pointList = (points: readonly TxFieldPointRow[]) =>
  points.length === 1 ? `Point ${points[0]!.Point}` : `${points.length} points`;

/**
 * A mode of the Mosaiq catalogue. Its id and variant ids are those of `@anomalia/severity/mosaiq`
 * (the one place they are written): a misspelt id, an extra variant or a missing one does not
 * compile.
 */
export function defineMosaiqMode<Id extends MosaiqFailureModeId>(
  def: FailureModeDefinition<Id, MosaiqVariantId<Id>>,
): FailureMode {
  return defineFailureMode(def);
}
