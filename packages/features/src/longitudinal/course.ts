import {
  type CusumMonitor,
  createCusum,
  mannKendall,
  normalPValue,
  welchTTest,
} from '@anomalia/longitudinal';
import type { TrackerOptions } from './options';
import {
  deviation,
  PARAMETER_COUNT,
  PARAMETER_INDEX,
  type ParameterFamily,
  SERIES_PARAMETERS,
  type SeriesParameter,
  type SeriesParameterId,
} from './parameters';
import type { FractionSnapshot } from './snapshot';

/** A statistical alarm on one parameter of one course, with the fraction at which it fired. */
export interface CourseAlarm {
  readonly courseKey: string;
  readonly patientId: number;
  readonly fieldSetId: number;
  /** The series parameter, or `field_version` for the version-churn rule. */
  readonly parameter: SeriesParameterId | 'field_version';
  readonly family: ParameterFamily | 'audit';
  /**
   * `cusum`: the tabular CUSUM crossed h; `mann-kendall`: a monotonic trend below the alarm level;
   * `version-churn`: two fractions in a row each delivered a new field version whose planned
   * content did not change; `archived-version`: two fractions in a row delivered a field version
   * that is not the current one (TxField.Version ≠ 0) as the tracker saw them. Those two are
   * rules, not tests: their p-value is null.
   */
  readonly test: 'cusum' | 'mann-kendall' | 'version-churn' | 'archived-version';
  /** 1-based position of the fraction in the course (delivery order) at which it fired. */
  readonly fraction: number;
  readonly ttxId: number;
  /** Create_DtTm of that fraction. */
  readonly time: Date;
  /** CUSUM: max(C⁺, C⁻) in σ units; Mann–Kendall: z. */
  readonly statistic: number;
  /** CUSUM: h; Mann–Kendall: the alarm level α. */
  readonly threshold: number;
  /**
   * Two-sided p-value: for a CUSUM alarm on a planned parameter, the z-test of the deviations
   * from the reference with σ = the floor; on a measured one, Welch's test of the later half
   * against the earlier; for Mann–Kendall, the trend test's own; null for `version-churn`.
   * Adjust across patients × parameters with `reviewCourses` (Benjamini–Hochberg).
   */
  readonly pValue: number | null;
  readonly direction: 'increase' | 'decrease';
  /** The deviation at that fraction, in the parameter's scale (% for relative parameters). */
  readonly deviation: number;
  /** Largest |deviation| of a single fraction up to then. */
  readonly maxFractionDeviation: number;
  /** True when every fraction stayed within the parameter's one-fraction tolerance. */
  readonly withinTolerance: boolean;
}

/** One parameter's state in a course. */
interface Track {
  readonly param: SeriesParameter;
  /** Reference: the first fraction's value (planned) or the baseline mean (measured); NaN until set. */
  ref: number;
  sigma: number;
  cusum: CusumMonitor | null;
  /** Measured parameters: distinct values (one per offset) in order, and the same in ascending order. */
  readonly points: number[];
  readonly sorted: number[];
  lastOffsetId: number | null;
  /** Deviations pushed into the CUSUM, in order. */
  readonly deviations: number[];
  maxAbsDeviation: number;
  cusumStatistic: number;
  /** Mann–Kendall S of `points`, kept up to date one value at a time. */
  mkS: number;
  /**
   * Σ t(t−1)(2t+5) over groups of t tied values of `points` (Var(S)'s tie term), and each value's
   * count (created with the first point: planned parameters have none, and a course has 14 of them).
   */
  mkTies: number;
  counts: Map<number, number> | null;
  /** The full trend test (with the autocorrelation correction) of `points`, computed when asked. */
  trendZ: number;
  trendP: number;
  /** `points.length` when trendZ / trendP were computed (-1: never). */
  trendAt: number;
  cusumAlarm: boolean;
  trendAlarm: boolean;
}

export interface ParameterSummary {
  readonly parameter: SeriesParameterId;
  /** Reference value in the parameter's unit (NaN until set). */
  readonly reference: number;
  /** Latest deviation from the reference, in the parameter's scale. */
  readonly deviation: number;
  readonly maxFractionDeviation: number;
  readonly cusum: number;
  readonly trendZ: number;
  readonly trendP: number;
  /** Deviations from the reference since it was set (one per fraction, or per distinct offset). */
  readonly deviations: readonly number[];
}

const newTrack = (param: SeriesParameter): Track => ({
  param,
  ref: Number.NaN,
  sigma: param.sigmaFloor,
  cusum: null,
  points: [],
  sorted: [],
  lastOffsetId: null,
  deviations: [],
  maxAbsDeviation: 0,
  cusumStatistic: 0,
  mkS: 0,
  mkTies: 0,
  counts: null,
  trendZ: 0,
  trendP: 1,
  trendAt: -1,
  cusumAlarm: false,
  trendAlarm: false,
});

const METERSET = PARAMETER_INDEX.meterset;

/** Moving ranges kept per measured parameter, and the fewest needed before the pooled σ is used. */
const NOISE_WINDOW = 4096;
const NOISE_MIN = 50;
const NOISE_REFRESH = 64;
/**
 * E[|X₁ − X₂| given it is below its 95th percentile] for independent normal X, in σ:
 * √2 · √(2/π) · (1 − e^(−1.96²/2)) / 0.95.
 */
const TRIMMED_MR_PER_SIGMA = 1.0138;

/**
 * The clinic's fraction-to-fraction noise of each measured parameter, pooled over courses: the
 * mean moving range of consecutive distinct values below their 95th percentile (robust to the
 * occasional large set-up correction, and smooth on millimetre-rounded offsets where a median
 * would jump by whole millimetres) over the last 4096 pairs, / 1.0138. A course's own baseline
 * has only a few points, and a σ estimated from 5 of them is too small often enough to make its
 * chart alarm on noise.
 */
export class NoiseModel {
  private readonly ranges = new Map<number, NoiseRanges>();

  add(param: number, movingRange: number): void {
    let r = this.ranges.get(param);
    if (!r) {
      r = {
        values: new Float64Array(NOISE_WINDOW),
        n: 0,
        sigma: Number.NaN,
        at: -1,
        sorted: null,
        spare: null,
        added: [],
        removed: [],
      };
      this.ranges.set(param, r);
    }
    const slot = r.n % NOISE_WINDOW;
    if (r.sorted !== null) {
      if (r.n >= NOISE_WINDOW) r.removed.push(r.values[slot]!);
      r.added.push(movingRange);
      // Past this many changes a full sort is as cheap (and a value added since could be evicted).
      if (r.added.length > NOISE_WINDOW >> 3 || Number.isNaN(movingRange)) dropSorted(r);
    }
    r.values[slot] = movingRange;
    r.n++;
  }

  /** The pooled σ (re-estimated every NOISE_REFRESH moving ranges), or NaN before NOISE_MIN were seen. */
  sigma(param: number): number {
    const r = this.ranges.get(param);
    if (!r || r.n < NOISE_MIN) return Number.NaN;
    if (r.at < 0 || r.n - r.at >= NOISE_REFRESH) {
      const m = Math.min(r.n, NOISE_WINDOW);
      const sorted = sortedWindow(r, m);
      const kept = Math.max(1, Math.floor(0.95 * m));
      let sum = 0;
      for (let i = 0; i < kept; i++) sum += sorted[i]!;
      r.sigma = sum / kept / TRIMMED_MR_PER_SIGMA;
      r.at = r.n;
    }
    return r.sigma;
  }

  /** A copy (a replay can start from a clinic's noise without changing it). */
  clone(): NoiseModel {
    const copy = new NoiseModel();
    for (const [k, r] of this.ranges)
      copy.ranges.set(k, {
        ...r,
        values: r.values.slice(),
        sorted: r.sorted?.slice() ?? null,
        spare: null,
        added: r.added.slice(),
        removed: r.removed.slice(),
      });
    return copy;
  }
}

/** One parameter's moving ranges: a ring of the last NOISE_WINDOW, and the window sorted as of the last σ. */
interface NoiseRanges {
  values: Float64Array;
  n: number;
  sigma: number;
  at: number;
  /** The window's values in ascending order when σ was last estimated (null: sort afresh). */
  sorted: Float64Array | null;
  /** The sorted window before that one: the next merge writes into it instead of a new array. */
  spare: Float64Array | null;
  /** Values that entered and left the window since. */
  added: number[];
  removed: number[];
}

function dropSorted(r: NoiseRanges): void {
  r.sorted = null;
  r.added.length = 0;
  r.removed.length = 0;
}

/**
 * The window's m values in ascending order: the previous sorted window with the values that left
 * it taken out and those that entered merged in (O(m) instead of a sort of the whole window).
 */
function sortedWindow(r: NoiseRanges, m: number): Float64Array {
  const old = r.sorted;
  let out: Float64Array;
  if (old === null || old.length - r.removed.length + r.added.length !== m) {
    out = r.values.slice(0, m).sort();
  } else {
    const removed = Float64Array.from(r.removed).sort();
    const added = Float64Array.from(r.added).sort();
    out = r.spare !== null && r.spare.length === m ? r.spare : new Float64Array(m);
    let i = 0;
    let k = 0;
    let a = 0;
    let o = 0;
    while (i < old.length) {
      const v = old[i++]!;
      if (k < removed.length && v === removed[k]) {
        k++;
        continue;
      }
      while (a < added.length && added[a]! < v) out[o++] = added[a++]!;
      out[o++] = v;
    }
    while (a < added.length) out[o++] = added[a++]!;
    if (k !== removed.length || o !== m) out = r.values.slice(0, m).sort();
  }
  r.spare = old !== out ? old : null;
  r.sorted = out;
  r.added.length = 0;
  r.removed.length = 0;
  return out;
}

/**
 * One course (a patient's field across fractions) in delivery order, with a CUSUM per parameter
 * and Mann–Kendall trends on the measured ones, updated one fraction at a time. A fraction that
 * arrives out of order, or a fraction observed again (an edited record), rebuilds the course
 * from its snapshots: the result is the same as if every fraction had arrived in order.
 */
export class CourseState {
  readonly fractions: FractionSnapshot[] = [];
  /** The QA-mode verification of the field before its first fraction, when one was observed. */
  private verified: FractionSnapshot | null = null;
  /** Consecutive fractions delivered on a new version with unchanged planned content. */
  private churn = 0;
  private churnAlarm = false;
  /** Consecutive fractions delivered from an archived version. */
  private archived = 0;
  private archivedAlarm = false;
  private tracks: Track[] = [];
  private alarmList: CourseAlarm[] = [];
  /** False while a rebuild replays fractions already counted in the noise model. */
  private counting = true;
  private meterDeviationSum = 0;
  private meterDeviationCount = 0;

  constructor(
    readonly key: string,
    readonly patientId: number,
    readonly fieldSetId: number,
    readonly options: TrackerOptions,
    private readonly noise: NoiseModel = new NoiseModel(),
  ) {
    this.resetTracks();
  }

  get alarms(): readonly CourseAlarm[] {
    return this.alarmList;
  }

  /**
   * What the course's fractions are compared with: the QA-mode verification of the approved plan
   * when one was observed before the first fraction (an attack present from the first fraction
   * then still shows), else the first fraction.
   */
  get reference(): FractionSnapshot | null {
    return this.verified ?? this.fractions[0] ?? null;
  }

  /** The verification snapshot, if any. */
  get verification(): FractionSnapshot | null {
    return this.verified;
  }

  /**
   * Sets the QA-mode verification the course is compared with. Only a verification earlier than
   * the first fraction counts (a later one verifies a re-plan, not the course's plan); returns
   * the alarms a rebuild raises when fractions were already there.
   */
  verify(s: FractionSnapshot): CourseAlarm[] {
    const first = this.fractions[0];
    if (first && compare(s, first) >= 0) return [];
    if (this.verified && compare(this.verified, s) >= 0) return [];
    this.verified = s;
    return this.fractions.length ? this.rebuild() : [];
  }

  get latest(): FractionSnapshot | null {
    return this.fractions[this.fractions.length - 1] ?? null;
  }

  /** Whether the planned content of the latest fraction differs from the course's first. */
  get changed(): boolean {
    const ref = this.reference;
    const last = this.latest;
    return (
      ref !== null && last !== null && (last.fingerprint !== ref.fingerprint || last.fieldId !== ref.fieldId)
    );
  }

  /** Mean relative meterset deviation over the fractions so far (%), 0 before a reference. */
  get cumulativeDoseChange(): number {
    return this.meterDeviationCount ? this.meterDeviationSum / this.meterDeviationCount : 0;
  }

  track(id: SeriesParameterId): ParameterSummary {
    return this.summarise(this.tracks[PARAMETER_INDEX[id]]!);
  }

  parameters(): ParameterSummary[] {
    return this.tracks.map((t) => this.summarise(t));
  }

  /** Largest CUSUM statistic over the parameters (σ units). */
  maxCusum(): number {
    let m = 0;
    for (const t of this.tracks) if (t.cusumStatistic > m) m = t.cusumStatistic;
    return m;
  }

  /**
   * Largest |Mann–Kendall z| over the measured parameters. A track's uncorrected |z| bounds its
   * corrected one from above, so tracks are tested from the largest bound down and the rest
   * skipped once none can exceed the maximum so far.
   */
  maxTrendZ(): number {
    const candidates: { t: Track; bound: number }[] = [];
    for (const t of this.tracks)
      if (t.points.length >= this.options.mannKendallMin)
        candidates.push({ t, bound: Math.abs(rawTrendZ(t)) });
    candidates.sort((a, b) => b.bound - a.bound);
    let m = 0;
    for (const { t, bound } of candidates) {
      if (!(bound > m)) break;
      const z = Math.abs(this.trend(t).z);
      if (z > m) m = z;
    }
    return m;
  }

  /** Parameters with an alarm (either test) so far. */
  alarmedParameters(): number {
    let n = (this.churnAlarm ? 1 : 0) + (this.archivedAlarm ? 1 : 0);
    for (const t of this.tracks) if (t.cusumAlarm || t.trendAlarm) n++;
    return n;
  }

  /**
   * Adds a fraction (or replaces the fraction with the same TTX_ID) and returns the alarms it
   * raised. A fraction earlier than the latest, or a replacement, rebuilds the course; alarms of
   * a rebuild are returned when they are new.
   */
  add(s: FractionSnapshot): CourseAlarm[] {
    const existing = this.fractions.findIndex((f) => f.ttxId === s.ttxId);
    const last = this.latest;
    if (existing < 0 && (last === null || compare(s, last) > 0)) {
      this.fractions.push(s);
      return this.step(s, this.fractions.length);
    }
    if (existing >= 0) this.fractions.splice(existing, 1);
    let at = this.fractions.length;
    while (at > 0 && compare(this.fractions[at - 1]!, s) > 0) at--;
    this.fractions.splice(at, 0, s);
    return this.rebuild();
  }

  private rebuild(): CourseAlarm[] {
    const before = new Set(this.alarmList.map((a) => `${a.parameter}|${a.test}|${a.ttxId}`));
    this.resetTracks();
    this.alarmList = [];
    this.meterDeviationSum = 0;
    this.meterDeviationCount = 0;
    this.churn = 0;
    this.churnAlarm = false;
    this.archived = 0;
    this.archivedAlarm = false;
    this.counting = false;
    for (let i = 0; i < this.fractions.length; i++) this.step(this.fractions[i]!, i + 1);
    this.counting = true;
    return this.alarmList.filter((a) => !before.has(`${a.parameter}|${a.test}|${a.ttxId}`));
  }

  private resetTracks(): void {
    this.tracks = SERIES_PARAMETERS.map(newTrack);
  }

  private step(s: FractionSnapshot, fraction: number): CourseAlarm[] {
    const raised: CourseAlarm[] = [];
    const previous = fraction > 1 ? this.fractions[fraction - 2]! : null;
    if (previous && previous.fieldId !== s.fieldId && previous.fingerprint === s.fingerprint) {
      this.churn++;
      if (this.churn >= 2 && !this.churnAlarm) {
        this.churnAlarm = true;
        raised.push(this.ruleAlarm('version-churn', s, fraction, this.churn));
      }
    } else if (previous) this.churn = 0;
    // At delivery the version delivered is the current one; an archived one means the field was
    // edited back after (or before, and restored): the plan others see is not what was delivered.
    if (s.fieldVersion !== null && s.fieldVersion !== 0) {
      this.archived++;
      if (this.archived >= 2 && !this.archivedAlarm) {
        this.archivedAlarm = true;
        raised.push(this.ruleAlarm('archived-version', s, fraction, this.archived));
      }
    } else this.archived = 0;
    for (let j = 0; j < PARAMETER_COUNT; j++) {
      const t = this.tracks[j]!;
      const x = s.values[j]!;
      if (Number.isNaN(x)) continue;
      if (t.param.kind === 'planned') this.stepPlanned(t, x, s, fraction, raised);
      else this.stepMeasured(t, x, s, fraction, raised);
    }
    const meterTrack = this.tracks[METERSET]!;
    const md = deviation(meterTrack.param, s.values[METERSET]!, meterTrack.ref);
    if (!Number.isNaN(md)) {
      this.meterDeviationSum += md;
      this.meterDeviationCount++;
    }
    this.alarmList.push(...raised);
    return raised;
  }

  private ruleAlarm(
    test: 'version-churn' | 'archived-version',
    s: FractionSnapshot,
    fraction: number,
    count: number,
  ): CourseAlarm {
    return {
      courseKey: this.key,
      patientId: this.patientId,
      fieldSetId: this.fieldSetId,
      parameter: 'field_version',
      family: 'audit',
      test,
      fraction,
      ttxId: s.ttxId,
      time: new Date(s.time),
      statistic: count,
      threshold: 2,
      pValue: null,
      direction: 'increase',
      deviation: 0,
      maxFractionDeviation: 0,
      withinTolerance: false,
    };
  }

  /** Steps a planned parameter's chart; an alarm it raises is appended to `raised`. */
  private stepPlanned(
    t: Track,
    x: number,
    s: FractionSnapshot,
    fraction: number,
    raised: CourseAlarm[],
  ): void {
    const o = this.options;
    if (Number.isNaN(t.ref)) {
      const verified = this.verified?.values[PARAMETER_INDEX[t.param.id]] ?? Number.NaN;
      t.ref = Number.isNaN(verified) ? x : verified;
      t.cusum = createCusum({ target: 0, sigma: t.sigma, k: o.cusumK, h: o.plannedH });
    }
    const d = deviation(t.param, x, t.ref);
    this.pushDeviation(t, d, s, fraction, o.plannedH, raised);
  }

  /** Steps a measured parameter's chart and trend test; alarms they raise are appended to `raised`. */
  private stepMeasured(
    t: Track,
    x: number,
    s: FractionSnapshot,
    fraction: number,
    raised: CourseAlarm[],
  ): void {
    // One point per distinct offset: fractions reusing the last offset add no information.
    if (s.offsetId !== null && s.offsetId === t.lastOffsetId) return;
    t.lastOffsetId = s.offsetId;
    const j = PARAMETER_INDEX[t.param.id];
    const n = t.points.length; // points before x
    if (this.counting && n > 0) this.noise.add(j, Math.abs(x - t.points[n - 1]!));
    const center = n ? medianOfSorted(t.sorted) : Number.NaN;
    for (let i = 0; i < n; i++) {
      const d = x - t.points[i]!;
      t.mkS += d > 0 ? 1 : d < 0 ? -1 : 0;
    }
    t.counts ??= new Map();
    const c = t.counts.get(x) ?? 0;
    t.counts.set(x, c + 1);
    t.mkTies += tieGroupTerm(c + 1) - tieGroupTerm(c);
    t.points.push(x);
    insertSorted(t.sorted, x);
    const o = this.options;
    // Deviations from the baseline (the mean of the first `baselineCount` points), for features and review.
    if (Number.isNaN(t.ref)) {
      if (t.points.length === o.baselineCount) {
        t.ref = t.points.reduce((a, v) => a + v, 0) / t.points.length;
        for (const v of t.points) this.noteDeviation(t, v - t.ref);
      }
    } else this.noteDeviation(t, x - t.ref);
    // Self-starting CUSUM (after Hawkins 1987) with the clinic's pooled σ: each value against the
    // median of all the earlier ones, T = (x − m) / (σ·√(1 + π/(2n))), about N(0, 1) in control
    // whatever the course's length, so neither a short baseline nor an early outlier set-up
    // biases the chart.
    if (n >= 3) {
      const pooled = this.noise.sigma(j);
      t.sigma = Math.max(t.param.sigmaFloor, Number.isNaN(pooled) ? 0 : pooled);
      t.cusum ??= createCusum({ target: 0, sigma: 1, k: o.cusumK, h: o.measuredH });
      const z = (x - center) / (t.sigma * Math.sqrt(1 + Math.PI / (2 * n)));
      const clipped = Math.min(o.measuredClip, Math.max(-o.measuredClip, z));
      const signal = t.cusum.step(clipped);
      t.cusumStatistic = Math.max(t.cusum.upper, t.cusum.lower);
      if (!t.cusumAlarm && signal !== null) {
        t.cusumAlarm = true;
        const d = Number.isNaN(t.ref) ? x - center : x - t.ref;
        const w = welchTTest(
          t.points.slice(-Math.max(2, n >> 1)),
          t.points.slice(0, Math.max(2, n - (n >> 1))),
        );
        raised.push(
          this.alarm(
            t,
            'cusum',
            s,
            fraction,
            t.cusumStatistic,
            o.measuredH,
            w.status === 'ok' ? w.pValue : 1,
            t.cusum.upper >= t.cusum.lower,
            d,
          ),
        );
      }
    }
    if (!t.trendAlarm && t.points.length >= o.mannKendallMin && this.trendMayAlarm(t)) {
      const mk = this.trend(t);
      if (mk.p < o.mannKendallAlpha) {
        t.trendAlarm = true;
        raised.push(
          this.alarm(
            t,
            'mann-kendall',
            s,
            fraction,
            mk.z,
            o.mannKendallAlpha,
            mk.p,
            mk.z > 0,
            Number.isNaN(t.ref) ? x - center : x - t.ref,
          ),
        );
      }
    }
  }

  /**
   * Whether the trend test of the track's points can fall below the alarm level. The
   * autocorrelation correction only multiplies Var(S) by n/n* ≥ 1, so the corrected p is never
   * below the uncorrected one, which the running S and tie term give in O(1): when that is above
   * α (with a margin for rounding) the full test, O(n²) with the correction, cannot alarm.
   */
  private trendMayAlarm(t: Track): boolean {
    return normalPValue(rawTrendZ(t), 'two-sided') < this.options.mannKendallAlpha * (1 + 1e-9);
  }

  /** The track's Mann–Kendall z and p over its points (0 and 1 below `mannKendallMin` values), cached per length. */
  private trend(t: Track): { z: number; p: number } {
    const n = t.points.length;
    if (n < this.options.mannKendallMin) return { z: 0, p: 1 };
    if (t.trendAt !== n) {
      const mk = mannKendall(t.points, { autocorrelation: this.options.autocorrelation });
      if (mk.status === 'ok') {
        t.trendZ = mk.z;
        t.trendP = mk.pValue;
      }
      t.trendAt = n;
    }
    return { z: t.trendZ, p: t.trendP };
  }

  private noteDeviation(t: Track, d: number): void {
    t.deviations.push(d);
    t.maxAbsDeviation = Math.max(t.maxAbsDeviation, Math.abs(d));
  }

  private pushDeviation(
    t: Track,
    d: number,
    s: FractionSnapshot,
    fraction: number,
    h: number,
    raised: CourseAlarm[],
  ): void {
    if (Number.isNaN(d)) return;
    t.deviations.push(d);
    t.maxAbsDeviation = Math.max(t.maxAbsDeviation, Math.abs(d));
    const cusum = t.cusum!;
    const signal = cusum.step(d);
    t.cusumStatistic = Math.max(cusum.upper, cusum.lower);
    if (t.cusumAlarm || signal === null) return;
    t.cusumAlarm = true;
    const p = floorZTest(t.deviations, t.sigma).pValue;
    raised.push(this.alarm(t, 'cusum', s, fraction, t.cusumStatistic, h, p, cusum.upper >= cusum.lower, d));
  }

  private alarm(
    t: Track,
    test: CourseAlarm['test'],
    s: FractionSnapshot,
    fraction: number,
    statistic: number,
    threshold: number,
    pValue: number,
    up: boolean,
    d: number,
  ): CourseAlarm {
    return {
      courseKey: this.key,
      patientId: this.patientId,
      fieldSetId: this.fieldSetId,
      parameter: t.param.id,
      family: t.param.family,
      test,
      fraction,
      ttxId: s.ttxId,
      time: new Date(s.time),
      statistic,
      threshold,
      pValue,
      direction: up ? 'increase' : 'decrease',
      deviation: d,
      maxFractionDeviation: t.maxAbsDeviation,
      withinTolerance: t.maxAbsDeviation <= t.param.tolerance,
    };
  }

  private summarise(t: Track): ParameterSummary {
    const last = t.deviations[t.deviations.length - 1];
    const trend = this.trend(t);
    return {
      parameter: t.param.id,
      reference: t.ref,
      deviation: last ?? Number.NaN,
      maxFractionDeviation: t.maxAbsDeviation,
      cusum: t.cusumStatistic,
      trendZ: trend.z,
      trendP: trend.p,
      deviations: [...t.deviations],
    };
  }
}

/**
 * Planned parameters have no noise of their own, so a t-test of their deviations measures the
 * spread of the change rather than its size. Their test is a one-sample z-test of the deviations
 * with σ = the parameter's floor (the resolution the CUSUM charts with): z = d̄ / (σ/√n).
 */
export function floorZTest(
  deviations: readonly number[],
  sigma: number,
): { z: number; pValue: number; mean: number } {
  const n = deviations.length;
  if (n === 0) return { z: 0, pValue: 1, mean: 0 };
  const mean = deviations.reduce((a, d) => a + d, 0) / n;
  const z = mean / (sigma / Math.sqrt(n));
  return { z, pValue: normalPValue(z, 'two-sided'), mean };
}

/**
 * The Mann–Kendall z of a track's points without the autocorrelation correction, from its running
 * S and tie term, computed as `mannKendall` does (so equal to its z when no correction applies).
 */
function rawTrendZ(t: Track): number {
  const n = t.points.length;
  const s = t.mkS;
  if (s === 0) return 0;
  const varS = (n * (n - 1) * (2 * n + 5) - t.mkTies) / 18;
  return s > 0 ? (s - 1) / Math.sqrt(varS) : (s + 1) / Math.sqrt(varS);
}

/** t(t−1)(2t+5): one group of t tied values' share of Var(S)'s tie term (0 for t ≤ 1). */
const tieGroupTerm = (t: number) => t * (t - 1) * (2 * t + 5);

/**
 * Inserts x after every value not greater than it: the order a stable sort of the values in
 * arrival order gives (so ±0 keep their places, as in a fresh sort).
 */
function insertSorted(sorted: number[], x: number): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  sorted.splice(lo, 0, x);
}

function medianOfSorted(s: readonly number[]): number {
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Delivery order: Create_DtTm, then TTX_ID. */
export function compare(a: FractionSnapshot, b: FractionSnapshot): number {
  return a.time - b.time || a.ttxId - b.ttxId;
}
