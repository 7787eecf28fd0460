import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURE_NAMES } from './definitions';
import { extractQaExtended, QA_EXTENDED_FEATURE_NAMES, QA_EXTENDED_FEATURES } from './extended';
import { extractQa74 } from './extract74';
import { isMissing } from './feature-matrix';

const asOf = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

/** A delivery of the example field `hours` after the example's time, with optional changes. */
function delivery(hours: number, patch: Partial<TreatmentRecord['treatment']> = {}, id = 1): TreatmentRecord {
  const base = exampleRecord();
  const t = base.treatment.Create_DtTm!.getTime() + hours * HOUR;
  const r = exampleRecord({ createdAt: new Date(t) });
  return { ...r, treatment: { ...r.treatment, TTX_ID: id, ...patch } };
}
const withPoints = (r: TreatmentRecord, fn: (p: TxFieldPointRow, i: number) => TxFieldPointRow) => ({
  ...r,
  controlPoints: r.controlPoints.map(fn),
});

function extract(records: TreatmentRecord[], history: TreatmentRecord[] = []) {
  const fm = extractQaExtended(records, { asOf, history });
  return {
    fm,
    get: (row: number, name: string) => fm.X.get(row, QA_EXTENDED_FEATURE_NAMES.indexOf(name)),
    missing: (row: number, name: string) => isMissing(fm, row, name),
  };
}

describe('extractQaExtended', () => {
  it('keeps the 74 features unchanged in front', () => {
    expect(QA_EXTENDED_FEATURE_NAMES.slice(0, 74)).toEqual([...QA74_FEATURE_NAMES]);
    expect(QA_EXTENDED_FEATURES.length).toBe(87);
    const rs = [delivery(0), delivery(24, {}, 2)];
    const ext = extractQaExtended(rs, { asOf });
    const base = extractQa74(rs, { asOf });
    for (let i = 0; i < rs.length; i++)
      expect(Array.from(ext.X.row(i).subarray(0, 74))).toEqual(Array.from(base.X.row(i)));
  });

  it('counts a second delivery of the same field within minutes (a duplicate), not the next day', () => {
    const { get } = extract([delivery(0), delivery(5 / 3600, {}, 2), delivery(24, {}, 3)]);
    expect([
      get(0, 'same_field_repeats_5min'),
      get(1, 'same_field_repeats_5min'),
      get(2, 'same_field_repeats_5min'),
    ]).toEqual([1, 1, 0]);
    // QA-mode beams and beams that did not complete are not deliveries.
    const quiet = extract([
      delivery(0),
      delivery(0.01, { WasQAMode: true }, 2),
      delivery(0.02, { WasBeamComplete: false }, 3),
    ]);
    expect(quiet.get(0, 'same_field_repeats_5min')).toBe(0);
    expect(extract([delivery(0, { FLD_ID: null })]).missing(0, 'same_field_repeats_5min')).toBe(true);
  });

  it('counts another field of the same patient started within 10 s', () => {
    const other = { ...delivery(4 / 3600, { FLD_ID: 5002 }, 2) };
    const { get } = extract([delivery(0), other]);
    expect(get(0, 'other_field_within_10s')).toBe(1);
    expect(
      extract([delivery(0), delivery(60 / 3600, { FLD_ID: 5002 }, 2)]).get(0, 'other_field_within_10s'),
    ).toBe(0);
    expect(
      extract([delivery(0), delivery(4 / 3600, { FLD_ID: 5002, Pat_ID1: 7 }, 2)]).get(
        0,
        'other_field_within_10s',
      ),
    ).toBe(0);
  });

  it('compares with the previous fraction of the same field, also from history', () => {
    const first = delivery(0);
    const second = delivery(24, {}, 2);
    const longer = {
      ...second,
      treatment: {
        ...second.treatment,
        Edit_DtTm: new Date(second.treatment.Create_DtTm!.getTime() + 120_000),
      },
    };
    const shifted = { ...longer, offset: { ...longer.offset!, OFF_ID: 4002, Superior_Offset: 3.3 } };
    const { get, missing } = extract([first, shifted]);
    expect(missing(0, 'hours_since_previous_delivery')).toBe(true);
    expect(missing(0, 'duration_ratio_vs_previous')).toBe(true);
    expect(get(0, 'duration_ratio_vs_previous')).toBe(1);
    expect(get(1, 'hours_since_previous_delivery')).toBeCloseTo(24, 10);
    expect(get(1, 'duration_ratio_vs_previous')).toBeCloseTo(2, 10);
    expect(get(1, 'offset_shift_vs_previous')).toBeCloseTo(3, 10);
    // The same with the first fraction given as history: one output row.
    const h = extract([shifted], [first]);
    expect(h.fm.X.rows).toBe(1);
    expect(h.get(0, 'hours_since_previous_delivery')).toBeCloseTo(24, 10);
    expect(h.get(0, 'offset_shift_vs_previous')).toBeCloseTo(3, 10);
    // A batch record's own history version (same TTX_ID, e.g. read before a corruption) is
    // superseded, not counted as another delivery.
    const reread = extract([delivery(5 / 3600, {}, 2)], [first, delivery(0, {}, 2)]);
    expect(reread.get(0, 'same_field_repeats_5min')).toBe(1);
    expect(extract([first], [first]).get(0, 'same_field_repeats_5min')).toBe(0);
    // An unchanged set-up gives no shift.
    expect(extract([first, delivery(24, {}, 2)]).get(1, 'offset_shift_vs_previous')).toBe(0);
  });

  it('counts the 74 QA features that could not be computed', () => {
    const r = delivery(0);
    expect(extract([r]).get(0, 'qa74_missing_count')).toBe(0);
    const noTime = extract([delivery(0, { Create_DtTm: null })]);
    const base = extractQa74([delivery(0, { Create_DtTm: null })], { asOf });
    const expected = base.missing.reduce((a, b) => a + b, 0);
    expect(expected).toBeGreaterThan(0);
    expect(noTime.get(0, 'qa74_missing_count')).toBe(expected);
  });

  it('measures the age of the offset used', () => {
    const r = delivery(0);
    expect(extract([r]).get(0, 'offset_age_hours')).toBeCloseTo(300 / 3600, 10);
    const old = {
      ...r,
      offset: { ...r.offset!, Study_DtTm: new Date(r.treatment.Create_DtTm!.getTime() - 30 * HOUR) },
    };
    expect(extract([old]).get(0, 'offset_age_hours')).toBeCloseTo(30, 10);
    expect(extract([{ ...r, offset: null }]).missing(0, 'offset_age_hours')).toBe(true);
  });

  it('flags control points that disagree on leaf count or run their Index backwards', () => {
    const r = delivery(0);
    const { get } = extract([
      r,
      withPoints(r, (p, i) => (i === 2 ? { ...p, MLC_Leaves: 60, Index: 10 } : p)),
    ]);
    expect([get(0, 'leaf_count_distinct'), get(1, 'leaf_count_distinct')]).toEqual([1, 2]);
    expect([get(0, 'index_decreases'), get(1, 'index_decreases')]).toEqual([0, 1]);
    const none = extract([{ ...r, controlPoints: [] }]);
    expect(none.missing(0, 'leaf_count_distinct')).toBe(true);
    expect(none.get(0, 'leaf_count_distinct')).toBe(1);
  });

  it('describes the jaws', () => {
    const r = delivery(0);
    const moved = withPoints(r, (p, i) => ({
      ...p,
      Coll_X1: -15,
      Coll_X2: 15,
      Coll_Y1: i === 0 ? 6 : -3,
      Coll_Y2: i === 0 ? 5 : 7,
    }));
    const { get } = extract([r, moved]);
    expect([get(0, 'field_x_mean'), get(1, 'field_x_mean')]).toEqual([40, 30]);
    expect(get(0, 'field_y_mean')).toBe(10);
    expect(get(1, 'field_y_mean')).toBeCloseTo((-1 + 3 * 10) / 4, 10);
    expect(get(0, 'jaw_y_center_mean')).toBe(0);
    expect(get(1, 'jaw_y_center_mean')).toBeCloseTo((5.5 + 3 * 2) / 4, 10);
    expect([get(0, 'jaw_inverted_count'), get(1, 'jaw_inverted_count')]).toEqual([0, 1]);
    const noJaws = extract([withPoints(r, (p) => ({ ...p, Coll_X1: null, Coll_Y2: null }))]);
    expect(noJaws.missing(0, 'field_x_mean')).toBe(true);
    expect(noJaws.missing(0, 'jaw_y_center_mean')).toBe(true);
  });

  it('rejects bad input', () => {
    expect(() => extractQaExtended('x' as never)).toThrow(/records/);
    expect(() => extractQaExtended([], { history: 'x' as never })).toThrow(/options\.history/);
    expect(() => extractQaExtended([{} as TreatmentRecord])).toThrow(/records\[0\]/);
  });
});
