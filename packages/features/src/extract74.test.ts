import { encodeLeafSet, type TreatmentRecord, type TxFieldPointRow } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURE_NAMES, QA74_FEATURES } from './definitions';
import { createQa74Buffer, extractQa74, extractQa74Into } from './extract74';
import { isMissing } from './feature-matrix';

const asOf = Date.UTC(2030, 0, 1);
const t0 = exampleRecord().treatment.Create_DtTm!.getTime();
const at = (s: number) => new Date(t0 + s * 1000);

/** A record with its control points replaced (the example's points are fresh objects). */
function points(r: TreatmentRecord, fn: (ps: TxFieldPointRow[]) => TxFieldPointRow[]): TreatmentRecord {
  return { ...r, controlPoints: fn([...r.controlPoints]) };
}
const drop =
  (...pts: number[]) =>
  (r: TreatmentRecord) =>
    points(r, (ps) => ps.filter((p) => !pts.includes(p.Point!)));
const everyPoint = (patch: Partial<TxFieldPointRow>) => (r: TreatmentRecord) =>
  points(r, (ps) => ps.map((p) => ({ ...p, ...patch })));
const onPoint = (k: number, patch: Partial<TxFieldPointRow>) => (r: TreatmentRecord) =>
  points(r, (ps) => ps.map((p, i) => (i === k ? { ...p, ...patch } : p)));
const leaves = (n: number, f: (i: number) => number) =>
  encodeLeafSet(Array.from({ length: n }, (_, i) => f(i)));
/** Stored bytes of a 2-byte write padded by SQL Server's binary(200): leaf 1 = +100 cm, the rest 0. */
const padded100 = () => {
  const b = new Uint8Array(200);
  b[0] = 0x10;
  b[1] = 0x27;
  return b;
};
const offset = (patch: object) => (r: TreatmentRecord) => ({ ...r, offset: { ...r.offset!, ...patch } });

/** The example record's value for every feature: a clean record fires nothing. */
const BASELINE: Record<string, number> = {
  pat_id_null: 0,
  fld_id_null: 0,
  sit_id_null: 0,
  patient_exists: 1,
  field_exists: 1,
  site_exists: 1,
  edit_before_create: 0,
  create_in_future: 0,
  edit_in_future: 0,
  duration_seconds: 60,
  duration_negative: 0,
  duration_too_short: 0,
  duration_too_long: 0,
  dose_time_delta: 60,
  dose_time_mismatch: 0,
  mu_negative: 0,
  mu_extreme_low: 0,
  mu_extreme_high: 0,
  mu_planned: 200,
  mu_cp_sum: 200,
  mu_cp_difference: 0,
  mu_cp_percent_diff: 0,
  mu_cp_mismatch: 0,
  cp_count: 4,
  cp_minimum_met: 1,
  cp_sequential: 1,
  cp_max_gap: 1,
  cp_gap_count: 0,
  cp_starts_at_zero: 1,
  gantry_out_of_range: 0,
  coll_out_of_range: 0,
  gantry_mean: 183,
  gantry_std: Math.sqrt(5),
  gantry_range: 6,
  coll_mean: 0,
  coll_std: 0,
  coll_range: 0,
  gantry_max_delta: 2,
  gantry_mean_delta: 2,
  coll_max_delta: 0,
  coll_mean_delta: 0,
  gantry_suspicious_jumps: 0,
  coll_suspicious_jumps: 0,
  a_byte_length: 200,
  b_byte_length: 200,
  byte_length_match: 1,
  byte_length_even: 1,
  a_mean_pos: -1.25,
  a_std_pos: Math.sqrt(0.1875),
  a_min_pos: -2,
  a_max_pos: -1,
  b_mean_pos: 1.5,
  b_std_pos: Math.sqrt(0.75),
  b_min_pos: 1,
  b_max_pos: 3,
  a_out_of_range: 0,
  b_out_of_range: 0,
  min_gap: 2,
  mean_gap: 2.75,
  negative_gap_count: 0,
  max_gap: 5,
  leaf_count: 80,
  offset_superior: 0.3,
  offset_anterior: -0.4,
  offset_lateral: 0,
  offset_vector_magnitude: 0.5,
  superior_extreme: 0,
  anterior_extreme: 0,
  lateral_extreme: 0,
  vector_extreme: 0,
  offset_critical: 0,
  type_valid: 1,
  state_valid: 1,
  type_third_party: 0,
};

type Case = [
  feature: string,
  what: string,
  mutate: (r: TreatmentRecord) => TreatmentRecord,
  expected: number,
];

const tt = (patch: object) => (r: TreatmentRecord) => ({ ...r, treatment: { ...r.treatment, ...patch } });
const field = (patch: object) => (r: TreatmentRecord) => ({ ...r, field: { ...r.field!, ...patch } });

/** For every feature, a corruption that makes it fire (or move) and the value it must take. */
const CASES: Case[] = [
  ['pat_id_null', 'Pat_ID1 NULL', tt({ Pat_ID1: null }), 1],
  ['fld_id_null', 'FLD_ID NULL', tt({ FLD_ID: null }), 1],
  ['sit_id_null', 'SIT_ID NULL', tt({ SIT_ID: null }), 1],
  ['patient_exists', 'orphaned Pat_ID1', (r) => ({ ...tt({ Pat_ID1: 999_999 })(r), patient: null }), 0],
  ['patient_exists', 'NULL Pat_ID1 with a stale join', tt({ Pat_ID1: null }), 0],
  ['field_exists', 'orphaned FLD_ID', (r) => ({ ...r, field: null }), 0],
  ['site_exists', 'orphaned SIT_ID', (r) => ({ ...r, site: null }), 0],
  ['edit_before_create', 'edit 2 h before create', tt({ Edit_DtTm: at(-7200) }), 1],
  ['create_in_future', 'created next year', tt({ Create_DtTm: new Date(asOf + 365 * 86_400_000) }), 1],
  ['edit_in_future', 'edited next year', tt({ Edit_DtTm: new Date(asOf + 365 * 86_400_000) }), 1],
  ['duration_seconds', 'an hour', tt({ Edit_DtTm: at(3600) }), 3600],
  ['duration_negative', 'edit before create', tt({ Edit_DtTm: at(-1) }), 1],
  ['duration_too_short', 'edit = create', tt({ Edit_DtTm: at(0) }), 1],
  ['duration_too_long', 'two hours', tt({ Edit_DtTm: at(7200) }), 1],
  [
    'dose_time_delta',
    'dose 1000 s later',
    (r) => ({ ...r, doseHistory: { ...r.doseHistory!, Tx_DtTm: at(1000) } }),
    1000,
  ],
  [
    'dose_time_mismatch',
    'dose 1000 s later',
    (r) => ({ ...r, doseHistory: { ...r.doseHistory!, Tx_DtTm: at(1000) } }),
    1,
  ],
  [
    'dose_time_mismatch',
    'treatment moved a day',
    tt({ Create_DtTm: at(-86_400), Edit_DtTm: at(-86_340) }),
    1,
  ],
  ['mu_negative', 'Meterset −100', field({ Meterset: -100 }), 1],
  ['mu_extreme_low', 'Meterset 1', field({ Meterset: 1 }), 1],
  ['mu_extreme_low', 'Meterset 0', field({ Meterset: 0 }), 1],
  ['mu_extreme_high', 'Meterset 999999', field({ Meterset: 999_999 }), 1],
  ['mu_planned', 'Meterset 206 (+3 %)', field({ Meterset: 206 }), 206],
  ['mu_cp_sum', 'last point deleted', drop(3), 133.334],
  ['mu_cp_difference', 'last point deleted', drop(3), 66.666],
  ['mu_cp_percent_diff', 'last point deleted', drop(3), 33.333],
  ['mu_cp_mismatch', 'last point deleted', drop(3), 1],
  ['mu_cp_mismatch', 'Index running backwards', onPoint(2, { Index: 10 }), 1],
  ['cp_count', 'points 1 and 3 deleted', drop(1, 3), 2],
  ['cp_minimum_met', 'all points deleted', drop(0, 1, 2, 3), 0],
  ['cp_minimum_met', 'a VMAT field with 4 points', field({ Type_Enum: 13 }), 0],
  ['cp_sequential', 'point 1 deleted', drop(1), 0],
  ['cp_sequential', 'a NULL Point', onPoint(1, { Point: null }), 0],
  ['cp_max_gap', 'points 1 and 2 deleted', drop(1, 2), 3],
  ['cp_gap_count', 'points 1 and 3 deleted', drop(1, 3), 1],
  ['cp_starts_at_zero', 'point 0 deleted', drop(0), 0],
  ['gantry_out_of_range', 'gantry 400', everyPoint({ Gantry_Ang: 400 }), 1],
  ['coll_out_of_range', 'collimator −50', everyPoint({ Coll_Ang: -50 }), 1],
  ['gantry_mean', 'gantry 400', everyPoint({ Gantry_Ang: 400 }), 400],
  ['gantry_std', 'gantry 400', everyPoint({ Gantry_Ang: 400 }), 0],
  ['gantry_range', 'one point at 270', onPoint(2, { Gantry_Ang: 270 }), 90],
  ['coll_mean', 'collimator 90', everyPoint({ Coll_Ang: 90 }), 90],
  ['coll_std', 'one point at 90', onPoint(1, { Coll_Ang: 90 }), Math.sqrt((3 * 22.5 ** 2 + 67.5 ** 2) / 4)],
  ['coll_range', 'one point at 90', onPoint(1, { Coll_Ang: 90 }), 90],
  ['gantry_max_delta', 'one point at 300', onPoint(2, { Gantry_Ang: 300 }), 118],
  ['gantry_mean_delta', 'one point at 300', onPoint(2, { Gantry_Ang: 300 }), (2 + 118 + 114) / 3],
  [
    'gantry_max_delta',
    '350 → 10 (20°, wrapped through 0)',
    (r) => onPoint(0, { Gantry_Ang: 350 })(everyPoint({ Gantry_Ang: 10 })(r)),
    20,
  ],
  ['coll_max_delta', 'one point at 100', onPoint(2, { Coll_Ang: 100 }), 100],
  ['coll_mean_delta', 'one point at 100', onPoint(2, { Coll_Ang: 100 }), 200 / 3],
  ['gantry_suspicious_jumps', 'one point at 300', onPoint(2, { Gantry_Ang: 300 }), 2],
  ['coll_suspicious_jumps', 'one point at 100', onPoint(2, { Coll_Ang: 100 }), 2],
  [
    'a_byte_length',
    'one byte appended',
    (r) => onPoint(0, { A_Leaf_Set: Uint8Array.from([...r.controlPoints[0]!.A_Leaf_Set!, 0]) })(r),
    201,
  ],
  ['b_byte_length', 'a 2-byte B blob', onPoint(1, { B_Leaf_Set: Uint8Array.of(0x10, 0x27) }), 2],
  ['b_byte_length', 'B NULL', onPoint(1, { B_Leaf_Set: null }), 0],
  [
    'byte_length_match',
    'one byte appended to A',
    (r) => onPoint(0, { A_Leaf_Set: new Uint8Array(201) })(r),
    0,
  ],
  [
    'byte_length_even',
    'one byte appended to A',
    (r) => onPoint(0, { A_Leaf_Set: new Uint8Array(201) })(r),
    0,
  ],
  [
    'a_mean_pos',
    'A shifted 1 cm everywhere',
    everyPoint({ A_Leaf_Set: leaves(80, (i) => (i >= 30 && i < 50 ? -1 : 0)) }),
    -0.25,
  ],
  ['a_std_pos', 'A all at −1', everyPoint({ A_Leaf_Set: leaves(80, () => -1) }), 0],
  [
    'a_min_pos',
    'one A leaf at −6 on the last point',
    onPoint(3, { A_Leaf_Set: leaves(80, (i) => (i === 40 ? -6 : i >= 30 && i < 50 ? -2 : -1)) }),
    -6,
  ],
  [
    'a_max_pos',
    'one A leaf at +0.5 on point 2',
    onPoint(2, { A_Leaf_Set: leaves(80, (i) => (i === 10 ? 0.5 : i >= 30 && i < 50 ? -2 : -1)) }),
    0.5,
  ],
  ['b_mean_pos', 'B all at 1', everyPoint({ B_Leaf_Set: leaves(80, () => 1) }), 1],
  ['b_std_pos', 'B all at 1', everyPoint({ B_Leaf_Set: leaves(80, () => 1) }), 0],
  [
    'b_min_pos',
    'one B leaf at −0.5 on point 3',
    onPoint(3, { B_Leaf_Set: leaves(80, (i) => (i === 5 ? -0.5 : i >= 30 && i < 50 ? 3 : 1)) }),
    -0.5,
  ],
  [
    'b_max_pos',
    'one B leaf at 12 on point 1',
    onPoint(1, { B_Leaf_Set: leaves(80, (i) => (i === 45 ? 12 : i >= 30 && i < 50 ? 3 : 1)) }),
    12,
  ],
  [
    'a_out_of_range',
    'A written as 2 bytes (+100 cm), padded by binary(200)',
    onPoint(0, { A_Leaf_Set: padded100() }),
    1,
  ],
  [
    'b_out_of_range',
    'B leaf at −25 cm',
    onPoint(2, { B_Leaf_Set: leaves(80, (i) => (i === 0 ? -25 : i >= 30 && i < 50 ? 3 : 1)) }),
    1,
  ],
  [
    'min_gap',
    'one pair crossed by 4 cm',
    onPoint(1, { A_Leaf_Set: leaves(80, (i) => (i === 40 ? 7 : i >= 30 && i < 50 ? -2 : -1)) }),
    -4,
  ],
  [
    'mean_gap',
    'B closed onto A everywhere',
    (r) => everyPoint({ B_Leaf_Set: r.controlPoints[0]!.A_Leaf_Set })(r),
    0,
  ],
  [
    'negative_gap_count',
    'one pair crossed on two points',
    (r) =>
      onPoint(3, { A_Leaf_Set: leaves(80, (i) => (i === 40 ? 7 : i >= 30 && i < 50 ? -2 : -1)) })(
        onPoint(1, { A_Leaf_Set: leaves(80, (i) => (i === 40 ? 7 : i >= 30 && i < 50 ? -2 : -1)) })(r),
      ),
    2,
  ],
  [
    'max_gap',
    'one pair opened to 10 cm',
    onPoint(0, { B_Leaf_Set: leaves(80, (i) => (i === 35 ? 8 : i >= 30 && i < 50 ? 3 : 1)) }),
    10,
  ],
  ['leaf_count', 'MLC_Leaves 60 on one point', onPoint(2, { MLC_Leaves: 60 }), 60],
  ['leaf_count', 'a 20-byte A blob', onPoint(0, { A_Leaf_Set: new Uint8Array(20) }), 10],
  ['offset_superior', '999.9 cm', offset({ Superior_Offset: 999.9 }), 999.9],
  ['offset_anterior', '−12 cm', offset({ Anterior_Offset: -12 }), -12],
  ['offset_lateral', '3 cm', offset({ Lateral_Offset: 3 }), 3],
  [
    'offset_vector_magnitude',
    '(3, 4, 12)',
    offset({ Superior_Offset: 3, Anterior_Offset: 4, Lateral_Offset: 12 }),
    13,
  ],
  ['superior_extreme', '999.9 cm', offset({ Superior_Offset: 999.9 }), 1],
  ['anterior_extreme', '−12 cm', offset({ Anterior_Offset: -12 }), 1],
  ['lateral_extreme', '11 cm', offset({ Lateral_Offset: 11 }), 1],
  ['vector_extreme', '(9, 9, 9)', offset({ Superior_Offset: 9, Anterior_Offset: 9, Lateral_Offset: 9 }), 1],
  [
    'offset_critical',
    '(12, 12, 12)',
    offset({ Superior_Offset: 12, Anterior_Offset: 12, Lateral_Offset: 12 }),
    1,
  ],
  ['type_valid', 'Offset_Type 99', offset({ Offset_Type: 99 }), 0],
  [
    'type_valid',
    'another offset of the session with type 0',
    (r) => ({ ...r, sessionOffsets: [...r.sessionOffsets, { ...r.offset!, OFF_ID: 2, Offset_Type: 0 }] }),
    0,
  ],
  [
    'state_valid',
    'a session offset in state 99 (no longer the valid one)',
    (r) => ({ ...r, offset: null, sessionOffsets: [{ ...r.offset!, Offset_State: 99 }] }),
    0,
  ],
  ['type_third_party', 'Offset_Type 4', offset({ Offset_Type: 4 }), 1],
];

const extractOne = (r: TreatmentRecord) => extractQa74([r], { asOf });
const value = (r: TreatmentRecord, feature: string) =>
  extractOne(r).X.get(0, QA74_FEATURE_NAMES.indexOf(feature));

describe('extractQa74', () => {
  it('has the 74 original names in the original order, with metadata', () => {
    expect(QA74_FEATURE_NAMES).toHaveLength(74);
    expect(QA74_FEATURE_NAMES.slice(0, 3)).toEqual(['pat_id_null', 'fld_id_null', 'sit_id_null']);
    expect(QA74_FEATURE_NAMES[14]).toBe('dose_time_mismatch');
    expect(QA74_FEATURE_NAMES[43]).toBe('a_byte_length');
    expect(QA74_FEATURE_NAMES[61]).toBe('leaf_count');
    expect(QA74_FEATURE_NAMES[73]).toBe('type_third_party');
    expect(Object.keys(BASELINE)).toEqual([...QA74_FEATURE_NAMES]);
    for (const f of QA74_FEATURES) {
      expect(f.description.length, f.name).toBeGreaterThan(5);
      expect(f.catches.length, f.name).toBeGreaterThan(0);
    }
  });

  it('gives the expected value of every feature on a clean record, with nothing missing', () => {
    const fm = extractOne(exampleRecord());
    QA74_FEATURE_NAMES.forEach((name, j) => {
      expect(fm.X.get(0, j), name).toBeCloseTo(BASELINE[name]!, 9);
      expect(isMissing(fm, 0, j), name).toBe(false);
    });
    expect(Array.from(fm.recordIds)).toEqual([1]);
  });

  it.each(CASES)('%s fires on %s', (feature, _what, mutate, expected) => {
    const r = mutate(exampleRecord());
    expect(value(r, feature)).toBeCloseTo(expected, 3);
    expect(expected).not.toBeCloseTo(BASELINE[feature]!, 3);
  });

  it('covers every feature with at least one firing case', () => {
    const covered = new Set(CASES.map((c) => c[0]));
    expect(QA74_FEATURE_NAMES.filter((n) => !covered.has(n))).toEqual([]);
  });

  it('uses every control point and only the used leaves', () => {
    // A corruption on the last point only is seen (the original looked at point 0 only).
    expect(value(onPoint(3, { A_Leaf_Set: padded100() })(exampleRecord()), 'a_out_of_range')).toBe(1);
    // 40-leaf fields: the 60 zero padding slots do not drag the statistics to 0.
    const r = exampleRecord({ leaves: 40 });
    const fm = extractOne(r);
    const get = (n: string) => fm.X.get(0, QA74_FEATURE_NAMES.indexOf(n));
    expect(get('leaf_count')).toBe(40);
    expect(get('a_max_pos')).toBe(-1);
    expect(get('b_min_pos')).toBe(1);
    expect(get('min_gap')).toBe(2);
  });
});

describe('missing inputs', () => {
  const name = (j: number) => QA74_FEATURE_NAMES[j]!;

  it('never produce NaN and are flagged, with the documented values', () => {
    const bare: TreatmentRecord = {
      ...exampleRecord(),
      treatment: { ...exampleRecord().treatment, Create_DtTm: null, Edit_DtTm: null },
      field: null,
      controlPoints: [],
      doseHistory: null,
      offset: null,
      sessionOffsets: [],
    };
    const fm = extractOne(bare);
    expect(fm.X.findNonFinite()).toBeNull();
    const notMissing = [
      'pat_id_null',
      'fld_id_null',
      'sit_id_null',
      'patient_exists',
      'field_exists',
      'site_exists',
      'cp_count',
      'cp_minimum_met',
    ];
    QA74_FEATURES.forEach((f, j) => {
      expect(isMissing(fm, 0, j), f.name).toBe(!notMissing.includes(f.name));
      if (isMissing(fm, 0, j)) expect(fm.X.get(0, j), name(j)).toBe(f.missingValue);
      if (isMissing(fm, 0, j)) expect(f.missingWhen, f.name).not.toBe('');
    });
    expect(fm.X.get(0, QA74_FEATURE_NAMES.indexOf('cp_count'))).toBe(0);
    expect(fm.X.get(0, QA74_FEATURE_NAMES.indexOf('field_exists'))).toBe(0);
  });

  it('flag a NULL offset component but keep the others', () => {
    const fm = extractOne(offset({ Anterior_Offset: null })(exampleRecord()));
    const j = (n: string) => QA74_FEATURE_NAMES.indexOf(n);
    expect(isMissing(fm, 0, j('offset_anterior'))).toBe(true);
    expect(isMissing(fm, 0, j('offset_vector_magnitude'))).toBe(true);
    expect(isMissing(fm, 0, j('offset_superior'))).toBe(false);
    expect(fm.X.get(0, j('offset_vector_magnitude'))).toBeCloseTo(0.3, 12);
  });

  it('a meterset of 0 leaves only the percentage missing', () => {
    const fm = extractOne(field({ Meterset: 0 })(exampleRecord()));
    const j = (n: string) => QA74_FEATURE_NAMES.indexOf(n);
    expect(isMissing(fm, 0, j('mu_cp_percent_diff'))).toBe(true);
    expect(isMissing(fm, 0, j('mu_cp_difference'))).toBe(false);
    expect(fm.X.get(0, j('mu_cp_sum'))).toBe(0);
  });
});

describe('batch extraction', () => {
  it('fills a reused buffer row by row and rejects what is not a record', () => {
    const buffer = createQa74Buffer(3);
    buffer.X.data.fill(Number.NaN);
    buffer.missing.fill(7);
    extractQa74Into([exampleRecord(), drop(3)(exampleRecord())], buffer, 1, { asOf });
    expect(Array.from(buffer.X.row(1))).toEqual(Array.from(extractOne(exampleRecord()).X.row(0)));
    expect(Array.from(buffer.missing.subarray(74, 222)).every((v) => v === 0)).toBe(true);
    expect(Number.isNaN(buffer.X.get(0, 0))).toBe(true);
    expect(() => extractQa74Into([exampleRecord()], buffer, 3)).toThrow(/startRow/);
    expect(() => extractQa74([{} as TreatmentRecord])).toThrow(/records\[0\]/);
    expect(() => extractQa74('x' as never)).toThrow(/records/);
    expect(() => extractQa74([], { asOf: Number.NaN })).toThrow(/options\.asOf/);
  });

  it('gives the same rows one by one and in a batch (the per-field cache is exact)', () => {
    const a = exampleRecord();
    // Records of one field share their control-point array, as adapters and the generator build them.
    const sameField = {
      ...a,
      treatment: { ...a.treatment, TTX_ID: 2 },
      field: { ...a.field!, Type_Enum: 13 },
    };
    const rs = [a, drop(1)(a), exampleRecord({ leaves: 60 }), sameField];
    expect(rs[3]!.controlPoints).toBe(rs[0]!.controlPoints);
    const batch = extractQa74(rs, { asOf });
    for (let i = 0; i < rs.length; i++) {
      expect(Array.from(batch.X.row(i))).toEqual(Array.from(extractOne(rs[i]!).X.row(0)));
    }
    // cp_minimum_met depends on the field type, not on the shared points.
    expect(batch.X.get(3, QA74_FEATURE_NAMES.indexOf('cp_minimum_met'))).toBe(0);
    expect(batch.X.get(0, QA74_FEATURE_NAMES.indexOf('cp_minimum_met'))).toBe(1);
  });
});
