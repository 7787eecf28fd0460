import { poissonRateTest, standardNormalSf } from '@anomalia/longitudinal';
import { describe, expect, it } from 'vitest';
import { GROUP_SERIES_KINDS, type GroupSeriesKind } from './group-events';
import { reviewGroups } from './group-review';
import { type GroupSeries, type GroupSeriesSet, groupSeries } from './group-series';
import { CLINIC_START, DAY, handClinic, roles } from './group-test-clinic';

describe('reviewGroups: a staff member editing delivered plans of many patients', () => {
  // 20 patients × 15 daily fractions; therapist 603 edits the fields of patients 0–7 on the evening
  // of day 7 (2024-03-11), after 8 fractions, and they are delivered from the edited version after.
  const editedAt = CLINIC_START + 7 * DAY + 12 * 3600_000;
  const records = handClinic(20, 15, (p, day) =>
    p < 8 && day >= 8 ? { fieldId: 6000 + p, editor: 603, editedAt } : undefined,
  );
  const review = reviewGroups(groupSeries(records, { roles }));

  it('alarms on 603’s edits after delivery against the other therapists, with the exact p-value', () => {
    const alarm = review.alarms.find((a) => a.kind === 'planned_edits_after_delivery')!;
    expect(alarm).toMatchObject({ dimension: 'staff', group: 603, role: 'Therapist', test: 'departure' });
    // 603 logs the rows of days 2, 6, 10, 14 (80) and edited 8 patients' plans after delivery; 601, 602, 604 log 80, 80, 60 and edited none.
    expect(alarm).toMatchObject({ count: 8, exposure: 80, reference: { count: 0, exposure: 220, rate: 0 } });
    expect(alarm.patients).toBe(8);
    expect(alarm.dispersion).toBe(1);
    expect(alarm.pValue).toBeCloseTo((80 / 300) ** 8, 15);
    expect(alarm.pValue).toBe(poissonRateTest(8, 80, 0, 220).pValue);
    expect(alarm.adjustedPValue).toBeGreaterThanOrEqual(alarm.pValue);
    expect(alarm.adjustedPValue).toBeLessThanOrEqual(0.05);
    expect(alarm.rateRatio).toBe(Number.POSITIVE_INFINITY);
  });

  it('says when it fired: the week of the edits (2024-03-10 … 16), not the first week', () => {
    const alarm = review.alarms.find((a) => a.group === 603)!;
    expect(alarm.period).toEqual({
      index: 1,
      start: new Date('2024-03-10T00:00:00Z'),
      end: new Date('2024-03-17T00:00:00Z'),
    });
  });

  it('also alarms on the machines whose delivered plans were edited, and on nothing else', () => {
    expect(review.alarms.map((a) => `${a.dimension} ${a.group} ${a.kind} ${a.test}`).sort()).toEqual([
      'staff 603 planned_edits departure',
      'staff 603 planned_edits_after_delivery departure',
    ]);
    // Machines 901 and 902 each had 4 of the edited fields: equal rates, no departure.
    const machines = review.results.filter(
      (r) => r.dimension === 'machine' && r.kind === 'planned_edits_after_delivery',
    );
    expect(machines.map((m) => m.count)).toEqual([4, 4]);
  });

  it('finds nothing in the same clinic without the edits', () => {
    expect(reviewGroups(groupSeries(handClinic(20, 15), { roles })).alarms).toEqual([]);
  });
});

describe('reviewGroups: a change of a group’s own rate', () => {
  // 10 patients × 20 days, 2-day periods. On machine 901 (even patients) physicist 701 resolves
  // patient 0's row 2 h after the beam every day until day 9, then every patient's row.
  const records = handClinic(10, 20);
  for (const r of records) {
    const t = r.treatment;
    const day = Math.floor((t.Create_DtTm!.getTime() - CLINIC_START) / DAY);
    const p = t.Pat_ID1! - 10_000;
    if (p % 2 === 0 && (p === 0 || day >= 10)) {
      t.Edit_DtTm = new Date(t.Create_DtTm!.getTime() + 2 * 3600_000);
      t.Edit_ID = 701;
    }
  }
  const series = groupSeries(records, { roles, periodDays: 2 });
  const review = reviewGroups(series);

  it('alarms at the period the rate rose, Bonferroni-corrected over the change points tried', () => {
    const alarm = review.alarms.find((a) => a.dimension === 'machine' && a.test === 'change')!;
    expect(alarm).toMatchObject({ group: 901, kind: 'late_edits', alarm: true });
    // Periods start on 2024-03-03; day 10 (2024-03-14) is in period 5 with day 9, and the split
    // there has the smallest p: 5 patients with a late edit in each of periods 5–10 (55 rows),
    // 1 in each of periods 0–4 (45 rows).
    expect(alarm.period).toEqual({
      index: 5,
      start: new Date('2024-03-13T00:00:00Z'),
      end: new Date('2024-03-15T00:00:00Z'),
    });
    expect(alarm).toMatchObject({ count: 30, exposure: 55, reference: { count: 5, exposure: 45 } });
    expect(alarm.dispersion).toBe(1);
    // 11 periods with exposure, at least 2 on each side: 8 change points tried.
    const single = poissonRateTest(
      alarm.count,
      alarm.exposure,
      alarm.reference.count,
      alarm.reference.exposure,
    );
    expect(alarm.pValue).toBeCloseTo(Math.min(1, 8 * single.pValue), 15);
    expect(alarm.rate).toBeGreaterThan(4 * alarm.reference.rate);
  });

  it('sees the physicist’s rate rise too (against the clinic’s rows: 701 logs none), without comparing them with the therapists', () => {
    expect(
      review.alarms.map((a) => `${a.dimension} ${a.group} ${a.kind} ${a.test} ${a.period!.index}`).sort(),
    ).toEqual([
      'machine 901 late_edits change 5',
      'machine 901 late_edits departure 6',
      'staff 701 late_edits change 5',
    ]);
    expect(review.alarms.find((a) => a.group === 701)).toMatchObject({
      exposure: 110,
      reference: { exposure: 90 },
    });
    expect(review.results.filter((r) => r.group === 701 && r.test === 'departure')).toEqual([]);
  });
});

describe('reviewGroups: peers that differ more than Poisson noise', () => {
  const zeros = () => new Array<number>(1).fill(0);
  const machine = (group: number, lateEdits: number): GroupSeries => {
    const counts = Object.fromEntries(GROUP_SERIES_KINDS.map((k) => [k, zeros()])) as Record<
      GroupSeriesKind,
      number[]
    >;
    counts.records = [1000];
    counts.late_edits = [lateEdits];
    const patients = Object.fromEntries(GROUP_SERIES_KINDS.map((k) => [k, 0])) as Record<
      GroupSeriesKind,
      number
    >;
    return { dimension: 'machine', group, role: 'machine', exposure: [1000], counts, patients };
  };
  const set: GroupSeriesSet = {
    periodDays: 7,
    origin: new Date(CLINIC_START),
    periods: 1,
    groups: [machine(1, 50), machine(2, 10), machine(3, 40), machine(4, 25)],
  };

  it('allows for the peers’ overdispersion (quasi-Poisson z) instead of the exact test', () => {
    const r = reviewGroups(set, { kinds: ['late_edits'] }).results.find((x) => x.group === 1)!;
    // Peers 2–4: pooled rate 75/3000, expected 25 each, χ² = (15² + 15² + 0²)/25 = 18, φ = 18/2 = 9.
    expect(r.dispersion).toBeCloseTo(9, 12);
    expect(r.pValue).toBeCloseTo(standardNormalSf((50 - 25) / Math.sqrt(9 * 25)), 14);
    // The exact test would have called it a departure (p ≈ 1.6e-4, SciPy binomtest(50, 125, 0.25)):
    // machines differ in case mix.
    expect(poissonRateTest(50, 1000, 75, 3000).pValue).toBeCloseTo(0.00016033987839534817, 15);
    expect(r.alarm).toBe(false);
  });

  it('refuses bad options, naming the field', () => {
    expect(() => reviewGroups(set, { alpha: 2 })).toThrow(/reviewGroups\.alpha/);
    expect(() => reviewGroups(set, { kinds: ['records' as never] })).toThrow(/reviewGroups\.kinds/);
  });
});
