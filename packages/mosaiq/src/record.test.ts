import { describe, expect, it } from 'vitest';
import { exampleRecord } from './example';
import { assembleRecords, matchDoseHistory, recordsToRows, selectOffsets } from './record';
import type { DoseHstRow, OffsetRow } from './tables';

const t0 = new Date(Date.UTC(2024, 2, 4, 9, 0, 0));
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe('matchDoseHistory', () => {
  const tt = exampleRecord().treatment;
  const dose = (id: number, s: number, fld = 5001): DoseHstRow => ({
    DHS_ID: id,
    Pat_ID1: 10_001,
    SIT_ID: 7001,
    FLD_ID: fld,
    Tx_DtTm: at(s),
  });

  it('follows DHS_ID whatever the time, and gives null when it dangles', () => {
    expect(matchDoseHistory(tt, [dose(3001, 5000), dose(3002, 1)])?.DHS_ID).toBe(3001);
    expect(matchDoseHistory(tt, [dose(3002, 1)])).toBeNull();
  });

  it('without DHS_ID takes the nearest row of the same patient and field within 12 h', () => {
    const free = { ...tt, DHS_ID: null };
    expect(matchDoseHistory(free, [dose(1, 400), dose(2, -30), dose(3, 5, 9999)])?.DHS_ID).toBe(2);
    expect(matchDoseHistory(free, [dose(1, 13 * 3600)])).toBeNull();
    expect(matchDoseHistory({ ...free, WasQAMode: true }, [dose(2, 1)])).toBeNull();
    expect(matchDoseHistory({ ...free, WasBeamOn: false }, [dose(2, 1)])).toBeNull();
    expect(matchDoseHistory({ ...free, Create_DtTm: null }, [dose(2, 1)])).toBeNull();
  });
});

describe('selectOffsets', () => {
  const off = (id: number, s: number | null, extra: Partial<OffsetRow> = {}): OffsetRow => ({
    OFF_ID: id,
    SIT_SET_ID: 7,
    Version: 0,
    Study_DtTm: s === null ? null : at(s),
    Offset_State: 2,
    Offset_Type: 2,
    Superior_Offset: 0.1,
    Anterior_Offset: 0,
    Lateral_Offset: 0,
    ...extra,
  });

  it('takes the latest Version-0 active/complete offset up to 1 h after the beam', () => {
    const rows = [
      off(1, -86_400 * 3),
      off(2, -600),
      off(3, -60, { Version: 1 }),
      off(4, -30, { Offset_State: 99 }),
      off(5, 1800, { Offset_Type: 3 }),
      off(6, 7200),
      off(7, -20, { SIT_SET_ID: 8 }),
    ];
    const { offset, sessionOffsets } = selectOffsets(t0, 7, rows);
    expect(offset?.OFF_ID).toBe(5);
    expect(sessionOffsets.map((o) => o.OFF_ID)).toEqual([2, 4, 5]);
    expect(selectOffsets(t0, 7, rows.slice(0, 2)).offset?.OFF_ID).toBe(2);
    expect(selectOffsets(t0, null, rows)).toEqual({ offset: null, sessionOffsets: [] });
    expect(selectOffsets(null, 7, rows).offset?.OFF_ID).toBe(6);
  });

  it('keeps undated rows in the session so a nullified Study_DtTm stays visible', () => {
    const { offset, sessionOffsets } = selectOffsets(t0, 7, [off(1, null), off(2, -10)]);
    expect(offset?.OFF_ID).toBe(2);
    expect(sessionOffsets.map((o) => o.OFF_ID)).toEqual([2, 1]);
  });
});

describe('assembleRecords', () => {
  it('rebuilds records from their rows', () => {
    const r = exampleRecord();
    const rebuilt = assembleRecords(recordsToRows([r]));
    expect(rebuilt).toEqual([r]);
  });

  it('gives null joins for NULL and for dangling references, and no control points for a missing field', () => {
    const rows = recordsToRows([exampleRecord()]);
    rows.TrackTreatment = [
      {
        ...rows.TrackTreatment[0]!,
        TTX_ID: 2,
        Pat_ID1: 999_999,
        FLD_ID: null,
        SIT_ID: 1,
        Machine_ID_Staff_ID: null,
        DHS_ID: 77,
      },
    ];
    const [r] = assembleRecords(rows);
    expect(r!.patient).toBeNull();
    expect(r!.ident).toBeNull();
    expect(r!.field).toBeNull();
    expect(r!.controlPoints).toEqual([]);
    expect(r!.site).toBeNull();
    expect(r!.machine).toBeNull();
    expect(r!.doseHistory).toBeNull();
    expect(r!.offset).toBeNull();
    expect(r!.treatment.Pat_ID1).toBe(999_999);
  });

  it('orders control points by Point and shares one array per field', () => {
    const base = exampleRecord();
    const rows = recordsToRows([base]);
    rows.TxFieldPoint = [...rows.TxFieldPoint].reverse();
    rows.TxFieldPoint.push({ ...rows.TxFieldPoint[0]!, TFP_ID: 1, Point: null });
    rows.TrackTreatment.push({ ...base.treatment, TTX_ID: 2 });
    const [a, b] = assembleRecords(rows);
    expect(a!.controlPoints.map((p) => p.Point)).toEqual([0, 1, 2, 3, null]);
    expect(a!.controlPoints).toBe(b!.controlPoints);
  });
});
