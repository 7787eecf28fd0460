import { type Cohort, createCohort } from '@anomalia/failure-modes';
import type { TreatmentQueryInput, TreatmentReader, TreatmentSummary } from '@anomalia/mosaiq';

/** Every Create_DtTm a database can hold ([from, to) on Create_DtTm; NULL ones are never listed). */
const ALL_TIME = { from: new Date('0001-01-01T00:00:00Z'), to: new Date('9999-12-31T00:00:00Z') };
const PAGE = 10_000;

/** The treatments of a query, every page. */
export async function listAllTreatments(
  reader: TreatmentReader,
  filter: Pick<TreatmentQueryInput, 'patientIds' | 'fieldIds'> = {},
): Promise<TreatmentSummary[]> {
  const out: TreatmentSummary[] = [];
  let cursor: string | null = null;
  do {
    const page = await reader.listTreatments({ ...ALL_TIME, ...filter, pageSize: PAGE, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

/** Which treatments a target's cohort holds: its patient's, else its field's, else itself. */
export interface PatientScope {
  readonly key: string;
  readonly ttxId: number;
  readonly patientId: number | null;
  readonly fieldId: number | null;
}

export function scopeOf(t: Pick<TreatmentSummary, 'TTX_ID' | 'Pat_ID1' | 'FLD_ID'>): PatientScope {
  const key =
    t.Pat_ID1 !== null ? `patient:${t.Pat_ID1}` : t.FLD_ID !== null ? `field:${t.FLD_ID}` : `ttx:${t.TTX_ID}`;
  return { key, ttxId: t.TTX_ID, patientId: t.Pat_ID1, fieldId: t.FLD_ID };
}

/**
 * The cohort a failure mode needs around a target: every treatment of the target's patient
 * with all their rows (a field's other fractions, the patient's other fields, the site set's
 * offsets), loaded set-wise. Affected sets are only as complete as this cohort.
 */
export async function loadPatientCohort(reader: TreatmentReader, scope: PatientScope): Promise<Cohort> {
  const listed =
    scope.patientId !== null
      ? await listAllTreatments(reader, { patientIds: [scope.patientId] })
      : scope.fieldId !== null
        ? await listAllTreatments(reader, { fieldIds: [scope.fieldId] })
        : [];
  // The target itself even when its Create_DtTm is NULL (no window lists it).
  const ids = [...new Set([scope.ttxId, ...listed.map((t) => t.TTX_ID)])];
  const { records } = await reader.loadRecords(ids);
  return createCohort(records);
}
