import { groupSeries, reviewGroups, staffRolesOf } from '@anomalia/features';
import { describe, expect, it } from 'vitest';
import { plantStaffEdits, recordsOf, staffClinic } from './staff-edit-plant';

const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);
/** The synthetic clinic starts empty; from day 63 its courses are in steady state. */
const since = new Date(START + 63 * DAY);

describe.each([7, 8])('per-staff alarms on synthetic clinic %i (140 days, series from day 63)', (seed) => {
  const { cohort, staff } = staffClinic(seed, 140);
  const roles = staffRolesOf(staff);

  it('raise nothing on the clean clinic', () => {
    const review = reviewGroups(groupSeries(cohort.records, { roles, since }));
    expect(review.tested).toBeGreaterThan(40);
    expect(review.alarms).toEqual([]);
  });

  it('catch therapist 606 editing delivered plans of 8 patients (audit_trail_manipulation / user_impersonation)', () => {
    const plant = plantStaffEdits(cohort, { staffId: 606, patients: 8, seed, after: since });
    expect(plant.patients).toHaveLength(8);
    const review = reviewGroups(groupSeries(recordsOf(plant.rows), { roles, since }));
    const alarm = review.alarms.find((a) => a.kind === 'planned_edits_after_delivery')!;
    expect(alarm).toMatchObject({ dimension: 'staff', group: 606, role: 'Therapist', test: 'departure' });
    expect(alarm.patients).toBe(8);
    expect(alarm.count).toBe(8);
    expect(alarm.reference.count).toBe(0);
    expect(alarm.adjustedPValue).toBeLessThan(1e-5);
    // It fires inside the monitored window.
    expect(alarm.period!.start.getTime()).toBeGreaterThanOrEqual(since.getTime() - 7 * DAY);
    // Nobody else is blamed.
    expect(review.alarms.filter((a) => a.dimension === 'staff' && a.group !== 606)).toEqual([]);
  });
});
