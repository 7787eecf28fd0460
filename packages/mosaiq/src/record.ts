import type {
  DoseHstRow,
  IdentRow,
  OffsetRow,
  PatientRow,
  SiteRow,
  StaffRow,
  TableRows,
  TrackTreatmentRow,
  TxFieldPointRow,
  TxFieldRow,
} from './tables';

/**
 * One TrackTreatment row with everything it refers to, as the features and failure modes see it.
 *
 * Joined rows are `null` when the reference is NULL *or* dangling (the id is set but no row has
 * it): compare `treatment.Pat_ID1` with `patient` to tell the two apart. Control points keep the
 * raw `A_Leaf_Set`/`B_Leaf_Set` bytes (decode them with `decodeLeafSet`), so a corrupted blob is
 * visible as it is stored. Records of the same field in one batch share one `controlPoints`
 * array: treat records as immutable and derive corrupted copies (see `applyChanges`).
 */
export interface TreatmentRecord {
  treatment: TrackTreatmentRow;
  /** TxField by TrackTreatment.FLD_ID. */
  field: TxFieldRow | null;
  /** TxFieldPoint rows of the field, ordered by Point (NULL Points last, then by TFP_ID). */
  controlPoints: readonly TxFieldPointRow[];
  /** Site by TrackTreatment.SIT_ID. */
  site: SiteRow | null;
  /** Patient by TrackTreatment.Pat_ID1. */
  patient: PatientRow | null;
  /** Ident by TrackTreatment.Pat_ID1 (the current version). */
  ident: IdentRow | null;
  /** Staff (the machine) by TrackTreatment.Machine_ID_Staff_ID. */
  machine: StaffRow | null;
  /** The matching Dose_Hst row (see `matchDoseHistory`). */
  doseHistory: DoseHstRow | null;
  /** The latest valid Offset of the site set at the time of treatment (see `selectOffsets`). */
  offset: OffsetRow | null;
  /** Every Version-0 Offset of the site set in the treatment's session window, any state or type. */
  sessionOffsets: readonly OffsetRow[];
}

/** A Dose_Hst row found by Pat_ID1 and FLD_ID (when DHS_ID is NULL) must be this close in time. */
export const DOSE_MATCH_WINDOW_MS = 12 * 3600_000;
/** An offset acquired up to this long after the beam still belongs to the treatment (portal images). */
export const OFFSET_LOOKAHEAD_MS = 3600_000;
/** The session window starts this long before the treatment. */
export const SESSION_LOOKBACK_MS = 12 * 3600_000;

/**
 * The Dose_Hst row of a treatment. When TrackTreatment.DHS_ID is set it names the row (whatever
 * its time, so a shifted timestamp shows as a large delta; a dangling DHS_ID gives null). When it
 * is NULL and the beam was on (or unknown) outside QA mode, the row of the same patient and field nearest in time
 * within 12 h is used. There is deliberately no 300 s window: a mismatch must be visible.
 */
export function matchDoseHistory(
  treatment: TrackTreatmentRow,
  candidates: readonly DoseHstRow[],
): DoseHstRow | null {
  if (treatment.DHS_ID !== null) {
    for (const d of candidates) if (d.DHS_ID === treatment.DHS_ID) return d;
    return null;
  }
  // No Dose_Hst is written for a beam that was never on or for a QA-mode beam.
  if (treatment.WasBeamOn === false || treatment.WasQAMode === true || treatment.Create_DtTm === null)
    return null;
  if (treatment.Pat_ID1 === null || treatment.FLD_ID === null) return null;
  const t = treatment.Create_DtTm.getTime();
  let best: DoseHstRow | null = null;
  let bestDelta = Number.POSITIVE_INFINITY;
  for (const d of candidates) {
    if (d.Pat_ID1 !== treatment.Pat_ID1 || d.FLD_ID !== treatment.FLD_ID || d.Tx_DtTm === null) continue;
    const delta = Math.abs(d.Tx_DtTm.getTime() - t);
    if (delta > DOSE_MATCH_WINDOW_MS) continue;
    if (delta < bestDelta || (delta === bestDelta && best !== null && d.DHS_ID < best.DHS_ID)) {
      best = d;
      bestDelta = delta;
    }
  }
  return best;
}

export function isValidOffsetState(state: number | null): boolean {
  return state === 1 || state === 2;
}

/**
 * The offsets of a treatment, from the Offset rows of its site set:
 * - `offset`: the latest valid one (Version 0, Offset_State 1 active or 2 complete) acquired no
 *   later than 1 h after the treatment (no time bound when Create_DtTm is NULL);
 * - `sessionOffsets`: every Version-0 row acquired from 12 h before to 1 h after the treatment,
 *   whatever its state or type, plus rows with a NULL Study_DtTm, ordered by time then OFF_ID.
 * pymedphys filters Version = 0 and State 1/2 the same way; the original failure-modes code took
 * the latest row of any version at any time.
 */
export function selectOffsets(
  createdAt: Date | null,
  siteSetId: number | null,
  candidates: readonly OffsetRow[],
): { offset: OffsetRow | null; sessionOffsets: OffsetRow[] } {
  if (siteSetId === null) return { offset: null, sessionOffsets: [] };
  const t = createdAt?.getTime() ?? null;
  let offset: OffsetRow | null = null;
  const session: OffsetRow[] = [];
  for (const o of candidates) {
    if (o.SIT_SET_ID !== siteSetId || o.Version !== 0) continue;
    const s = o.Study_DtTm?.getTime() ?? null;
    if (s === null) {
      if (t !== null) session.push(o);
      continue;
    }
    if (t !== null && s >= t - SESSION_LOOKBACK_MS && s <= t + OFFSET_LOOKAHEAD_MS) session.push(o);
    if (!isValidOffsetState(o.Offset_State)) continue;
    if (t !== null && s > t + OFFSET_LOOKAHEAD_MS) continue;
    const best = offset?.Study_DtTm?.getTime() ?? Number.NEGATIVE_INFINITY;
    if (s > best || (s === best && offset !== null && o.OFF_ID > offset.OFF_ID)) offset = o;
  }
  session.sort(
    (a, b) =>
      (a.Study_DtTm?.getTime() ?? Number.POSITIVE_INFINITY) -
        (b.Study_DtTm?.getTime() ?? Number.POSITIVE_INFINITY) || a.OFF_ID - b.OFF_ID,
  );
  return { offset, sessionOffsets: session };
}

/** Orders control points by Point (NULL last), then TFP_ID. Returns a new array. */
export function orderControlPoints(points: readonly TxFieldPointRow[]): TxFieldPointRow[] {
  return [...points].sort(
    (a, b) =>
      (a.Point ?? Number.POSITIVE_INFINITY) - (b.Point ?? Number.POSITIVE_INFINITY) || a.TFP_ID - b.TFP_ID,
  );
}

function groupBy<R, K>(rows: readonly R[], key: (r: R) => K | null): Map<K, R[]> {
  const m = new Map<K, R[]>();
  for (const r of rows) {
    const k = key(r);
    if (k === null) continue;
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

function indexBy<R, K>(rows: readonly R[], key: (r: R) => K): Map<K, R> {
  const m = new Map<K, R>();
  for (const r of rows) if (!m.has(key(r))) m.set(key(r), r);
  return m;
}

/**
 * Builds TreatmentRecords from table rows: one per TrackTreatment row, in the order given. This is
 * the single definition of the joins, shared by the database adapters (which fetch the rows
 * set-wise) and by in-memory corruption (`recordsToRows` → `applyChanges` → here). The rows for
 * other tables may hold more than needed; missing ones give null joins.
 */
export function assembleRecords(
  rows: Partial<TableRows> & Pick<TableRows, 'TrackTreatment'>,
): TreatmentRecord[] {
  const fields = indexBy(rows.TxField ?? [], (r) => r.FLD_ID);
  const sites = indexBy(rows.Site ?? [], (r) => r.SIT_ID);
  const patients = indexBy(rows.Patient ?? [], (r) => r.Pat_ID1);
  const staff = indexBy(rows.Staff ?? [], (r) => r.Staff_ID);
  const idents = new Map<number, IdentRow>();
  for (const r of rows.Ident ?? []) {
    if (r.Pat_Id1 === null) continue;
    const prev = idents.get(r.Pat_Id1);
    if (
      !prev ||
      (r.Version ?? 0) < (prev.Version ?? 0) ||
      ((r.Version ?? 0) === (prev.Version ?? 0) && r.IDENT_ID < prev.IDENT_ID)
    ) {
      idents.set(r.Pat_Id1, r);
    }
  }
  const pointsByField = new Map<number, readonly TxFieldPointRow[]>();
  for (const [fld, list] of groupBy(rows.TxFieldPoint ?? [], (r) => r.FLD_ID)) {
    pointsByField.set(fld, orderControlPoints(list));
  }
  const doseRows = rows.Dose_Hst ?? [];
  const doseById = indexBy(doseRows, (r) => r.DHS_ID);
  const doseByPatient = groupBy(doseRows, (r) => r.Pat_ID1);
  const offsetsBySet = groupBy(rows.Offset ?? [], (r) => r.SIT_SET_ID);
  const none: readonly TxFieldPointRow[] = [];

  return rows.TrackTreatment.map((tt) => {
    const field = tt.FLD_ID === null ? null : (fields.get(tt.FLD_ID) ?? null);
    const site = tt.SIT_ID === null ? null : (sites.get(tt.SIT_ID) ?? null);
    let doseHistory: DoseHstRow | null;
    if (tt.DHS_ID !== null) doseHistory = doseById.get(tt.DHS_ID) ?? null;
    else doseHistory = tt.Pat_ID1 === null ? null : matchDoseHistory(tt, doseByPatient.get(tt.Pat_ID1) ?? []);
    const siteSetId = site?.SIT_SET_ID ?? field?.SIT_Set_ID ?? null;
    const { offset, sessionOffsets } = selectOffsets(
      tt.Create_DtTm,
      siteSetId,
      siteSetId === null ? [] : (offsetsBySet.get(siteSetId) ?? []),
    );
    return {
      treatment: tt,
      field,
      controlPoints: tt.FLD_ID === null ? none : (pointsByField.get(tt.FLD_ID) ?? none),
      site,
      patient: tt.Pat_ID1 === null ? null : (patients.get(tt.Pat_ID1) ?? null),
      ident: tt.Pat_ID1 === null ? null : (idents.get(tt.Pat_ID1) ?? null),
      machine: tt.Machine_ID_Staff_ID === null ? null : (staff.get(tt.Machine_ID_Staff_ID) ?? null),
      doseHistory,
      offset,
      sessionOffsets,
    };
  });
}

/**
 * The distinct rows behind some records, per table (deduplicated by primary key, first wins), so
 * that `assembleRecords(recordsToRows(records))` rebuilds the same records.
 */
export function recordsToRows(records: readonly TreatmentRecord[]): TableRows {
  const seen = new Map<string, Set<number>>();
  const out: TableRows = {
    TrackTreatment: [],
    TxField: [],
    TxFieldPoint: [],
    Site: [],
    Patient: [],
    Ident: [],
    Staff: [],
    Dose_Hst: [],
    Offset: [],
  };
  const add = <T extends keyof TableRows>(table: T, key: number, row: TableRows[T][number]) => {
    let s = seen.get(table);
    if (!s) {
      s = new Set();
      seen.set(table, s);
    }
    if (s.has(key)) return;
    s.add(key);
    (out[table] as TableRows[T][number][]).push(row);
  };
  const seenPointArrays = new Set<readonly TxFieldPointRow[]>();
  for (const r of records) {
    add('TrackTreatment', r.treatment.TTX_ID, r.treatment);
    if (r.field) add('TxField', r.field.FLD_ID, r.field);
    if (!seenPointArrays.has(r.controlPoints)) {
      seenPointArrays.add(r.controlPoints);
      for (const cp of r.controlPoints) add('TxFieldPoint', cp.TFP_ID, cp);
    }
    if (r.site) add('Site', r.site.SIT_ID, r.site);
    if (r.patient) add('Patient', r.patient.Pat_ID1, r.patient);
    if (r.ident) add('Ident', r.ident.IDENT_ID, r.ident);
    if (r.machine) add('Staff', r.machine.Staff_ID, r.machine);
    if (r.doseHistory) add('Dose_Hst', r.doseHistory.DHS_ID, r.doseHistory);
    if (r.offset) add('Offset', r.offset.OFF_ID, r.offset);
    for (const o of r.sessionOffsets) add('Offset', o.OFF_ID, o);
  }
  return out;
}
