import { readFileSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { readMosaiqCsv, type TreatmentRecord } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import type { GroupSeriesKind } from './group-events';
import { type GroupSeries, groupSeries, staffRolesOf } from './group-series';
import { CLINIC_START, DAY, handClinic, roles } from './group-test-clinic';

const total = (g: GroupSeries | undefined, kind: GroupSeriesKind) =>
  g!.counts[kind].reduce((a, b) => a + b, 0);
const find = (groups: readonly GroupSeries[], dimension: 'machine' | 'staff', group: number) =>
  groups.find((g) => g.dimension === dimension && g.group === group);

/**
 * 6 patients × 10 daily fractions; patient 0 is delivered from fraction 6 on from a version edited
 * by therapist 603 after fraction 5 (after delivery), patient 1 from fraction 4 on from a version
 * dosimetrist 501 edited before the course started; one row is resolved 2 h after its beam by
 * physicist 701, one row lacks its Create_ID, one is flagged.
 */
function countingClinic(): { records: TreatmentRecord[]; flagged: Set<number> } {
  const records = handClinic(6, 10, (p, day) => {
    if (p === 0 && day >= 5)
      return { fieldId: 6000, editor: 603, editedAt: CLINIC_START + 4 * DAY + 12 * 3600_000 };
    if (p === 1 && day >= 3) return { fieldId: 6001, editor: 501, editedAt: CLINIC_START - DAY / 2 };
    return undefined;
  });
  const at = (p: number, day: number) => records[day * 6 + p]!;
  const late = at(2, 2).treatment;
  late.Edit_DtTm = new Date(late.Create_DtTm!.getTime() + 2 * 3600_000);
  late.Edit_ID = 701;
  at(3, 6).treatment.Create_ID = null;
  return { records, flagged: new Set([at(4, 7).treatment.TTX_ID]) };
}

describe('groupSeries', () => {
  const { records, flagged } = countingClinic();
  const s = groupSeries(records, { roles, flagged });

  it('starts at the UTC midnight of the first event (the plans, the day before the first beam) in 7-day periods', () => {
    expect(s.origin.toISOString()).toBe('2024-03-03T00:00:00.000Z');
    expect(s.periodDays).toBe(7);
    expect(s.periods).toBe(2);
    expect(s.groups.map((g) => `${g.dimension} ${g.group} ${g.role}`)).toEqual([
      'machine 901 machine',
      'machine 902 machine',
      'staff 501 Dosimetrist',
      'staff 601 Therapist',
      'staff 602 Therapist',
      'staff 603 Therapist',
      'staff 604 Therapist',
      'staff 701 Physicist',
    ]);
  });

  it('counts each machine’s records, field versions, edits after delivery, late edits, audit anomalies and flags', () => {
    const m901 = find(s.groups, 'machine', 901);
    const m902 = find(s.groups, 'machine', 902);
    expect(total(m901, 'records')).toBe(30);
    // Patients, not field versions: 5000 and 6000 are both patient 0's, edited in the same period.
    expect(total(m901, 'planned_edits')).toBe(3);
    expect(total(m901, 'planned_edits_after_delivery')).toBe(1);
    expect(total(m901, 'late_edits')).toBe(1);
    expect(total(m901, 'audit_anomalies')).toBe(0);
    expect(m901!.counts.flagged).toEqual([0, 1]); // day 7 is 2024-03-11, in period 1
    expect(total(m902, 'planned_edits')).toBe(3);
    expect(total(m902, 'planned_edits_after_delivery')).toBe(0);
    expect(m902!.counts.audit_anomalies).toEqual([0, 1]);
    // Days 0–5 (2024-03-04 … 09) fall in period 0, days 6–9 in period 1.
    expect(m901!.counts.records).toEqual([18, 12]);
    expect(m901!.exposure).toEqual([18, 12]);
  });

  it('attributes each event to the staff member behind it', () => {
    const s603 = find(s.groups, 'staff', 603);
    // Therapist 603 treats on days 2 and 6 (day % 4 = 2), 6 patients each, and edited patient 0's field after delivery.
    expect(s603!.counts.records).toEqual([6, 6]);
    expect(s603!.counts.planned_edits_after_delivery).toEqual([1, 0]);
    expect(s603!.exposure).toEqual([6, 6]);
    expect(s603!.patients.planned_edits_after_delivery).toBe(1);
    // The row without Create_ID is still the console therapist's.
    expect(total(s603, 'audit_anomalies')).toBe(1);
    expect(total(find(s.groups, 'staff', 604), 'flagged')).toBe(1);
    // 701 only edited a row: an event, not workload; logging no row, 701 is measured against the clinic's rows.
    const s701 = find(s.groups, 'staff', 701);
    expect(total(s701, 'records')).toBe(0);
    expect(total(s701, 'late_edits')).toBe(1);
    expect(s701!.exposure).toEqual([36, 24]);
    const s501 = find(s.groups, 'staff', 501);
    expect(total(s501, 'records')).toBe(0);
    expect(total(s501, 'planned_edits')).toBe(6); // 5000–5005 and 6001, of 6 patients
    expect(total(s501, 'planned_edits_after_delivery')).toBe(0); // 6001 was edited before any fraction of its field
    expect(s501!.patients.planned_edits).toBe(6);
  });

  it('leaves out events before `since` but still knows which fields had been delivered', () => {
    const later = groupSeries(records, { roles, since: new Date(CLINIC_START + 3 * DAY) });
    expect(later.origin.toISOString()).toBe('2024-03-07T00:00:00.000Z');
    const m901 = find(later.groups, 'machine', 901);
    expect(total(m901, 'records')).toBe(21); // days 3–9
    expect(total(m901, 'planned_edits')).toBe(1);
    expect(total(m901, 'planned_edits_after_delivery')).toBe(1);
  });

  it('puts staff without a role in one peer group, and reads roles from Staff rows', () => {
    expect(
      new Set(
        groupSeries(records)
          .groups.filter((g) => g.dimension === 'staff')
          .map((g) => g.role),
      ),
    ).toEqual(new Set(['unknown']));
    const person = { Category: null, Last_Name: 'A', First_Name: 'B', Status_inactive: false };
    expect(
      staffRolesOf([
        { ...person, Staff_ID: 601, Type: 'Therapist ', Machine_Type: null },
        { ...person, Staff_ID: 901, Type: 'Machine', Machine_Type: 1 },
        { ...person, Staff_ID: 602, Type: null, Machine_Type: null },
      ]),
    ).toEqual(new Map([[601, 'Therapist']]));
  });

  it('is empty without records and refuses bad input, naming the field', () => {
    expect(groupSeries([])).toMatchObject({ periods: 0, groups: [] });
    expect(() => groupSeries('x' as never)).toThrow(ValidationError);
    expect(() => groupSeries([], { periodDays: 0 })).toThrow(/groupSeries\.periodDays/);
    expect(() => groupSeries([], { lateEditMinutes: -1 })).toThrow(/groupSeries\.lateEditMinutes/);
  });
});

describe('groupSeries on the real TxFieldPoint sample', () => {
  // 117 real control points of fields 88043 and 88064, last edited on 2020-04-27 07:55:24.193 and
  // 2020-04-29 07:50:51.503 (TxFieldPoint.Edit_DtTm). The TxField rows are the example's, edited earlier.
  const points = readMosaiqCsv(
    'TxFieldPoint',
    readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv'), 'utf8'),
  ).rows;
  const lastPointEdit = (fieldId: number) =>
    Math.max(...points.filter((p) => p.FLD_ID === fieldId).map((p) => p.Edit_DtTm!.getTime()));
  const deliveries = (fieldId: number, first: Date, n: number, ttx: number): TreatmentRecord[] =>
    Array.from({ length: n }, (_, k) => {
      const base = exampleRecord({ createdAt: new Date(first.getTime() + k * DAY) });
      return {
        ...base,
        treatment: { ...base.treatment, TTX_ID: ttx + k, FLD_ID: fieldId, Pat_ID1: fieldId },
        field: {
          ...base.field!,
          FLD_ID: fieldId,
          FLD_SET_ID: fieldId,
          Pat_ID1: fieldId,
          Edit_DtTm: new Date('2020-04-20T10:00:00Z'),
        },
        controlPoints: points.filter((p) => p.FLD_ID === fieldId),
      };
    });

  it('dates each field’s last planned edit by its real control points', () => {
    expect(new Date(lastPointEdit(88043)).toISOString()).toBe('2020-04-27T07:55:24.193Z');
    expect(new Date(lastPointEdit(88064)).toISOString()).toBe('2020-04-29T07:50:51.503Z');
    const s = groupSeries([
      ...deliveries(88043, new Date('2020-04-27T08:03:28Z'), 5, 1),
      // Field 88064 delivered once before its control points were last written: an edit after delivery.
      ...deliveries(88064, new Date('2020-04-28T08:00:00Z'), 5, 100),
    ]);
    const machine = find(s.groups, 'machine', 901)!;
    expect(total(machine, 'planned_edits')).toBe(2);
    expect(total(machine, 'planned_edits_after_delivery')).toBe(1);
    expect(s.origin.toISOString()).toBe('2020-04-27T00:00:00.000Z');
    // TxFieldPoint has no editor column: a control-point edit is the machine's, nobody's in particular.
    expect(s.groups.filter((g) => g.dimension === 'staff').map((g) => total(g, 'planned_edits'))).toEqual([
      0,
    ]);
  });
});
