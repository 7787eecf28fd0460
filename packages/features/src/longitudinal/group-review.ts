import { parseWith } from '@anomalia/core';
import { adjustPValues } from '@anomalia/longitudinal';
import { z } from 'zod';
import { GROUP_SERIES_KINDS, type GroupSeriesKind } from './group-events';
import type { GroupDimension, GroupSeries, GroupSeriesSet } from './group-series';
import { changeTest, departurePeriod, departureTest, type RateComparison } from './group-tests';

/**
 * Statistical alarms on the per-machine and per-staff series (`groupSeries`): for every group and
 * every event kind but `records` (the exposure), a departure test (its rate against its peers')
 * and a change test (its own rate after the most likely change point against before), then
 * Benjamini–Hochberg across all of them (groups × kinds × both tests).
 */
export const GroupReviewOptionsSchema = z.strictObject({
  /** False-discovery rate across every test of the review. */
  alpha: z.number().gt(0).lt(1).default(0.05),
  /** Fewest periods with exposure on each side of a change point. */
  minPeriods: z.number().int().min(1).default(2),
  /** Event kinds tested (default: all but `records`). */
  kinds: z
    .array(
      z.enum(['late_edits', 'planned_edits', 'planned_edits_after_delivery', 'audit_anomalies', 'flagged']),
    )
    .min(1)
    .optional(),
});
export type GroupReviewOptions = z.input<typeof GroupReviewOptionsSchema>;

export interface GroupPeriod {
  readonly index: number;
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

export interface GroupTestResult {
  readonly dimension: GroupDimension;
  readonly group: number;
  readonly role: string;
  readonly kind: GroupSeriesKind;
  /** `departure`: against the peers over the whole window; `change`: after the change point against before. */
  readonly test: 'departure' | 'change';
  /** Events and exposure of the group (for `change`: from the change point on). */
  readonly count: number;
  readonly exposure: number;
  readonly rate: number;
  /** What it is compared with: the peers pooled (`departure`) or the group before the change point (`change`). */
  readonly reference: { readonly count: number; readonly exposure: number; readonly rate: number };
  /** rate / reference rate (Infinity when the reference has no event). */
  readonly rateRatio: number;
  /** Dispersion φ the test allowed for: between peers (`departure`) or between the group's periods (`change`); 1: the exact test. */
  readonly dispersion: number;
  readonly pValue: number;
  /** Benjamini–Hochberg across every test of the review. */
  readonly adjustedPValue: number;
  readonly alarm: boolean;
  /**
   * When it fired: for `departure`, the first period at which the evidence accumulated from the
   * start reached the review's rejection threshold (null without an alarm); for `change`, the first
   * period of the raised rate.
   */
  readonly period: GroupPeriod | null;
  /** Distinct patients with an event of the kind attributed to the group (whole window). */
  readonly patients: number;
}

export interface GroupReview {
  readonly alpha: number;
  /** Tests run (the BH family size). */
  readonly tested: number;
  /** Results with an alarm, smallest adjusted p first. */
  readonly alarms: readonly GroupTestResult[];
  /** Every result, smallest adjusted p first. */
  readonly results: readonly GroupTestResult[];
}

interface Raw {
  g: GroupSeries;
  kind: GroupSeriesKind;
  test: 'departure' | 'change';
  r: RateComparison;
  dispersion: number;
  changeAt: number | null;
}

const peersOf = (all: readonly GroupSeries[], g: GroupSeries) =>
  all.filter((p) => p !== g && p.dimension === g.dimension && p.role === g.role);

export function reviewGroups(series: GroupSeriesSet, options: GroupReviewOptions = {}): GroupReview {
  const o = parseWith(GroupReviewOptionsSchema, options, 'reviewGroups');
  const kinds: readonly GroupSeriesKind[] = o.kinds ?? GROUP_SERIES_KINDS.filter((k) => k !== 'records');
  const raw: Raw[] = [];
  for (const g of series.groups) {
    const peers = peersOf(series.groups, g);
    for (const kind of kinds) {
      // A machine's field versions are its plan volume, not behaviour: only their edits after delivery are tested.
      if (g.dimension === 'machine' && kind === 'planned_edits') continue;
      const d = departureTest(g, peers, kind);
      if (d) raw.push({ g, kind, test: 'departure', r: d, dispersion: d.dispersion, changeAt: null });
      const c = changeTest(g, kind, o.minPeriods);
      if (c) raw.push({ g, kind, test: 'change', r: c, dispersion: c.dispersion, changeAt: c.period });
    }
  }
  const bh = adjustPValues(
    raw.map((x) => x.r.pValue),
    { method: 'bh', alpha: o.alpha },
  );
  // BH rejects every p at or below the largest rejected one: the threshold a departure had to reach.
  let cutoff = -1;
  for (const i of bh.rejectedIndices) cutoff = Math.max(cutoff, raw[i]!.r.pValue);
  const periodOf = (index: number | null): GroupPeriod | null => {
    if (index === null) return null;
    const len = series.periodDays * 86_400_000;
    const start = series.origin.getTime() + index * len;
    return { index, start: new Date(start), end: new Date(start + len) };
  };
  const results = raw.map((x, i): GroupTestResult => {
    const alarm = bh.rejected[i]!;
    const rate = x.r.count / x.r.exposure;
    const refRate = x.r.otherCount / x.r.otherExposure;
    const period =
      x.test === 'change'
        ? x.changeAt
        : alarm
          ? departurePeriod(x.g, peersOf(series.groups, x.g), x.kind, cutoff)
          : null;
    return {
      dimension: x.g.dimension,
      group: x.g.group,
      role: x.g.role,
      kind: x.kind,
      test: x.test,
      count: x.r.count,
      exposure: x.r.exposure,
      rate,
      reference: { count: x.r.otherCount, exposure: x.r.otherExposure, rate: refRate },
      rateRatio: rate / refRate,
      dispersion: x.dispersion,
      pValue: x.r.pValue,
      adjustedPValue: bh.adjusted[i]!,
      alarm,
      period: periodOf(period),
      patients: x.g.patients[x.kind],
    };
  });
  results.sort((a, b) => a.adjustedPValue - b.adjustedPValue || a.pValue - b.pValue);
  return { alpha: o.alpha, tested: raw.length, alarms: results.filter((r) => r.alarm), results };
}
