import { poissonRateTest, standardNormalSf } from '@anomalia/longitudinal';
import type { GroupSeriesKind } from './group-events';
import type { GroupSeries } from './group-series';

/** The counts a group is tested on and what it is compared with. */
export interface RateComparison {
  readonly count: number;
  readonly exposure: number;
  readonly otherCount: number;
  readonly otherExposure: number;
  readonly pValue: number;
}

/** A departure from the peers, with the peers' overdispersion. */
export interface DepartureComparison extends RateComparison {
  /** Between-peer dispersion φ the test allowed for (1: none seen, the exact test was used). */
  readonly dispersion: number;
}

const sum = (values: readonly number[], from = 0, to = values.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += values[i]!;
  return s;
};

/**
 * The group's rate of `kind` against the pooled rate of its peers (the other groups of its
 * dimension and role) over the first `periods` periods, one-sided (higher). Peers doing the same
 * job still differ by more than Poisson noise (a machine's case mix, a therapist's shifts), so the
 * peers' own spread is measured first: φ = Σ (xₚ − eₚ·r)² / (eₚ·r) / (peers − 1) over the peers
 * against their pooled rate r (quasi-Poisson, as funnel plots of institutional performance do,
 * Spiegelhalter 2005; the group itself is left out so that it cannot mask its own departure).
 * With φ ≤ 1 (or fewer than 3 peers, or no peer event) the conditional exact Poisson test is
 * used; with φ > 1 the z = (x − e·r) / √(φ·e·r) test. Null when it cannot be tested: no peer
 * exposure, or no event in the group and its peers.
 */
export function departureTest(
  g: GroupSeries,
  peers: readonly GroupSeries[],
  kind: GroupSeriesKind,
  periods = g.exposure.length,
): DepartureComparison | null {
  const count = sum(g.counts[kind], 0, periods);
  const exposure = sum(g.exposure, 0, periods);
  const own: { x: number; e: number }[] = [];
  let otherCount = 0;
  let otherExposure = 0;
  for (const p of peers) {
    const x = sum(p.counts[kind], 0, periods);
    const e = sum(p.exposure, 0, periods);
    if (e <= 0) continue;
    own.push({ x, e });
    otherCount += x;
    otherExposure += e;
  }
  if (exposure <= 0 || otherExposure <= 0 || count + otherCount === 0) return null;
  const rate = otherCount / otherExposure;
  let dispersion = 1;
  if (own.length >= 3 && rate > 0) {
    let chi = 0;
    for (const { x, e } of own) chi += (x - e * rate) ** 2 / (e * rate);
    dispersion = Math.max(1, chi / (own.length - 1));
  }
  const pValue =
    dispersion > 1
      ? standardNormalSf((count - exposure * rate) / Math.sqrt(dispersion * exposure * rate))
      : poissonRateTest(count, exposure, otherCount, otherExposure, { alternative: 'greater' }).pValue;
  return { count, exposure, otherCount, otherExposure, pValue, dispersion };
}

/** The first period (0-based) at which the group's accumulated departure reaches p ≤ `cutoff`. */
export function departurePeriod(
  g: GroupSeries,
  peers: readonly GroupSeries[],
  kind: GroupSeriesKind,
  cutoff: number,
): number | null {
  for (let t = 1; t <= g.exposure.length; t++) {
    const r = departureTest(g, peers, kind, t);
    if (r !== null && r.pValue <= cutoff) return t - 1;
  }
  return null;
}

export interface ChangeComparison extends RateComparison {
  /** First period of the raised rate. */
  readonly period: number;
  /** Split points tried (the Bonferroni factor). */
  readonly splits: number;
  /** Extra-Poisson spread φ of the group's periods around its before/after rates (1: none, the exact test). */
  readonly dispersion: number;
}

/**
 * φ = Σ (cᵢ − eᵢ·rᵢ)² / (eᵢ·rᵢ) / (periods − 2) over the active periods, rᵢ the rate of the side of
 * `at` period i is on: how much more than Poisson noise the group's periods spread once the
 * change is allowed for (a physicist's share of QA beams, a therapist's shifts). At least 1.
 */
function periodDispersion(
  counts: readonly number[],
  exposure: readonly number[],
  active: readonly number[],
  at: number,
) {
  if (active.length < 3) return 1;
  const side = (lo: number, hi: number) => {
    let c = 0;
    let e = 0;
    for (const i of active)
      if (i >= lo && i < hi) {
        c += counts[i]!;
        e += exposure[i]!;
      }
    return e > 0 ? c / e : 0;
  };
  const before = side(0, at);
  const after = side(at, Number.POSITIVE_INFINITY);
  let chi = 0;
  for (const i of active) {
    const expected = exposure[i]! * (i < at ? before : after);
    if (expected > 0) chi += (counts[i]! - expected) ** 2 / expected;
  }
  return Math.max(1, chi / (active.length - 2));
}

/**
 * Has the group's own rate of `kind` risen? Every split with at least `minPeriods` periods of
 * exposure on each side is tried; the rate after it is tested against the rate before it, given
 * the group's events (one-sided conditional exact Poisson test, or with φ > 1 the quasi-Poisson
 * z = (x − n·s) / √(φ·n·s·(1 − s)), s the after side's share of the exposure), and the smallest p
 * is multiplied by the number of splits tried (Bonferroni), so the scan over change points does
 * not inflate the false alarms.
 */
export function changeTest(
  g: GroupSeries,
  kind: GroupSeriesKind,
  minPeriods: number,
): ChangeComparison | null {
  const active = g.exposure.flatMap((e, i) => (e > 0 ? [i] : []));
  const counts = g.counts[kind];
  const total = sum(counts);
  if (total === 0) return null;
  const allExposure = sum(g.exposure);
  let best: Omit<ChangeComparison, 'splits'> | null = null;
  let splits = 0;
  for (let j = minPeriods; j <= active.length - minPeriods; j++) {
    const at = active[j]!;
    const before = { count: sum(counts, 0, at), exposure: sum(g.exposure, 0, at) };
    const after = { count: total - before.count, exposure: allExposure - before.exposure };
    splits++;
    const dispersion = periodDispersion(counts, g.exposure, active, at);
    const share = after.exposure / allExposure;
    const pValue =
      dispersion > 1
        ? standardNormalSf(
            (after.count - total * share) / Math.sqrt(dispersion * total * share * (1 - share)),
          )
        : poissonRateTest(after.count, after.exposure, before.count, before.exposure, {
            alternative: 'greater',
          }).pValue;
    if (best === null || pValue < best.pValue) {
      best = {
        count: after.count,
        exposure: after.exposure,
        otherCount: before.count,
        otherExposure: before.exposure,
        pValue,
        period: at,
        dispersion,
      };
    }
  }
  if (best === null) return null;
  return { ...best, pValue: Math.min(1, best.pValue * splits), splits };
}
