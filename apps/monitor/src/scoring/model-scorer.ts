import { Matrix } from '@anomalia/core';
import { type LongitudinalTracker, SnapshotBook } from '@anomalia/features';
import type { LoadedRecords, TableName, TreatmentRecord, TreatmentSummary } from '@anomalia/mosaiq';
import {
  modelFeatures,
  type NotJudgedReason,
  notJudgedReason,
  PatientHistory,
  type PromotedModel,
  type SourceReader,
} from '@anomalia/qa-workflow';
import { BAND_THRESHOLDS } from '@anomalia/severity';
import type { Logger } from '../log';
import type {
  FeatureContribution,
  FitAssessment,
  ModelIdentity,
  ScoredRecord,
  Scorer,
  UnjudgedRecord,
} from '../seam';
import { mosaiqInstant, mosaiqWallClock } from '../source/clock';
import type { ChangeSummaries } from '../source/cursor-source';
import { CourseWatch, type CourseWatchOptions } from './course-watch';
import type { FitGuard } from './fit-guard';

/** A detector that can run MC dropout (the neural models). */
interface Uncertain {
  predictWithUncertainty(X: Matrix, o: { passes: number; seed?: number }): Promise<{ std: Float64Array }>;
}
/** A detector with gradient saliency (the neural models). */
interface Salient {
  featureImportance(X: Matrix, o: { timesInput?: boolean }): Promise<{ perRow: Matrix }>;
  readonly scaler: { transform(X: Matrix): Matrix } | null;
}
const canUncertain = (d: unknown): d is Uncertain =>
  typeof (d as Partial<Uncertain>).predictWithUncertainty === 'function';
const canSalient = (d: unknown): d is Salient =>
  typeof (d as Partial<Salient>).featureImportance === 'function';

/**
 * The energy a detector whose scores are not severities (an autoencoder, an isolation forest)
 * gets when above its threshold: the bottom of `medium`, "queue for review within 24 h". Such a
 * model says anomalous or not, not how dangerous; it cannot page anyone on its own.
 */
const FLAGGED_ENERGY = BAND_THRESHOLDS.medium;

export interface ModelScorerOptions {
  readonly model: PromotedModel;
  readonly identity: ModelIdentity;
  readonly reader: SourceReader;
  /** Days of each patient's history loaded as context for cohort features (the previous fraction). */
  readonly historyDays: number;
  /**
   * The longitudinal checks (each patient's courses across fractions, and the malicious
   * probability from their evidence): `historyDays` of each newly seen patient's deliveries
   * rebuild their courses. Absent or null: off (records carry `malicious: null`).
   */
  readonly longitudinal?: ({ readonly historyDays: number } & CourseWatchOptions) | null;
  /**
   * The course watch for a model whose features follow courses while the checks are off (with
   * them on, `longitudinal`'s settings serve both). Default: `historyDays` of history.
   */
  readonly courses?: { readonly historyDays: number } & CourseWatchOptions;
  /** Tables the model was trained without: extracted as unobserved, as in training. */
  readonly absentTables: readonly TableName[];
  /** MC-dropout passes per alerting record (0: off). */
  readonly mcDropoutSamples: number;
  /** Features listed per alerting record (0: no saliency). */
  readonly saliencyTop: number;
  /** What the cursor saw of each id (QA mode, complete): unjudged records are then never loaded. */
  readonly summaries?: ChangeSummaries;
  readonly guard?: FitGuard;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Counters since start (health, logs, benchmark). */
export interface ScorerStats {
  loaded: number;
  judged: number;
  notJudged: Record<NotJudgedReason, number>;
  historyLoaded: number;
  /** Wall time per stage. */
  ms: Stages;
  /** CPU time per stage (the process's; on a busy machine the steadier figure). */
  cpuMs: Stages;
}

interface Stages {
  load: number;
  history: number;
  features: number;
  score: number;
  extras: number;
  /** Course tracking and the malicious assessment. */
  longitudinal: number;
}

/** Measures wall and CPU time of consecutive stages. */
class StageClock {
  private wall = performance.now();
  private cpu = process.cpuUsage();
  constructor(private readonly stats: ScorerStats) {}
  lap(stage: keyof Stages): void {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    this.stats.ms[stage] += wall - this.wall;
    this.stats.cpuMs[stage] += (cpu.user - this.cpu.user + cpu.system - this.cpu.system) / 1000;
    this.wall = wall;
    this.cpu = cpu;
  }
}

/**
 * The monitor's Scorer for a promoted model: per batch, records are loaded set-wise (only those
 * the model judges: QA-mode and incomplete beams are known from the cursor and reported as
 * unjudged), each patient's recent deliveries are added as context for cohort features, the
 * model's own feature set is extracted and scored, and the alerting records get MC-dropout
 * uncertainty and gradient saliency when the model offers them. Every batch also feeds the
 * data-mismatch guard.
 */
export class ModelScorer implements Scorer {
  readonly model: ModelIdentity;
  private readonly history: PatientHistory;
  private readonly now: () => number;
  readonly stats: ScorerStats = {
    loaded: 0,
    judged: 0,
    notJudged: { qa_mode: 0, incomplete: 0 },
    historyLoaded: 0,
    ms: { load: 0, history: 0, features: 0, score: 0, extras: 0, longitudinal: 0 },
    cpuMs: { load: 0, history: 0, features: 0, score: 0, extras: 0, longitudinal: 0 },
  };
  /**
   * Every course followed fraction by fraction: for the longitudinal checks, and for a model whose
   * features follow courses (`FeatureSet.history` 'course'), which observes its records on the
   * same tracker (null: neither).
   */
  readonly courses: CourseWatch | null;
  /** Whether the model's features are computed on the course watch's tracker. */
  private readonly courseFeatures: boolean;
  /** Days of a newly seen patient's deliveries the course watch is fed (0: no course watch). */
  private readonly courseDays: number;
  /**
   * Snapshots of the loaded records for the course trackers (the features' and the course
   * watch's): a record is history for the batches after it, and is snapshotted once while its
   * patient keeps coming back (swept per batch). Loaded records are never changed; an edit is
   * read again as a new record.
   */
  private readonly snapshots = new SnapshotBook();

  constructor(private readonly o: ModelScorerOptions) {
    this.model = o.identity;
    this.courseFeatures = o.model.featureSet.history === 'course';
    const courses =
      o.longitudinal ?? (this.courseFeatures ? (o.courses ?? { historyDays: o.historyDays }) : null);
    this.courses = courses ? new CourseWatch({ ...courses, snapshots: this.snapshots }) : null;
    this.courseDays = courses?.historyDays ?? 0;
    // One cache serves both: the longer window, cut to `historyDays` for the model's features.
    this.history = new PatientHistory(o.reader, { days: Math.max(o.historyDays, this.courseDays) });
    this.now = o.now ?? Date.now;
  }

  fit(): FitAssessment | null {
    return this.o.guard?.assessment() ?? null;
  }

  /** The records of the batch announced by `prefetch`, being read. */
  private prefetched: { readonly ids: readonly number[]; readonly loaded: Promise<LoadedRecords> } | null =
    null;

  /**
   * Starts reading the records `score(ids)` will load: with a reader off the main thread, they
   * are read while the current batch is scored.
   */
  prefetch(ids: readonly string[]): void {
    const toLoad = this.triage(ids).toLoad;
    if (!toLoad.length) return;
    const loaded = this.o.reader.loadRecords(toLoad);
    loaded.catch(() => undefined);
    this.prefetched = { ids: toLoad, loaded };
  }

  /** Which ids the cursor already says are unjudged (never read), and which to load. */
  private triage(ids: readonly string[]): { unjudged: [string, TreatmentSummary][]; toLoad: number[] } {
    const unjudged: [string, TreatmentSummary][] = [];
    const toLoad: number[] = [];
    for (const id of ids) {
      const t = this.o.summaries?.get(id);
      // Known from the cursor to be a QA-mode or incomplete beam that no cohort feature counts
      // as a delivery: reported without reading its record.
      if (t && (t.WasQAMode === true || t.WasBeamComplete === false)) unjudged.push([id, t]);
      else toLoad.push(Number(id));
    }
    return { unjudged, toLoad };
  }

  /**
   * The records of `toLoad`: those prefetched when they are the same ids, else read now (a
   * prefetch of another batch, e.g. the next one announced first, is kept for it).
   */
  private load(toLoad: readonly number[]): Promise<LoadedRecords> {
    const ahead = this.prefetched;
    if (!ahead || !sameIds(ahead.ids, toLoad)) return this.o.reader.loadRecords(toLoad);
    this.prefetched = null;
    return ahead.loaded;
  }

  async score(ids: readonly string[]): Promise<(ScoredRecord | UnjudgedRecord)[]> {
    const out: (ScoredRecord | UnjudgedRecord)[] = [];
    const { unjudged, toLoad } = this.triage(ids);
    for (const [id, t] of unjudged) {
      const reason: NotJudgedReason = t.WasQAMode === true ? 'qa_mode' : 'incomplete';
      this.stats.notJudged[reason]++;
      out.push({
        recordId: id,
        patientId: t.Pat_ID1 === null ? null : String(t.Pat_ID1),
        occurredAt: t.Create_DtTm ? nonNegative(mosaiqInstant(t.Create_DtTm)) : null,
        notJudged: reason,
      });
    }
    if (!toLoad.length) return out;

    const clock = new StageClock(this.stats);
    this.snapshots.sweep();
    const { records } = await this.load(toLoad);
    this.stats.loaded += records.length;
    const judged: TreatmentRecord[] = [];
    const context: TreatmentRecord[] = [];
    for (const r of records) {
      const reason = notJudgedReason(r);
      if (reason === null) {
        judged.push(r);
        continue;
      }
      // A beam of unknown completion is no finding to judge, but cohort features count it.
      context.push(r);
      this.stats.notJudged[reason]++;
      out.push({ ...identity(r), notJudged: reason });
    }
    clock.lap('load');
    if (!judged.length) {
      // Beams of unknown completion still count as fractions of their course.
      if (this.courses && records.length) {
        const { history } = await this.history.contextFor(records);
        this.courses.observe(history, records);
      }
      this.history.observe(records);
      return out;
    }

    const { history, stats } = await this.history.contextFor(judged);
    this.stats.historyLoaded += stats.loadedRecords;
    const featureHistory =
      this.courseDays > this.o.historyDays ? withinDays(history, judged, this.o.historyDays) : history;
    clock.lap('history');

    // Course features on the course watch's tracker: the courses as far back as it has followed
    // them (as training's tracker followed the whole cohort), no history replayed per batch.
    // Without it (a batch older than the courses it holds), a fresh tracker over the course window.
    const features = (tracker: LongitudinalTracker | null) => {
      const past = tracker || !this.courseFeatures ? featureHistory : history;
      return modelFeatures(this.o.model, judged, {
        asOf: mosaiqWallClock(this.now()),
        history: context.length ? [...past, ...context] : past,
        absentTables: this.o.absentTables,
        snapshots: this.snapshots,
        ...(tracker ? { tracker } : {}),
      });
    };
    const fm =
      this.courses && this.courseFeatures
        ? this.courses.withTracker(history, records, judged, features)
        : features(null);
    clock.lap('features');

    const raw = await this.o.model.detector.score(fm.X);
    const energies = this.energies(raw);
    clock.lap('score');
    this.stats.judged += judged.length;

    const alerting: number[] = [];
    const flags = Array.from(energies, (e) => e >= BAND_THRESHOLDS.low);
    flags.forEach((f, i) => {
      if (f) alerting.push(i);
    });
    this.o.guard?.observe(fm.X, flags);

    const extras = alerting.length ? await this.extras(fm.X, alerting, fm.featureNames) : null;
    clock.lap('extras');

    let malice: ReturnType<CourseWatch['assess']> | null = null;
    if (this.courses && !this.courseFeatures) this.courses.observe(history, records);
    if (this.courses && this.o.longitudinal) malice = this.courses.assess(judged, energies);
    clock.lap('longitudinal');

    judged.forEach((r, i) => {
      const extra = extras?.get(i);
      out.push({
        ...identity(r),
        energy: energies[i]!,
        ...(extra?.uncertainty !== undefined ? { uncertainty: extra.uncertainty } : {}),
        ...(extra?.saliency ? { saliency: extra.saliency } : {}),
        malicious: malice?.[i] ?? null,
        labels: labelsOf(r),
      });
    });
    this.history.observe(records);
    return out;
  }

  private scaledBaseline: Float64Array | null | undefined;

  /** The training normals' medians, scaled as the model scales its inputs (null: no reference kept). */
  private baseline(cols: number): Float64Array | null {
    if (this.scaledBaseline !== undefined) return this.scaledBaseline;
    const ref = this.o.model.reference;
    if (!ref || ref.features.length !== cols || ref.features.some((f) => f.median === undefined)) {
      this.scaledBaseline = null;
      return null;
    }
    const row = new Matrix(1, cols);
    ref.features.forEach((f, j) => {
      row.data[j] = f.median!;
    });
    const scaler = (this.o.model.detector as Partial<Salient>).scaler;
    this.scaledBaseline = Float64Array.from((scaler ? scaler.transform(row) : row).data);
    return this.scaledBaseline;
  }

  /** Energies on the 0–3 scale: the score itself for an energy model, else its threshold's verdict. */
  private energies(raw: Float64Array): Float64Array {
    if (this.o.model.scoresAreSeverities) return raw;
    const threshold = this.o.model.detector.threshold?.value;
    if (threshold === undefined)
      throw new Error(
        `model ${this.o.model.name}: a ${this.o.model.kind} without a threshold cannot say which records are anomalous`,
      );
    return raw.map((s) => (Number.isFinite(s) ? (s > threshold ? FLAGGED_ENERGY : 0) : s));
  }

  /**
   * MC-dropout uncertainty and the top features for the alerting rows: |∂energy/∂x| × |x − x₀| on
   * the model's scaled inputs, x₀ the training normals' median (so a feature at its usual value
   * drove nothing, however steep the network is there); × |x| without a training reference.
   */
  private async extras(
    X: Matrix,
    rows: readonly number[],
    names: readonly string[],
  ): Promise<Map<number, { uncertainty?: number; saliency?: FeatureContribution[] }>> {
    const detector = this.o.model.detector;
    const sub = X.selectRows(rows as number[]);
    const out = new Map<number, { uncertainty?: number; saliency?: FeatureContribution[] }>();
    for (const i of rows) out.set(i, {});
    if (this.o.mcDropoutSamples >= 2 && canUncertain(detector)) {
      const u = await detector.predictWithUncertainty(sub, { passes: this.o.mcDropoutSamples, seed: 1 });
      rows.forEach((i, k) => {
        out.get(i)!.uncertainty = u.std[k]!;
      });
    }
    if (this.o.saliencyTop > 0 && canSalient(detector)) {
      const baseline = this.baseline(X.cols);
      const { perRow } = await detector.featureImportance(sub, { timesInput: baseline === null });
      if (baseline) {
        const scaled = detector.scaler ? detector.scaler.transform(sub) : sub;
        for (let k = 0; k < perRow.rows; k++)
          for (let j = 0; j < perRow.cols; j++)
            perRow.data[k * perRow.cols + j]! *= Math.abs(scaled.data[k * perRow.cols + j]! - baseline[j]!);
      }
      rows.forEach((i, k) => {
        const order = Array.from({ length: perRow.cols }, (_, j) => j)
          .filter((j) => perRow.data[k * perRow.cols + j]! > 0)
          .sort((a, b) => perRow.data[k * perRow.cols + b]! - perRow.data[k * perRow.cols + a]!)
          .slice(0, this.o.saliencyTop);
        out.get(i)!.saliency = order.map((j) => ({
          feature: names[j]!,
          value: X.data[i * X.cols + j]!,
          contribution: perRow.data[k * perRow.cols + j]!,
        }));
      });
    }
    return out;
  }
}

const nonNegative = (t: number) => (t >= 0 ? t : null);

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
const DAY = 86_400_000;

/**
 * The records of `history` within `days` before their patient's earliest record in `batch` (what
 * `PatientHistory` with that window returns), for the model's features: trained with that window,
 * they must see no more.
 */
function withinDays(
  history: readonly TreatmentRecord[],
  batch: readonly TreatmentRecord[],
  days: number,
): TreatmentRecord[] {
  const from = new Map<number, number>();
  for (const r of batch) {
    const p = r.treatment.Pat_ID1;
    const t = r.treatment.Create_DtTm?.getTime();
    if (p === null || t === undefined) continue;
    const f = t - days * DAY;
    if (!(from.get(p)! <= f)) from.set(p, f);
  }
  return history.filter((r) => {
    const f = r.treatment.Pat_ID1 === null ? undefined : from.get(r.treatment.Pat_ID1);
    const t = r.treatment.Create_DtTm?.getTime();
    return f !== undefined && t !== undefined && t >= f;
  });
}

function identity(r: TreatmentRecord) {
  const t = r.treatment;
  return {
    recordId: String(t.TTX_ID),
    patientId: t.Pat_ID1 === null ? null : String(t.Pat_ID1),
    occurredAt: t.Create_DtTm ? nonNegative(mosaiqInstant(t.Create_DtTm)) : null,
  };
}

/** Labels alerts can group and inhibit on. */
function labelsOf(r: TreatmentRecord): Record<string, string> {
  const t = r.treatment;
  const labels: Record<string, string> = {};
  if (t.Machine_ID_Staff_ID !== null) labels.machine = String(t.Machine_ID_Staff_ID);
  if (t.FLD_ID !== null) labels.field = String(t.FLD_ID);
  return labels;
}
