import type { Rng } from '@anomalia/core';
import type { TrackTreatmentRow, TreatmentRecord, TxFieldRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../cohort';
import type { KeyAllocator } from '../keys';
import {
  type FieldCourse,
  type Fraction,
  fieldCourseOf,
  type PlanCourse,
  planCourseOf,
  plural,
  type Session,
  setIdOf,
} from './course';
import { editTimeBefore, type FieldEdit, plannerOf, type VersionAudit, VersionWriter } from './versions';

/**
 * Pieces every malicious mode shares: the course parameters, the checks that a course can carry
 * the attack, and the record that carries the application's label.
 */

export const startFractionParam = (defaultValue: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(defaultValue)
    .describe('first attacked fraction (1 = the first fraction of the course in the cohort)');

export const minFractionsParam = (defaultValue: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(defaultValue)
    .describe('fewest fractions of the course the cohort must hold for the attack to make sense');

/** A meterset change in percent: non-zero, within ±`max`. */
export const percentParam = (defaultValue: number, max: number, what: string) =>
  z
    .number()
    .min(-max)
    .max(max)
    .refine((v) => v !== 0, { error: 'a non-zero percentage' })
    .default(defaultValue)
    .describe(what);

/** A positive magnitude in [min, max]. */
export const magnitudeParam = (defaultValue: number, min: number, max: number, what: string) =>
  z.number().min(min).max(max).default(defaultValue).describe(what);

/** A signed magnitude with |v| in [min, max]. */
export const signedParam = (defaultValue: number, min: number, max: number, what: string) =>
  z
    .number()
    .refine((v) => Math.abs(v) >= min && Math.abs(v) <= max, {
      error: `a value with ${min} ≤ |value| ≤ ${max}`,
    })
    .default(defaultValue)
    .describe(what);

/** The target's plan and field course with at least `minFractions` fractions from `startFraction` on. */
export interface CourseOfTarget {
  readonly plan: PlanCourse;
  readonly field: FieldCourse;
}

/** The target's course, or why it cannot carry an attack needing `minFractions` fractions. */
export function courseOf(
  cohort: Cohort,
  target: TreatmentRecord,
  need: { minFractions: number; startFraction?: number },
): CourseOfTarget | { reason: string } {
  const plan = planCourseOf(cohort, target);
  if ('reason' in plan) return plan;
  const field = fieldCourseOf(plan, target);
  if (!field) return { reason: `field ${target.treatment.FLD_ID} has no delivered fraction in the cohort` };
  const n = field.fractions.length;
  if (n < need.minFractions) {
    return {
      reason: `the course of field ${target.treatment.FLD_ID} has ${plural(n, 'fraction')} in the cohort; the attack needs at least ${need.minFractions}`,
    };
  }
  if (need.startFraction !== undefined && need.startFraction > n) {
    return {
      reason: `the course of field ${target.treatment.FLD_ID} has no fraction ${need.startFraction} (it has ${n})`,
    };
  }
  return { plan, field };
}

/** The plan's sessions, or why it has fewer than `minSessions` from `startFraction` on. */
export function sessionsOf(
  plan: PlanCourse,
  need: { minFractions: number; startFraction?: number },
): readonly Session[] | { reason: string } {
  const n = plan.sessions.length;
  if (n < need.minFractions) {
    return {
      reason: `the plan of patient ${plan.patientId} has ${plural(n, 'session')} in the cohort; the attack needs at least ${need.minFractions}`,
    };
  }
  if (need.startFraction !== undefined && need.startFraction > n) {
    return {
      reason: `the plan of patient ${plan.patientId} has no session ${need.startFraction} (it has ${n})`,
    };
  }
  return plan.sessions;
}

/** Treatment fields of the plan with a positive meterset (what a dose attack can scale). */
export function meteredFields(cohort: Cohort, plan: PlanCourse): FieldCourse[] {
  return plan.fields.filter((f) => {
    const row = cohort.row('TxField', f.fractions[0]!.fieldId);
    return row !== undefined && (row.Meterset ?? 0) > 0;
  });
}

const isExample = (t: TrackTreatmentRow) => t.WasBeamComplete === true && t.WasQAMode !== true;

/**
 * The record that carries an application's label: a completed beam of the last changed fraction
 * (where the most evidence has accumulated), of the target's field when it was changed.
 */
export function primaryOf(
  changed: readonly Fraction[],
  target: TreatmentRecord,
  cohort: Cohort,
): number | undefined {
  const set = target.field ? setIdOf(target.field) : null;
  const ofSet = (f: Fraction) => {
    const row = cohort.row('TxField', f.fieldId);
    return row !== undefined && setIdOf(row) === set;
  };
  const ordered = [...changed].sort((a, b) => a.start.getTime() - b.start.getTime());
  const preferred = ordered.filter(ofSet);
  for (const list of [preferred, ordered]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const rows = list[i]!.rows;
      const beam =
        [...rows].reverse().find(isExample) ?? [...rows].reverse().find((t) => t.WasBeamOn !== false);
      if (beam) return beam.TTX_ID;
    }
  }
  return undefined;
}

/** One version per fraction (or per group of fractions) of a plan: the common apply of dose and geometry attacks. */
export interface Delivery {
  readonly fractions: readonly Fraction[];
  readonly edit: FieldEdit;
}

/** Applies deliveries with versions edited by the field's planner shortly before each group's first fraction. */
export function deliver(
  ctx: { cohort: Cohort; keys: KeyAllocator; rng: Rng },
  plan: PlanCourse,
  deliveries: readonly Delivery[],
  audit?: (first: Fraction, base: TxFieldRow | undefined) => VersionAudit,
): VersionWriter {
  const writer = new VersionWriter(ctx.cohort, ctx.keys);
  for (const d of deliveries) {
    if (d.fractions.length === 0) continue;
    const first = [...d.fractions].sort((a, b) => a.start.getTime() - b.start.getTime())[0]!;
    const base = ctx.cohort.row('TxField', first.fieldId);
    const a = audit?.(first, base) ?? {
      editedAt: editTimeBefore(plan, first, ctx.rng),
      editorId: plannerOf(base),
    };
    writer.deliverWith(d.fractions, d.edit, a);
  }
  return writer;
}

/** Rounds to 0.01 (for summaries). */
export const r2 = (v: number) => Math.round(v * 100) / 100;

/** `+1.5 %` / `−2 %`. */
export const pct = (v: number) => `${v >= 0 ? '+' : '−'}${r2(Math.abs(v))} %`;

/** A meterset edit: Meterset × factor. */
export const scaleMeterset = (factor: number): FieldEdit => ({ meterset: (mu) => mu * factor });

/**
 * One delivery per (session, field): the fraction of each given field in each session gets
 * Meterset × `factor(session)` (no delivery where the factor is null or 1).
 */
export function perSessionMeterset(
  fields: readonly FieldCourse[],
  sessions: readonly Session[],
  factor: (session: Session, index: number) => number | null,
): Delivery[] {
  const fractionsOf = new Map<Fraction, boolean>();
  for (const f of fields) for (const x of f.fractions) fractionsOf.set(x, true);
  const out: Delivery[] = [];
  sessions.forEach((s, i) => {
    const k = factor(s, i);
    if (k === null || k === 1) return;
    for (const fraction of s.fractions) {
      if (!fractionsOf.has(fraction)) continue;
      out.push({ fractions: [fraction], edit: scaleMeterset(k) });
    }
  });
  return out;
}

/** Planned (current-version) meterset of a field course: the Meterset of the version its first fraction delivered. */
export function plannedMeterset(cohort: Cohort, field: FieldCourse): number {
  return cohort.row('TxField', field.fractions[0]!.fieldId)?.Meterset ?? 0;
}

/** The target's plan course inside `apply` (its check has passed). */
export function planOf(cohort: Cohort, target: TreatmentRecord): PlanCourse {
  const plan = planCourseOf(cohort, target);
  if ('reason' in plan) throw new Error(`internal: apply after a failed check: ${plan.reason}`);
  return plan;
}
