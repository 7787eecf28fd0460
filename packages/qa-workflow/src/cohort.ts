import { type Cohort, createCohort, createKeyAllocator, type KeyAllocator } from '@anomalia/failure-modes';
import type {
  TableName,
  TreatmentQueryInput,
  TreatmentReader,
  TreatmentRecord,
  TreatmentSummary,
} from '@anomalia/mosaiq';
import type { WorkflowProgress } from './progress';
import type { KeyCeilings } from './sources/types';

/**
 * Every Create_DtTm a database can hold ([from, to) on Create_DtTm; NULL ones are never listed):
 * SQL Server's `datetime` starts in 1753 (an earlier bound is refused as a parameter).
 */
const ALL_TIME = { from: new Date('1753-01-01T00:00:00Z'), to: new Date('9999-12-31T00:00:00Z') };
const PAGE = 10_000;
/** Records per `loadRecords` call: a handful of set-wise queries each. */
export const LOAD_BATCH = 5000;
const DAY = 86_400_000;
/** SQL Server `int`: a key allocator never goes above it. */
const INT_MAX = 2_147_483_647;

/** The treatments of a query, every page, in the reader's order (Create_DtTm, TTX_ID). */
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

/** Records by id in batches of LOAD_BATCH, in the order of `ids`; `label` names the progress step. */
export async function loadRecordsInBatches(
  reader: TreatmentReader,
  ids: readonly number[],
  progress?: WorkflowProgress,
  label = 'records',
): Promise<TreatmentRecord[]> {
  const out: TreatmentRecord[] = [];
  for (let i = 0; i < ids.length; i += LOAD_BATCH) {
    const { records } = await reader.loadRecords(ids.slice(i, i + LOAD_BATCH));
    out.push(...records);
    progress?.step(label, Math.min(ids.length, i + LOAD_BATCH), ids.length);
  }
  return out;
}

/** The treatments of the last `days` before the latest one, read from a source. */
export interface RecentCohort {
  readonly records: TreatmentRecord[];
  /** [from, to) on Create_DtTm. */
  readonly window: { readonly from: Date; readonly to: Date };
  /** The latest Create_DtTm of the source. */
  readonly latest: Date;
}

/**
 * Every treatment of the last `days` (relative to the source's latest Create_DtTm), loaded
 * set-wise. Returns null when the source has no dated treatment.
 */
export async function loadRecentCohort(
  reader: TreatmentReader,
  days: number,
  progress?: WorkflowProgress,
  sourceName = 'the source',
): Promise<RecentCohort | null> {
  const summaries = await listAllTreatments(reader);
  let latest = 0;
  for (const s of summaries)
    if (s.Create_DtTm && s.Create_DtTm.getTime() > latest) latest = s.Create_DtTm.getTime();
  if (!latest) return null;
  const window = { from: new Date(latest - days * DAY), to: new Date(latest + 1) };
  const ids = summaries.filter((s) => s.Create_DtTm && s.Create_DtTm >= window.from).map((s) => s.TTX_ID);
  progress?.stage(`reading ${ids.length} treatments of the last ${days} days from ${sourceName} (read-only)`);
  const records = await loadRecordsInBatches(reader, ids, progress, 'records');
  return { records, window, latest: new Date(latest) };
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

/** The highest existing key per table (tables without rows left out), capped at SQL Server's int. */
export async function keyFloor(reader: KeyCeilings): Promise<Partial<Record<TableName, number>>> {
  const floor: Partial<Record<TableName, number>> = {};
  for (const [table, key] of Object.entries(await reader.maxKeys())) {
    if (typeof key === 'number') floor[table as TableName] = Math.min(key, INT_MAX);
  }
  return floor;
}

/**
 * A key allocator above every key of the database (and of `cohort`'s rows, when given): new rows
 * (a duplicated treatment) and dangling ids (an orphan) collide with nothing in the database.
 */
export async function databaseKeyAllocator(reader: KeyCeilings, cohort?: Cohort): Promise<KeyAllocator> {
  const floor = await keyFloor(reader);
  return createKeyAllocator(cohort ? { rows: cohort.rows, floor } : { floor });
}
