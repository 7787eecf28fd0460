import {
  assessPatientMalice,
  type CourseAlarm,
  courseKeyOf,
  type GroupTest,
  LongitudinalTracker,
  type PatientMaliceAssessment,
  type SnapshotBook,
  targetingTests,
} from '@anomalia/features';
import type { TreatmentRecord } from '@anomalia/mosaiq';

/** What a scored record carries of its patient's courses (`ScoredRecord.malicious`). */
export interface MaliciousAssessment {
  /** Seed 001's malicious probability from the course evidence (0: nothing found). */
  readonly probability: number;
  /** The evidence and course alarms behind it, in short words, strongest first. */
  readonly indicators: readonly string[];
  /**
   * Whether the record's own course (its field) carries evidence: an alarm, an audit anomaly of
   * its own, or a change of its planned parameters (`evidenceCourses` of the assessment). False
   * for the untouched fields of a suspected patient: triage raises only the records where the
   * evidence is to critical, so one finding does not page every field the patient is treated with.
   */
  readonly ownEvidence: boolean;
}

export interface CourseWatchOptions {
  /**
   * Fractions the tracker holds at most: beyond it the tracker starts afresh and each patient's
   * courses are read again from the history the scorer loads (memory stays bounded however long
   * the monitor runs).
   */
  readonly maxFractions?: number;
  /** Indicators per record at most (evidence first, then course alarms). */
  readonly maxIndicators?: number;
  /** Where records are snapshotted: the book the model's features use, so each record is snapshotted once. */
  readonly snapshots?: SnapshotBook;
}

/** Counters since start (health, logs, benchmark). */
export interface CourseWatchStats {
  /** Records the tracker followed (history and batches; each once, however often it was edited). */
  observed: number;
  /** Times the tracker started afresh (`maxFractions`). */
  resets: number;
  /** Patient assessments computed. */
  assessed: number;
  /** Wall time feeding the tracker (without the scored records the model's features observe) and assessing patients. */
  ms: { observe: number; assess: number };
}

const DEFAULT_MAX_FRACTIONS = 250_000;
const DEFAULT_MAX_INDICATORS = 10;
const time = (r: TreatmentRecord) => r.treatment.Create_DtTm?.getTime() ?? Number.NEGATIVE_INFINITY;

/**
 * The longitudinal checks of the monitor: every patient's courses followed fraction by fraction
 * (`LongitudinalTracker` of @anomalia/features) as batches arrive, and each scored record given
 * its patient's malicious probability from the course evidence (`assessPatientMalice`).
 *
 * Restart-safe without persisting the tracker: the first time a process sees a patient (after a
 * restart, or as one of several queue workers) the patient's earlier deliveries the scorer loaded
 * as history are fed first, so the courses are rebuilt from the database. The tracker is
 * idempotent per TTX_ID and safe out of order, so a record seen again (an edit re-read by the
 * change cursor) replaces its earlier version.
 */
export class CourseWatch {
  private tracker: LongitudinalTracker;
  /** Records the trackers before the current one followed (`stats.observed` survives a reset). */
  private observedBefore = 0;
  private readonly maxFractions: number;
  private readonly maxIndicators: number;
  private readonly snapshots: SnapshotBook | undefined;
  private readonly counters = { resets: 0, assessed: 0, ms: { observe: 0, assess: 0 } };

  constructor(options: CourseWatchOptions = {}) {
    this.maxFractions = options.maxFractions ?? DEFAULT_MAX_FRACTIONS;
    this.maxIndicators = options.maxIndicators ?? DEFAULT_MAX_INDICATORS;
    this.snapshots = options.snapshots;
    this.tracker = this.newTracker();
  }

  get stats(): CourseWatchStats {
    return { observed: this.observedBefore + this.tracker.recordsSeen, ...this.counters };
  }

  private newTracker(): LongitudinalTracker {
    return new LongitudinalTracker({}, this.snapshots ? { snapshots: this.snapshots } : {});
  }

  /**
   * Feeds the tracker a batch: first the history records it has not seen (the batch patients'
   * earlier deliveries), then every record of the batch (an edit replaces its earlier version;
   * records that are no delivery change nothing), each in delivery order.
   */
  observe(history: readonly TreatmentRecord[], batch: readonly TreatmentRecord[]): void {
    this.makeRoom(batch.length);
    this.feed(history, true);
    this.feed(batch, false);
  }

  /**
   * One tracker for the checks and the model's course features: the history it has not seen and
   * the batch's records other than `scored` are fed (as `observe` does), then `extract` gets the
   * tracker and must observe the `scored` records on it (the longitudinal feature set does, one
   * record at a time in delivery order). An unscored record later than a scored one of its course
   * is then in the course a little early (a beam of unknown completion, rare); the features are
   * otherwise those of a tracker fed everything in delivery order, as training's was.
   *
   * A batch that reaches back before the fractions the tracker holds (a backfill of past days, a
   * queue job older than one already scored) would see later fractions in its courses: `extract`
   * then gets no tracker (the features use a fresh one over their history, which is causal), and
   * the batch is observed afterwards.
   */
  withTracker<T>(
    history: readonly TreatmentRecord[],
    batch: readonly TreatmentRecord[],
    scored: readonly TreatmentRecord[],
    extract: (tracker: LongitudinalTracker | null) => T,
  ): T {
    this.makeRoom(batch.length);
    this.feed(history, true);
    if (!this.follows(scored)) {
      const out = extract(null);
      this.feed(batch, false);
      return out;
    }
    const ids = new Set(scored.map((r) => r.treatment.TTX_ID));
    this.feed(
      batch.filter((r) => !ids.has(r.treatment.TTX_ID)),
      false,
    );
    return extract(this.tracker);
  }

  /** Whether every record new to the tracker is no earlier than the latest fraction of its course. */
  private follows(records: readonly TreatmentRecord[]): boolean {
    for (const r of records) {
      if (this.tracker.knows(r.treatment.TTX_ID)) continue;
      const latest = this.tracker.courseOf(r)?.latest;
      if (latest && latest.time > (r.treatment.Create_DtTm?.getTime() ?? Number.POSITIVE_INFINITY))
        return false;
    }
    return true;
  }

  /** Starts afresh when `incoming` more records would take the tracker past `maxFractions`. */
  private makeRoom(incoming: number): void {
    if (this.tracker.recordsSeen + incoming <= this.maxFractions) return;
    this.observedBefore += this.tracker.recordsSeen;
    this.tracker = this.newTracker();
    this.counters.resets++;
  }

  /**
   * Feeds records in delivery order (an edit replaces its earlier version); `unseenOnly`: only
   * those the tracker has not seen (history, which comes again with every batch of its patient).
   */
  private feed(records: readonly TreatmentRecord[], unseenOnly: boolean): void {
    const start = performance.now();
    const fed = unseenOnly ? records.filter((r) => !this.tracker.knows(r.treatment.TTX_ID)) : [...records];
    for (const r of fed.sort((a, b) => time(a) - time(b))) this.tracker.track(r);
    this.counters.ms.observe += performance.now() - start;
  }

  /**
   * The malicious assessment of each record's patient after the batch was observed: null for a
   * record without a patient, and for a patient whose courses show nothing (probability 0 and no
   * alarm), so a clean patient's alert carries no malicious line and no routine-review deadline.
   * The probability is the patient's; `ownEvidence` says whether the record's course is where the
   * evidence is. `energies[i]` is record i's energy: a patient's assessment takes the highest of
   * its records in the batch (its recommendation band; the probability does not depend on it).
   * The clinic-wide targeting tests run once per call.
   */
  assess(records: readonly TreatmentRecord[], energies: ArrayLike<number>): (MaliciousAssessment | null)[] {
    const energy = new Map<number, number>();
    records.forEach((r, i) => {
      const p = r.treatment.Pat_ID1;
      if (p === null) return;
      const e = energies[i]!;
      const clipped = Number.isFinite(e) ? Math.min(3, Math.max(0, e)) : 0;
      energy.set(p, Math.max(energy.get(p) ?? 0, clipped));
    });
    if (energy.size === 0) return records.map(() => null);
    const start = performance.now();
    // The targeting tests compare groups of the whole clinic: once per batch, not per patient.
    const groups: GroupTest[] = targetingTests(this.tracker);
    const byPatient = new Map<number, { assessment: PatientMaliceAssessment; indicators: string[] }>();
    for (const [patient, e] of energy) {
      const a = assessPatientMalice(this.tracker, patient, e, { groups });
      this.counters.assessed++;
      const indicators = this.indicators(a);
      if (a.maliciousProbability > 0 || indicators.length > 0)
        byPatient.set(patient, { assessment: a, indicators });
    }
    this.counters.ms.assess += performance.now() - start;
    return records.map((r) => {
      const found = r.treatment.Pat_ID1 === null ? undefined : byPatient.get(r.treatment.Pat_ID1);
      if (!found) return null;
      const key = courseKeyOf(r);
      return {
        probability: found.assessment.maliciousProbability,
        indicators: found.indicators,
        ownEvidence: key !== null && found.assessment.evidenceCourses.includes(key),
      };
    });
  }

  /**
   * Evidence items that count (strength > 0), strongest first, then the course alarms, each in a
   * few words. Course keys (`Pat_ID1|FLD_SET_ID`) become the field set: indicators reach sinks,
   * which carry no patient identifier by default.
   */
  private indicators(a: PatientMaliceAssessment): string[] {
    const out: string[] = [];
    for (const e of [...a.evidence].filter((x) => x.strength > 0).sort((x, y) => y.strength - x.strength))
      out.push(`${e.id.replaceAll('_', ' ')} (${e.strength.toFixed(2)}): ${withoutPatient(e.detail)}`);
    for (const alarm of [...a.alarms].sort((x, y) => x.fraction - y.fraction)) out.push(alarmText(alarm));
    return out.slice(0, this.maxIndicators);
  }
}

/** `dose: meterset cusum at fraction 3 of field set 812 (p=2.1e-4, within tolerance)`. */
export function alarmText(a: CourseAlarm): string {
  const notes = [
    ...(a.pValue === null ? [] : [`p=${a.pValue.toExponential(1)}`]),
    ...(a.withinTolerance ? ['within tolerance'] : []),
  ];
  return `${a.family}: ${a.parameter} ${a.test} at fraction ${a.fraction} of field set ${a.fieldSetId}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

const withoutPatient = (text: string) => text.replace(/course \d+\|(\d+)/g, 'field set $1');
