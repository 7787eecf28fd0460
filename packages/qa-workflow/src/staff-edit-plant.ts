import { Rng } from '@anomalia/core';
import { type Cohort, createCohort, createKeyAllocator, failureCatalogue } from '@anomalia/failure-modes';
import {
  applyChanges,
  assembleRecords,
  type Change,
  emptyTableRows,
  type StaffRow,
  type TableName,
  type TableRows,
} from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';

/**
 * Test and evaluation helpers (not exported by the package) for the per-staff alarms: a synthetic
 * clinic with its Staff table, and one staff member editing the delivered plans of many patients,
 * planted with `audit_trail_manipulation` / `user_impersonation` (each victim's field delivered
 * from a version with +`percent` % MU whose Edit_ID is the staff member, edited shortly before
 * the fraction it is first delivered at, so after the course started).
 */
export interface StaffClinic {
  readonly cohort: Cohort;
  readonly staff: readonly StaffRow[];
}

export function staffClinic(seed: number, days: number, newCoursesPerDay = 3): StaffClinic {
  const rows = emptyTableRows();
  for (const batch of generateClinic({ seed, records: 10_000_000, days, newCoursesPerDay })) {
    for (const table of Object.keys(batch.rows) as TableName[]) {
      (rows[table] as unknown[]).push(...(batch.rows[table] as unknown[]));
    }
  }
  return { cohort: createCohort(rows), staff: rows.Staff };
}

export interface PlantedStaffEdits {
  readonly rows: TableRows;
  /** The victims' Pat_ID1, in the order they were attacked. */
  readonly patients: readonly number[];
}

/**
 * `staffId` edits one field of each of `patients` patients (drawn with `seed`) after delivery;
 * with `after`, only patients whose first record is after it (their edits fall inside a window).
 */
export function plantStaffEdits(
  cohort: Cohort,
  options: { staffId: number; patients: number; seed: number; percent?: number; after?: Date },
): PlantedStaffEdits {
  const mode = failureCatalogue.mode('audit_trail_manipulation');
  const params = { staffId: options.staffId, percent: options.percent ?? 5 };
  const rng = new Rng(options.seed);
  const keys = createKeyAllocator({ rows: cohort.rows });
  const firstSeen = new Map<number, number>();
  for (const r of cohort.records) {
    const p = r.treatment.Pat_ID1;
    const t = r.treatment.Create_DtTm?.getTime();
    if (p !== null && t !== undefined && !(t >= (firstSeen.get(p) ?? Number.POSITIVE_INFINITY)))
      firstSeen.set(p, t);
  }
  const after = options.after?.getTime() ?? Number.NEGATIVE_INFINITY;
  const targets = rng.shuffle(
    mode
      .targets(cohort, 'user_impersonation', params)
      .filter((t) => (firstSeen.get(t.treatment.Pat_ID1!) ?? Number.NEGATIVE_INFINITY) > after),
  );
  const changes: Change[] = [];
  const patients: number[] = [];
  for (const target of targets) {
    if (patients.length >= options.patients) break;
    const patient = target.treatment.Pat_ID1!;
    if (patients.includes(patient)) continue;
    const app = mode.apply({ variant: 'user_impersonation', target, cohort, params, rng: rng.fork(), keys });
    changes.push(...app.changes);
    patients.push(patient);
  }
  return { rows: applyChanges(cohort.rows as TableRows, changes), patients };
}

/** The records of table rows (after a plant). */
export const recordsOf = (rows: TableRows) => assembleRecords(rows);
