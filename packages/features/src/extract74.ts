import { Matrix, ValidationError } from '@anomalia/core';
import type { TableName, TreatmentRecord } from '@anomalia/mosaiq';
import { QA74_FEATURE_NAMES, QA74_FEATURES } from './definitions';
import type { FeatureMatrix } from './feature-matrix';
import { unobservedColumns } from './feature-tables';
import { GEOMETRY_FIRST, GeometryCache } from './geometry';

export interface ExtractOptions {
  /** "Now" for create_in_future / edit_in_future (Date or epoch ms). Default: the time of the call. */
  asOf?: Date | number;
  /**
   * Tables the source's extract did not contain (`TablePresence.absent`). Features that read one
   * of them are unobserved: their `missingValue` for every record, missing flag clear (see
   * FEATURE_TABLES). Give a model the absent tables of its training source at scoring time too.
   */
  absentTables?: readonly TableName[];
}

export const QA74_COLS = 74;

/** Minimum control points per TxField.Type_Enum (VMAT 13; step-and-shoot 2, arc 11, DMLC 14). */
function minimumControlPoints(typeEnum: number | null | undefined): number {
  if (typeEnum === 13) return 10;
  if (typeEnum === 2 || typeEnum === 11 || typeEnum === 14) return 2;
  return 1;
}

// Missing values differ from 0 for a few "all is well" flags; they are set by the writers.
const MISSING_VALUE = Float64Array.from(QA74_FEATURES, (f) => f.missingValue);

/** Per-batch state: the geometry cache, the reference time and the unobserved columns. */
export interface Qa74Context {
  asOf: number;
  geometry: GeometryCache;
  /** Columns (of the 74) that read an absent table. */
  unobserved: Int32Array;
}

export function qa74Context(options: ExtractOptions = {}): Qa74Context {
  const asOf =
    options.asOf === undefined
      ? Date.now()
      : typeof options.asOf === 'number'
        ? options.asOf
        : options.asOf.getTime();
  if (!Number.isFinite(asOf))
    throw new ValidationError('options.asOf', 'a valid Date or epoch milliseconds', options.asOf);
  return {
    asOf,
    geometry: new GeometryCache(),
    unobserved: unobservedColumns(QA74_FEATURES, options.absentTables),
  };
}

function setMissing(x: Float64Array, m: Uint8Array, at: number, from: number, to: number): void {
  for (let j = from; j <= to; j++) {
    x[at + j] = MISSING_VALUE[j]!;
    m[at + j] = 1;
  }
}

/**
 * Writes the 74 features of one record into `x`/`m` at offset `at`. Every cell is written (the
 * output need not be zeroed) and nothing throws on a malformed record: missing inputs give the
 * documented value and a set missing flag.
 */
export function writeQa74(
  r: TreatmentRecord,
  ctx: Qa74Context,
  x: Float64Array,
  m: Uint8Array,
  at: number,
): void {
  const tt = r.treatment;
  m.fill(0, at, at + QA74_COLS);

  // Foreign keys (0–5).
  x[at] = tt.Pat_ID1 === null ? 1 : 0;
  x[at + 1] = tt.FLD_ID === null ? 1 : 0;
  x[at + 2] = tt.SIT_ID === null ? 1 : 0;
  x[at + 3] = r.patient !== null && tt.Pat_ID1 !== null ? 1 : 0;
  x[at + 4] = r.field !== null && tt.FLD_ID !== null ? 1 : 0;
  x[at + 5] = r.site !== null && tt.SIT_ID !== null ? 1 : 0;

  // Timestamps (6–14).
  const create = tt.Create_DtTm === null ? Number.NaN : tt.Create_DtTm.getTime();
  const edit = tt.Edit_DtTm === null ? Number.NaN : tt.Edit_DtTm.getTime();
  if (!Number.isNaN(create) && !Number.isNaN(edit)) {
    const duration = (edit - create) / 1000;
    x[at + 6] = edit < create ? 1 : 0;
    x[at + 9] = duration;
    x[at + 10] = duration < 0 ? 1 : 0;
    x[at + 11] = duration < 10 ? 1 : 0;
    x[at + 12] = duration > 1800 ? 1 : 0;
  } else {
    setMissing(x, m, at, 6, 6);
    setMissing(x, m, at, 9, 12);
  }
  if (!Number.isNaN(create)) x[at + 7] = create > ctx.asOf ? 1 : 0;
  else setMissing(x, m, at, 7, 7);
  if (!Number.isNaN(edit)) x[at + 8] = edit > ctx.asOf ? 1 : 0;
  else setMissing(x, m, at, 8, 8);
  const tx = r.doseHistory?.Tx_DtTm?.getTime() ?? Number.NaN;
  if (!Number.isNaN(create) && !Number.isNaN(tx)) {
    const delta = Math.abs(create - tx) / 1000;
    x[at + 13] = delta;
    x[at + 14] = delta > 300 ? 1 : 0;
  } else setMissing(x, m, at, 13, 14);

  // Geometry (23–61), shared by every record of the field.
  const g = ctx.geometry.get(r.controlPoints);
  x.set(g.values, at + GEOMETRY_FIRST);
  m.set(g.missing, at + GEOMETRY_FIRST);
  x[at + 24] = r.controlPoints.length >= minimumControlPoints(r.field?.Type_Enum) ? 1 : 0;
  m[at + 24] = 0;

  // Meterset (15–22).
  const planned = r.field?.Meterset ?? null;
  if (planned === null) {
    setMissing(x, m, at, 15, 22);
  } else {
    x[at + 15] = planned < 0 ? 1 : 0;
    x[at + 16] = planned < 10 ? 1 : 0;
    x[at + 17] = planned > 1000 ? 1 : 0;
    x[at + 18] = planned;
    if (g.indexedPoints === 0) {
      setMissing(x, m, at, 19, 22);
    } else {
      // One point carries the whole meterset; more points account for Σ|ΔIndex| percent of it.
      const sum = g.indexedPoints === 1 ? planned : (planned * g.indexPath) / 100;
      const diff = Math.abs(sum - planned);
      x[at + 19] = sum;
      x[at + 20] = diff;
      if (planned === 0) {
        setMissing(x, m, at, 21, 22);
      } else {
        const pct = (diff / Math.abs(planned)) * 100;
        x[at + 21] = pct;
        x[at + 22] = pct > 5 ? 1 : 0;
      }
    }
  }

  // Offsets (62–73).
  const o = r.offset;
  if (o === null) {
    setMissing(x, m, at, 62, 70);
    setMissing(x, m, at, 73, 73);
  } else {
    const sup = o.Superior_Offset;
    const ant = o.Anterior_Offset;
    const lat = o.Lateral_Offset;
    const s = sup ?? 0;
    const a = ant ?? 0;
    const l = lat ?? 0;
    const mag = Math.sqrt(s * s + a * a + l * l);
    x[at + 62] = s;
    x[at + 63] = a;
    x[at + 64] = l;
    x[at + 65] = mag;
    x[at + 66] = Math.abs(s) > 10 ? 1 : 0;
    x[at + 67] = Math.abs(a) > 10 ? 1 : 0;
    x[at + 68] = Math.abs(l) > 10 ? 1 : 0;
    x[at + 69] = mag > 15 ? 1 : 0;
    x[at + 70] = mag > 20 ? 1 : 0;
    x[at + 73] = o.Offset_Type === 4 ? 1 : 0;
    if (sup === null) m[at + 62] = m[at + 66] = 1;
    if (ant === null) m[at + 63] = m[at + 67] = 1;
    if (lat === null) m[at + 64] = m[at + 68] = 1;
    if (sup === null || ant === null || lat === null) m[at + 65] = m[at + 69] = m[at + 70] = 1;
  }
  const session = r.sessionOffsets;
  if (o === null && session.length === 0) {
    setMissing(x, m, at, 71, 72);
  } else {
    let typeOk = o === null || o.Offset_Type === 2 || o.Offset_Type === 3 || o.Offset_Type === 4;
    let stateOk = o === null || o.Offset_State === 1 || o.Offset_State === 2;
    for (let k = 0; k < session.length; k++) {
      const so = session[k]!;
      if (so.Offset_Type !== 2 && so.Offset_Type !== 3 && so.Offset_Type !== 4) typeOk = false;
      if (so.Offset_State !== 1 && so.Offset_State !== 2) stateOk = false;
    }
    x[at + 71] = typeOk ? 1 : 0;
    x[at + 72] = stateOk ? 1 : 0;
  }

  // Features of tables the extract did not contain: a constant, not missing data.
  for (let k = 0; k < ctx.unobserved.length; k++) {
    const j = ctx.unobserved[k]!;
    x[at + j] = MISSING_VALUE[j]!;
    m[at + j] = 0;
  }
}

export function checkRecord(r: unknown, i: number): asserts r is TreatmentRecord {
  const rec = r as TreatmentRecord | null;
  if (
    !rec ||
    typeof rec !== 'object' ||
    !rec.treatment ||
    !Array.isArray(rec.controlPoints) ||
    !Array.isArray(rec.sessionOffsets)
  ) {
    throw new ValidationError(
      `records[${i}]`,
      'a TreatmentRecord (treatment row, controlPoints and sessionOffsets arrays)',
      r,
    );
  }
}

/** An empty 74-feature matrix with room for `rows` records, to fill with `extractQa74Into`. */
export function createQa74Buffer(rows: number): FeatureMatrix {
  if (!Number.isInteger(rows) || rows < 0) throw new ValidationError('rows', 'a non-negative integer', rows);
  return {
    X: new Matrix(rows, QA74_COLS),
    featureNames: [...QA74_FEATURE_NAMES],
    missing: new Uint8Array(rows * QA74_COLS),
    recordIds: new Float64Array(rows),
  };
}

/**
 * Extracts into an existing 74-feature matrix from row `startRow` on (every cell of those rows
 * is overwritten). For streams: one buffer reused batch after batch allocates nothing.
 */
export function extractQa74Into(
  records: readonly TreatmentRecord[],
  target: FeatureMatrix,
  startRow = 0,
  options: ExtractOptions = {},
): FeatureMatrix {
  if (!Array.isArray(records)) throw new ValidationError('records', 'an array of TreatmentRecords', records);
  if (target.X.cols !== QA74_COLS) throw new ValidationError('target.X.cols', `${QA74_COLS}`, target.X.cols);
  if (!Number.isInteger(startRow) || startRow < 0 || startRow + records.length > target.X.rows) {
    throw new ValidationError(
      'startRow',
      `a row with room for ${records.length} records in ${target.X.rows} rows`,
      startRow,
    );
  }
  const ctx = qa74Context(options);
  const x = target.X.data;
  const m = target.missing;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    checkRecord(r, i);
    writeQa74(r, ctx, x, m, (startRow + i) * QA74_COLS);
    target.recordIds[startRow + i] = r.treatment.TTX_ID;
  }
  return target;
}

/**
 * The 74 QA features of a batch: one row per record, columns in the original order. One pass
 * over preallocated arrays; control-point statistics are computed once per field.
 */
export function extractQa74(
  records: readonly TreatmentRecord[],
  options: ExtractOptions = {},
): FeatureMatrix {
  if (!Array.isArray(records)) throw new ValidationError('records', 'an array of TreatmentRecords', records);
  return extractQa74Into(records, createQa74Buffer(records.length), 0, options);
}
