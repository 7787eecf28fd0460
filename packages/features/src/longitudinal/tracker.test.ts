import { ValidationError } from '@anomalia/core';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it, vi } from 'vitest';
import { extractQaExtended } from '../extended';
import { getFeatureSet } from '../feature-sets';
import { LONGITUDINAL_FEATURE_NAMES } from './definitions';
import { extractQaLongitudinal, QA_LONGITUDINAL_FEATURE_NAMES } from './extract';
import { PARAMETER_INDEX } from './parameters';
import { SnapshotBook, takeSnapshot } from './snapshot';
import { coursesOf, driftOffsets, longCourse, versioned } from './test-courses';
import { LongitudinalTracker } from './tracker';

const records = generateRecords({ seed: 21, records: 20_000 });
const byTime = (list: readonly TreatmentRecord[]) =>
  [...list].sort(
    (a, b) =>
      (a.treatment.Create_DtTm?.getTime() ?? 0) - (b.treatment.Create_DtTm?.getTime() ?? 0) ||
      a.treatment.TTX_ID - b.treatment.TTX_ID,
  );
const course = longCourse(records, 15);
const col = (name: string) => LONGITUDINAL_FEATURE_NAMES.indexOf(name);

/** Feeds the whole clinic, with `replace` standing in for some records. */
function track(replace: ReadonlyMap<number, TreatmentRecord> = new Map()) {
  const tracker = new LongitudinalTracker();
  const observations = new Map<number, ReturnType<LongitudinalTracker['observe']>>();
  for (const r of byTime(records.map((x) => replace.get(x.treatment.TTX_ID) ?? x))) {
    observations.set(r.treatment.TTX_ID, tracker.observe(r));
  }
  return { tracker, observations };
}

const attack = (from: number, f: (r: TreatmentRecord, k: number) => TreatmentRecord) =>
  new Map(course.slice(from).map((r, k) => [r.treatment.TTX_ID, f(r, k)] as const));

describe('LongitudinalTracker on a clean clinic', () => {
  const { tracker, observations } = track();

  it('follows every course and raises no alarm on a planned parameter', () => {
    expect(tracker.size).toBe(coursesOf(records).size);
    const planned = tracker.alarms().filter((a) => !a.parameter.startsWith('offset_'));
    expect(planned).toEqual([]);
  });

  it('alarms on the set-up offsets of at most 1 % of the courses', () => {
    const alarmed = new Set(tracker.alarms().map((a) => a.courseKey));
    expect(alarmed.size / tracker.size).toBeLessThanOrEqual(0.01);
  });

  it('gives every delivery its position in the course and no change from the first fraction', () => {
    const obs = course.map((r) => observations.get(r.treatment.TTX_ID)!);
    expect(obs.map((o) => o.fraction)).toEqual(course.map((_, i) => i + 1));
    for (const o of obs.slice(1)) {
      expect(o.features[col('meterset_change_pct')]).toBe(0);
      expect(o.features[col('jaw_max_change_mm')]).toBe(0);
      expect(o.features[col('field_changed_since_reference')]).toBe(0);
    }
    expect(obs[0]!.missing[col('meterset_change_pct')]).toBe(1);
  });
});

describe('LongitudinalTracker on attacks', () => {
  it('catches a meterset creeping 1 % per fraction at its second fraction (CUSUM, σ = 0.5 %, k = 0.5, h = 4)', () => {
    // Deviations 1 %, 2 %: z = 2, 4; C⁺ = 1.5, then 5.0 > 4.
    const { tracker, observations } = track(
      attack(5, (r, k) => versioned(r, { meterset: (mu) => mu * (1 + (k + 1) / 100) })),
    );
    const alarm = tracker.alarms().find((a) => a.parameter === 'meterset')!;
    expect(alarm).toMatchObject({ fraction: 7, test: 'cusum', direction: 'increase', family: 'dose' });
    expect(alarm.statistic).toBeCloseTo(5, 1);
    expect(alarm.ttxId).toBe(course[6]!.treatment.TTX_ID);
    const o = observations.get(course[6]!.treatment.TTX_ID)!;
    expect(o.alarms.map((a) => a.parameter)).toContain('meterset');
    expect(o.features[col('field_changed_since_reference')]).toBe(1);
    expect(o.features[col('field_edited_after_first_delivery')]).toBe(1);
    expect(o.features[col('meterset_change_pct')]).toBeCloseTo(Math.log1p(2), 1);
  });

  it('flags a bias inside the one-fraction tolerance as within tolerance', () => {
    const { tracker } = track(attack(3, (r) => versioned(r, { meterset: (mu) => mu * 1.015 })));
    const alarm = tracker.alarms().find((a) => a.parameter === 'meterset')!;
    // 1.5 % = 3 σ per fraction: C⁺ = 2.5, 5.0 → the second biased fraction.
    expect(alarm.fraction).toBe(5);
    expect(alarm.withinTolerance).toBe(true);
    expect(alarm.maxFractionDeviation).toBeCloseTo(1.5, 1);
  });

  it('catches a 2 mm jaw shift, and the cumulative dose change of a course', () => {
    const jaw = track(
      attack(2, (r) => versioned(r, { point: (p) => ({ Coll_Y1: (p.Coll_Y1 ?? 0) + 0.2 }) })),
    );
    const alarm = jaw.tracker.alarms().find((a) => a.parameter === 'jaw_y1')!;
    // 0.2 cm = 4 σ: C = 3.5, then 7 > 4.
    expect(alarm).toMatchObject({ fraction: 4, family: 'jaws' });
    expect(jaw.observations.get(course[3]!.treatment.TTX_ID)!.features[col('jaw_max_change_mm')]).toBeCloseTo(
      2,
      6,
    );

    const dose = track(attack(0, (r, k) => (k >= 10 ? versioned(r, { meterset: (mu) => mu * 1.1 }) : r)));
    const c = dose.tracker.courseOf(course[0]!)!;
    expect(c.cumulativeDoseChange).toBeCloseTo((10 * (course.length - 10)) / course.length, 1);
  });

  it('catches set-up offsets drifting 1 mm per session', () => {
    const drifted = driftOffsets(course, 5, 0.1);
    const { tracker } = track(new Map(drifted.map((r) => [r.treatment.TTX_ID, r])));
    const alarms = tracker.courseOf(course[0]!)!.alarms.filter((a) => a.parameter === 'offset_superior');
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms[0]!.direction).toBe('increase');
  });

  it('gives the same course whatever the arrival order, and re-observing a record replaces it', () => {
    const attacked = attack(5, (r, k) => versioned(r, { meterset: (mu) => mu * (1 + (k + 1) / 100) }));
    const list = course.map((r) => attacked.get(r.treatment.TTX_ID) ?? r);
    const inOrder = new LongitudinalTracker();
    for (const r of list) inOrder.observe(r);
    const shuffled = new LongitudinalTracker();
    for (const r of [...list].reverse()) shuffled.observe(r);
    const key = (t: LongitudinalTracker) =>
      t.alarms().map((a) => [a.parameter, a.test, a.fraction, a.statistic]);
    expect(key(shuffled)).toEqual(key(inOrder));

    // The clean version seen first, the attacked one later (an edit re-read by a monitor).
    const revised = new LongitudinalTracker();
    for (const r of course) revised.observe(r);
    expect(revised.alarms()).toEqual([]);
    for (const r of list.slice(5)) revised.observe(r);
    expect(key(revised)).toEqual(key(inOrder));
    expect(revised.courseOf(course[0]!)!.fractions).toHaveLength(course.length);
  });

  it('tracks without features exactly as it observes: the same courses, alarms and patients', () => {
    const { tracker, observations } = track();
    const tracked = new LongitudinalTracker();
    const raised: unknown[] = [];
    for (const r of byTime(records)) raised.push(...tracked.track(r));
    expect(tracked.toJSON()).toEqual(tracker.toJSON());
    expect(raised).toEqual([...observations.values()].flatMap((o) => o.alarms));
    const patient = course[0]!.treatment.Pat_ID1!;
    const mine = [...tracker.courses()].filter((c) => c.patientId === patient).map((c) => c.key);
    expect(tracked.coursesOfPatient(patient).map((c) => c.key)).toEqual(mine);
    expect(mine.length).toBeGreaterThan(0);
    expect(tracked.coursesOfPatient(-1)).toEqual([]);
  });

  it('peek changes nothing', () => {
    const tracker = new LongitudinalTracker();
    for (const r of course.slice(0, 10)) tracker.observe(r);
    const before = JSON.stringify(tracker.toJSON());
    const o = tracker.peek(versioned(course[10]!, { meterset: (mu) => mu * 1.2 }));
    expect(o.features[col('meterset_change_pct')]).toBeCloseTo(Math.log1p(20), 2);
    expect(o.alarms).toEqual([]);
    expect(JSON.stringify(tracker.toJSON())).toBe(before);
  });
});

describe('tracker state', () => {
  it('survives toJSON / fromJSON with the same courses, alarms and features', () => {
    const attacked = attack(5, (r, k) => versioned(r, { meterset: (mu) => mu * (1 + (k + 1) / 100) }));
    const tracker = new LongitudinalTracker({ plannedH: 5 });
    const list = byTime(
      records
        .slice(0, 4000)
        .concat(course)
        .map((r) => attacked.get(r.treatment.TTX_ID) ?? r),
    );
    const seen = new Set<number>();
    for (const r of list) {
      if (seen.has(r.treatment.TTX_ID)) continue;
      seen.add(r.treatment.TTX_ID);
      tracker.observe(r);
    }
    const again = LongitudinalTracker.fromJSON(JSON.parse(JSON.stringify(tracker.toJSON())));
    expect(again.options.plannedH).toBe(5);
    expect(again.size).toBe(tracker.size);
    expect(again.alarms()).toEqual(tracker.alarms());
    const probe = records[4500]!;
    expect(Array.from(again.peek(probe).features)).toEqual(Array.from(tracker.peek(probe).features));
  });

  it('refuses a state that does not validate, naming the field', () => {
    const state = new LongitudinalTracker().toJSON();
    expect(() => LongitudinalTracker.fromJSON({ ...state, version: 2 })).toThrow(ValidationError);
    const bad = { ...state, fractions: [{ ttxId: 1 }] };
    expect(() => LongitudinalTracker.fromJSON(bad)).toThrow(/state\.fractions\[0\]/);
    expect(() => new LongitudinalTracker({ plannedH: -1 })).toThrow(/tracker\.plannedH/);
  });
});

describe('qa74-longitudinal', () => {
  const batch = records.filter((_, i) => i % 7 === 0);
  const fm = extractQaLongitudinal(batch, { history: records, asOf: new Date('2030-01-01') });

  it('is qa74-cohort unchanged, then the longitudinal columns', () => {
    const cohort = extractQaExtended(batch, { history: records, asOf: new Date('2030-01-01') });
    expect(QA_LONGITUDINAL_FEATURE_NAMES.slice(0, 87)).toEqual(cohort.featureNames);
    expect(QA_LONGITUDINAL_FEATURE_NAMES.slice(87)).toEqual([...LONGITUDINAL_FEATURE_NAMES]);
    for (let i = 0; i < batch.length; i += 50)
      expect(Array.from(fm.X.row(i).subarray(0, 87))).toEqual(Array.from(cohort.X.row(i)));
    expect(getFeatureSet('qa74-longitudinal').features.map((f) => f.name)).toEqual([
      ...QA_LONGITUDINAL_FEATURE_NAMES,
    ]);
    expect(fm.X.findNonFinite()).toBeNull();
  });

  it('gives each batch record the features the streaming tracker gives it', () => {
    const { observations } = track();
    for (let i = 0; i < batch.length; i += 13) {
      const o = observations.get(batch[i]!.treatment.TTX_ID)!;
      expect(Array.from(fm.X.row(i).subarray(87))).toEqual(Array.from(o.features));
    }
  });

  it('keeps a caller’s tracker across batches: the streaming features, no history fed twice', () => {
    const ordered = byTime(records);
    const tracker = new LongitudinalTracker();
    const { observations } = track();
    const asOf = new Date('2030-01-01');
    const tracked = vi.spyOn(tracker, 'track');
    // Consecutive batches, each with the 500 records before it as history: a fresh tracker would
    // see the courses cut there, the kept one has them from their first fraction.
    for (const [from, to] of [
      [0, 6_000],
      [6_000, 6_500],
      [6_500, 12_000],
    ] as const) {
      const part = ordered.slice(from, to);
      const fm = extractQaLongitudinal(part, {
        history: ordered.slice(Math.max(0, from - 500), from),
        asOf,
        tracker,
      });
      expect(tracker.recordsSeen).toBe(to);
      expect(tracked).not.toHaveBeenCalled();
      for (let i = 0; i < part.length; i += 17) {
        const o = observations.get(part[i]!.treatment.TTX_ID)!;
        expect(Array.from(fm.X.row(i).subarray(87))).toEqual(Array.from(o.features));
      }
    }
    expect(tracker.knows(ordered[11_999]!.treatment.TTX_ID)).toBe(true);
    expect(tracker.knows(ordered[12_000]!.treatment.TTX_ID)).toBe(false);
    expect(() => extractQaLongitudinal(ordered.slice(0, 2), { tracker: {} as LongitudinalTracker })).toThrow(
      /options\.tracker: expected a LongitudinalTracker/,
    );
  });

  it('gives the same features with a snapshot book, whose snapshots every tracker shares', () => {
    const book = new SnapshotBook();
    const asOf = new Date('2030-01-01');
    // Two batches whose history overlaps, as a monitor's batches do.
    for (const part of [batch.slice(0, 600), batch.slice(600, 1200)]) {
      const history = records.filter((r) => r.treatment.TTX_ID < part[0]!.treatment.TTX_ID);
      const plain = extractQaLongitudinal(part, { history, asOf });
      const booked = extractQaLongitudinal(part, { history, asOf, snapshots: book });
      expect(booked.X.data).toEqual(plain.X.data);
      expect(booked.missing).toEqual(plain.missing);
    }
    const delivery = course[3]!;
    const first = new LongitudinalTracker({}, { snapshots: book });
    const second = new LongitudinalTracker({}, { snapshots: book });
    for (const r of course.slice(0, 4)) {
      first.observe(r);
      second.track(r);
    }
    const snapshot = book.of(delivery);
    expect(snapshot).toEqual(takeSnapshot(delivery));
    expect(first.courseOf(delivery)!.fractions[3]).toBe(snapshot);
    expect(second.courseOf(delivery)!.fractions[3]).toBe(snapshot);
    // A record that is no fraction (no patient) is remembered as such.
    const orphan = { ...delivery, treatment: { ...delivery.treatment, Pat_ID1: null } };
    expect(book.of(orphan)).toBeNull();
    expect(first.observe(orphan).courseKey).toBeNull();
  });

  it('keeps the snapshots asked for since the previous sweep, and forgets the others', () => {
    const book = new SnapshotBook();
    const [a, b] = [course[0]!, course[1]!];
    const sa = book.of(a);
    book.of(b);
    book.sweep();
    expect(book.of(a)).toBe(sa); // asked for again: kept through the next sweep
    book.sweep();
    expect(book.size).toBe(1);
    expect(book.of(a)).toBe(sa);
    const sb = book.of(b); // not asked for in the sweep before: taken afresh
    expect(sb).toEqual(takeSnapshot(b));
    book.sweep();
    book.sweep();
    expect(book.size).toBe(0);
  });

  it('writes constants for the features of an absent table', () => {
    const without = extractQaLongitudinal(batch.slice(0, 200), {
      history: records,
      absentTables: ['Offset'],
    });
    const j = QA_LONGITUDINAL_FEATURE_NAMES.indexOf('offset_stale_in_daily_course');
    expect(new Set(without.X.getColumn(j))).toEqual(new Set([0]));
    expect(PARAMETER_INDEX.offset_superior).toBeGreaterThan(0);
  });
});
