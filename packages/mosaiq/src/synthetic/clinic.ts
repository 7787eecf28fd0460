import { parseWith, Rng, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { LEAF_SET_SLOTS } from '../mlc';
import { OFFSET_LOOKAHEAD_MS, SESSION_LOOKBACK_MS, selectOffsets, type TreatmentRecord } from '../record';
import {
  type DoseHstRow,
  emptyTableRows,
  type IdentRow,
  type OffsetRow,
  type PatientRow,
  type StaffRow,
  type TableRows,
  type TrackTreatmentRow,
} from '../tables';
import { DEFAULT_MACHINES, type MachineSpec, machineStaffRow } from './machines';
import {
  type CoursePlan,
  type IdSource,
  logNormal,
  type PlannedField,
  planCourse,
  planMachineQa,
} from './plan';
import { StaffRoster } from './staff';

/**
 * A seeded synthetic clinic: patients, courses on weekdays, machine QA, and every TrackTreatment
 * row a real Mosaiq logs, including its messiness (fields selected and cancelled, interrupted and
 * re-delivered beams, QA-mode beams, records edited hours later). Output streams in batches of
 * TreatmentRecords plus the table rows created since the previous batch, so a database can be
 * bulk-loaded from the same stream and 100k+ records never sit in memory at once.
 */
export const ClinicOptionsSchema = z.strictObject({
  seed: z.union([z.number().int(), z.string()]),
  /** First simulated day (its date part, UTC). Default 2024-01-01, a Monday. */
  start: z.date().default(new Date(Date.UTC(2024, 0, 1))),
  /** Stop after this many TrackTreatment rows. */
  records: z.number().int().min(1).default(10_000),
  /** Stop after this many calendar days (whichever comes first). */
  days: z.number().int().min(1).optional(),
  /** Records per emitted batch. */
  batchSize: z.number().int().min(1).default(1000),
  /** Mean number of new courses starting each weekday. */
  newCoursesPerDay: z.number().min(0.1).max(100).default(6),
  /** Mean number of TrackTreatment rows logged before each beam (field selected, cancelled...). */
  selectionsPerBeam: z.number().min(0).max(20).default(3),
  /** Probability that a beam is interrupted and re-delivered. */
  interruptionRate: z.number().min(0).max(1).default(0.03),
  /** Probability that a TrackTreatment row is edited (resolved) hours or days later. */
  lateEditRate: z.number().min(0).max(1).default(0.03),
});
export type ClinicOptionsInput = z.input<typeof ClinicOptionsSchema> & { machines?: readonly MachineSpec[] };
type ClinicOptions = z.output<typeof ClinicOptionsSchema> & { machines: readonly MachineSpec[] };

export interface ClinicBatch {
  records: TreatmentRecord[];
  /** Rows created since the previous batch: each row appears exactly once over the stream, no later than the first record that needs it. */
  rows: TableRows;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

const FIRST_NAMES = [
  'Alex',
  'Sam',
  'Jo',
  'Kim',
  'Lee',
  'Max',
  'Ana',
  'Eli',
  'Ivy',
  'Noa',
  'Ray',
  'Zoe',
  'Ada',
  'Tom',
  'Uma',
  'Vic',
];
const LAST_NAMES = [
  'SMITH',
  'JONES',
  'NGUYEN',
  'GARCIA',
  'MULLER',
  'ROSSI',
  'SATO',
  'KIM',
  'SILVA',
  'DUBOIS',
  'KOWALSKI',
  'OKAFOR',
];

class Ids implements IdSource {
  private readonly counters = new Map<string, number>();
  constructor(private readonly bases: Record<string, number>) {}
  next(table: string): number {
    const v = (this.counters.get(table) ?? this.bases[table] ?? 1) + 0;
    this.counters.set(table, v + 1);
    return v;
  }
}

interface Course {
  plan: CoursePlan;
  machine: MachineSpec;
  patient: PatientRow;
  ident: IdentRow;
  /** Fractions delivered so far. */
  delivered: number;
  /** Day index of the first fraction. */
  startDay: number;
  /** Minutes after midnight of the patient's daily slot. */
  slotMinute: number;
  /** Systematic set-up error of this patient (cm). */
  systematic: [number, number, number];
  offsets: OffsetRow[];
  qa: boolean;
  /** The last offset selection, reused while no offset enters or leaves the window. */
  memo: { t: number; count: number; result: ReturnType<typeof selectOffsets> } | null;
}

interface PendingRow {
  row: TrackTreatmentRow;
  course: Course;
  field: PlannedField;
  dose: DoseHstRow | null;
}

function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.random();
  while (p > limit) {
    k++;
    p *= rng.random();
  }
  return k;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** The synthetic clinic as a stream of batches. Deterministic for a given seed and options. */
export function* generateClinic(input: ClinicOptionsInput): Generator<ClinicBatch, void, undefined> {
  const { machines: machineInput, ...rest } = input;
  const options = parseWith(ClinicOptionsSchema, rest, 'options');
  const machines = machineInput ?? DEFAULT_MACHINES;
  checkMachines(machines);
  yield* new ClinicSimulation({ ...options, machines }).run();
}

function checkMachines(machines: readonly MachineSpec[]): void {
  if (!Array.isArray(machines) || machines.length === 0) {
    throw new ValidationError('options.machines', 'at least one machine', machines);
  }
  const ids = new Set<number>();
  machines.forEach((m, i) => {
    const at = `options.machines[${i}]`;
    if (!Number.isInteger(m?.staffId) || ids.has(m.staffId)) {
      throw new ValidationError(`${at}.staffId`, 'a unique integer Staff_ID', m?.staffId);
    }
    ids.add(m.staffId);
    if (typeof m.name !== 'string' || m.name.trim() === '')
      throw new ValidationError(`${at}.name`, 'a machine name', m.name);
    const mlc = m.mlc;
    if (!mlc || !Number.isInteger(mlc.leafPairs) || mlc.leafPairs < 1 || mlc.leafPairs > LEAF_SET_SLOTS) {
      throw new ValidationError(`${at}.mlc.leafPairs`, `an integer in 1..${LEAF_SET_SLOTS}`, mlc?.leafPairs);
    }
    if (!(mlc.boundaries instanceof Float64Array) || mlc.boundaries.length !== mlc.leafPairs + 1) {
      throw new ValidationError(
        `${at}.mlc.boundaries`,
        `${mlc.leafPairs + 1} leaf boundaries (cm)`,
        mlc.boundaries,
      );
    }
    if (!Array.isArray(m.photonEnergies) || m.photonEnergies.length === 0) {
      throw new ValidationError(`${at}.photonEnergies`, 'at least one photon energy (MV)', m.photonEnergies);
    }
    if (!(m.maxDoseRate > 0))
      throw new ValidationError(`${at}.maxDoseRate`, 'a positive dose rate (MU/min)', m.maxDoseRate);
  });
}

/** Collects the whole stream's records (convenient for tests and small clinics). */
export function generateRecords(input: ClinicOptionsInput): TreatmentRecord[] {
  const out: TreatmentRecord[] = [];
  for (const batch of generateClinic(input)) for (const r of batch.records) out.push(r);
  return out;
}

class ClinicSimulation {
  private readonly rng: Rng;
  private readonly ids = new Ids({
    TrackTreatment: 1_000_001,
    TxField: 50_001,
    TxFieldPoint: 2_000_001,
    Site: 7_001,
    Patient: 10_001,
    Ident: 20_001,
    Dose_Hst: 3_000_001,
    Offset: 4_000_001,
  });
  private readonly staff = new Map<number, StaffRow>();
  private rows = emptyTableRows();
  private records: TreatmentRecord[] = [];
  private emitted = 0;
  private active: Course[] = [];
  private readonly qaCourses = new Map<number, Course>();
  private readonly recentPatients: Course[] = [];
  private readonly roster: StaffRoster;
  /** Day index of the simulation (the staff roster is per day). */
  private day = 0;

  constructor(private readonly o: ClinicOptions) {
    this.rng = new Rng(o.seed);
    this.roster = new StaffRoster(o.seed, o.machines);
  }

  *run(): Generator<ClinicBatch, void, undefined> {
    const start = Date.UTC(
      this.o.start.getUTCFullYear(),
      this.o.start.getUTCMonth(),
      this.o.start.getUTCDate(),
    );
    const created = new Date(start - 30 * DAY);
    for (const m of this.o.machines) {
      const row = machineStaffRow(m);
      this.staff.set(m.staffId, row);
      this.rows.Staff.push(row);
      const patient = this.newPatient(created, `QA, ${m.name}`);
      const plan = planMachineQa(this.rng, this.ids, m, patient.patient.Pat_ID1, created);
      this.addPlanRows(plan);
      this.qaCourses.set(m.staffId, this.makeCourse(plan, m, patient, 0, 7 * 60, true));
    }
    for (const person of this.roster.rows()) this.rows.Staff.push(person);
    // A clinic in steady state: courses already under way on day 0 (their past is not emitted).
    const backlog = Math.round(this.o.newCoursesPerDay * 18);
    for (let i = 0; i < backlog; i++) this.startCourse(-this.rng.integer(1, 30), created);

    for (let day = 0; this.o.days === undefined || day < this.o.days; day++) {
      const dayStart = start + day * DAY;
      const weekday = new Date(dayStart).getUTCDay();
      if (weekday !== 0 && weekday !== 6) {
        this.day = day;
        const pending = this.simulateDay(day, dayStart);
        const done = this.finishDay(pending);
        while (this.records.length >= this.o.batchSize) yield this.takeBatch(this.o.batchSize);
        if (done) break;
      }
    }
    if (this.records.length > 0 || this.hasRows()) yield this.takeBatch(this.records.length);
  }

  private hasRows(): boolean {
    return Object.values(this.rows).some((list) => list.length > 0);
  }

  private takeBatch(n: number): ClinicBatch {
    const records = this.records.slice(0, n);
    this.records = this.records.slice(n);
    const rows = this.rows;
    this.rows = emptyTableRows();
    return { records, rows };
  }

  private newPatient(created: Date, name?: string): { patient: PatientRow; ident: IdentRow } {
    const id = this.ids.next('Patient');
    const [last, first] = name
      ? name.split(', ')
      : [this.rng.choice(LAST_NAMES, 1)[0]!, this.rng.choice(FIRST_NAMES, 1)[0]!];
    const birthYear = 2024 - Math.round(Math.min(95, Math.max(18, this.rng.normal(66, 12))));
    const patient: PatientRow = {
      Pat_ID1: id,
      Create_DtTm: created,
      Edit_DtTm: created,
      Birth_DtTm: new Date(Date.UTC(birthYear, this.rng.integer(0, 12), this.rng.integer(1, 29))),
      Last_Name: last!,
      First_Name: first!,
    };
    const ident: IdentRow = {
      IDENT_ID: this.ids.next('Ident'),
      Version: 0,
      Create_DtTm: created,
      Pat_Id1: id,
      IDA: `MR${String(id).padStart(7, '0')}`,
    };
    this.rows.Patient.push(patient);
    this.rows.Ident.push(ident);
    return { patient, ident };
  }

  private addPlanRows(plan: CoursePlan): void {
    this.rows.Site.push(plan.site);
    for (const f of plan.fields) {
      this.rows.TxField.push(f.row);
      for (const p of f.points) this.rows.TxFieldPoint.push(p);
    }
  }

  private makeCourse(
    plan: CoursePlan,
    machine: MachineSpec,
    who: { patient: PatientRow; ident: IdentRow },
    startDay: number,
    slotMinute: number,
    qa: boolean,
  ): Course {
    const s = () => this.rng.normal(0, 0.2);
    return {
      plan,
      machine,
      patient: who.patient,
      ident: who.ident,
      delivered: 0,
      startDay,
      slotMinute,
      systematic: [s(), s(), s()],
      offsets: [],
      qa,
      memo: null,
    };
  }

  /** A new course: mostly new patients, sometimes a further site of a recent one. */
  private startCourse(startDay: number, created: Date): Course {
    const machine = this.o.machines[this.rng.integer(0, this.o.machines.length)]!;
    const reuse = this.recentPatients.length > 20 && this.rng.random() < 0.12;
    const who = reuse
      ? this.recentPatients[this.rng.integer(0, this.recentPatients.length)]!
      : this.newPatient(created);
    const plan = planCourse(this.rng, this.ids, machine, who.patient.Pat_ID1, created);
    const planner = this.roster.dosimetrist(plan.site.SIT_SET_ID!);
    for (const f of plan.fields) {
      f.row.Create_ID = planner;
      f.row.Edit_ID = planner;
    }
    this.addPlanRows(plan);
    const slot = 8 * 60 + this.rng.integer(0, 10 * 60);
    const course = this.makeCourse(plan, machine, who, startDay, slot, false);
    if (startDay < 0) {
      // Already under way: some fractions are behind it.
      course.delivered = Math.min(plan.fractions - 1, -startDay);
    }
    this.active.push(course);
    this.recentPatients.push(course);
    if (this.recentPatients.length > 200) this.recentPatients.shift();
    return course;
  }

  private simulateDay(day: number, dayStart: number): PendingRow[] {
    const rng = this.rng;
    const pending: PendingRow[] = [];
    // Morning machine QA, in QA mode.
    for (const course of this.qaCourses.values()) {
      let t = dayStart + 7 * 60 * MINUTE + rng.uniform(0, 30) * MINUTE;
      for (const field of course.plan.fields) t = this.deliverField(pending, course, field, t, true);
    }
    // New courses: planned today, patient-specific QA this evening (IMRT/VMAT), first fraction in 1–3 weekdays.
    const fresh = poisson(rng, this.o.newCoursesPerDay);
    for (let i = 0; i < fresh; i++) {
      const course = this.startCourse(day + rng.integer(1, 4), new Date(dayStart + 9 * 60 * MINUTE));
      if (course.plan.technique === 'IMRT' || course.plan.technique === 'VMAT') {
        let t = dayStart + rng.uniform(17 * 60, 20 * 60) * MINUTE;
        for (const field of course.plan.fields) {
          if (field.port) continue;
          // Measured in QA mode on the course's machine, sometimes twice (chamber and array).
          t = this.deliverField(pending, course, field, t, true);
          if (rng.random() < 0.3) t = this.deliverField(pending, course, field, t, true);
        }
      }
    }
    // Today's fractions.
    const still: Course[] = [];
    for (const course of this.active) {
      if (course.startDay > day) {
        still.push(course);
        continue;
      }
      if (rng.random() < 0.02) {
        still.push(course); // missed appointment: the course simply runs a day longer
        continue;
      }
      this.deliverFraction(pending, course, dayStart);
      if (course.delivered < course.plan.fractions) still.push(course);
    }
    this.active = still;
    return pending;
  }

  private imagingToday(course: Course): boolean {
    const k = course.delivered; // 0-based fraction number
    switch (course.plan.imaging) {
      case 'daily':
        return true;
      case 'weekly':
        return k < 3 || k % 5 === 0;
      case 'nal':
        return k < 4 || k % 5 === 0;
    }
  }

  private addOffset(course: Course, study: number, type: number): void {
    const rng = this.rng;
    const axis = (i: number) => {
      if (rng.random() < 0.02) return round1((rng.random() < 0.5 ? -1 : 1) * rng.uniform(1, 2.5));
      return round1(course.systematic[i]! + rng.normal(0, 0.25));
    };
    const siteSet = course.plan.site.SIT_SET_ID!;
    const row: OffsetRow = {
      OFF_ID: this.ids.next('Offset'),
      SIT_SET_ID: siteSet,
      Version: 0,
      Study_DtTm: new Date(Math.round(study / 1000) * 1000),
      Offset_State: rng.random() < 0.9 ? 2 : 1,
      Offset_Type: rng.random() < 0.05 ? 4 : type,
      Superior_Offset: axis(0),
      Anterior_Offset: axis(1),
      Lateral_Offset: axis(2),
    };
    if (rng.random() < 0.03) {
      // Edited later: the superseded values stay as a non-zero Version.
      const old: OffsetRow = {
        ...row,
        OFF_ID: this.ids.next('Offset'),
        Version: 1,
        Superior_Offset: round1(row.Superior_Offset! + rng.normal(0, 0.5)),
      };
      course.offsets.push(old);
      this.rows.Offset.push(old);
    }
    course.offsets.push(row);
    this.rows.Offset.push(row);
  }

  private deliverFraction(pending: PendingRow[], course: Course, dayStart: number): void {
    const rng = this.rng;
    let t = dayStart + (course.slotMinute + rng.normal(0, 10)) * MINUTE;
    const imaging = this.imagingToday(course);
    if (imaging && course.plan.imaging === 'daily') {
      this.addOffset(course, t + rng.uniform(2, 6) * MINUTE, 2);
      t += rng.uniform(6, 10) * MINUTE;
    }
    if (imaging && course.plan.imaging !== 'daily') {
      for (const field of course.plan.fields)
        if (field.port) t = this.deliverField(pending, course, field, t, false);
      this.addOffset(course, t + rng.uniform(0.5, 3) * MINUTE, 3);
      t += rng.uniform(2, 5) * MINUTE;
    }
    for (const field of course.plan.fields) {
      if (field.port) continue;
      t = this.deliverField(pending, course, field, t, false);
    }
    course.delivered++;
  }

  /** The TrackTreatment rows of one field: selections, the beam (maybe interrupted), dose history. */
  private deliverField(
    pending: PendingRow[],
    course: Course,
    field: PlannedField,
    t: number,
    qa: boolean,
  ): number {
    const rng = this.rng;
    const selections = poisson(rng, this.o.selectionsPerBeam);
    for (let i = 0; i < selections; i++) {
      const seconds = Math.min(4 * 3600, Math.max(1, logNormal(rng, 80, 1.3)));
      const enabled = rng.random() < 0.5;
      pending.push({
        row: this.trackRow(course, field, t, seconds, qa, {
          enabled,
          on: false,
          complete: false,
          canceled: rng.random() < 0.6,
          recorded: false,
        }),
        course,
        field,
        dose: null,
      });
      t += rng.uniform(3, 40) * 1000;
    }
    const beam = field.beamSeconds * rng.uniform(0.97, 1.08) + rng.uniform(0.5, field.port ? 3 : 10);
    if (rng.random() < this.o.interruptionRate) {
      const part = beam * rng.uniform(0.1, 0.9);
      this.beamRow(pending, course, field, t, part, qa, false);
      t += part * 1000 + rng.uniform(1, 10) * MINUTE;
      this.beamRow(pending, course, field, t, beam - part + rng.uniform(2, 8), qa, true);
      t += (beam - part) * 1000;
    } else {
      this.beamRow(pending, course, field, t, beam, qa, true);
      t += beam * 1000;
    }
    return t + rng.uniform(15, 60) * 1000;
  }

  private beamRow(
    pending: PendingRow[],
    course: Course,
    field: PlannedField,
    t: number,
    seconds: number,
    qa: boolean,
    complete: boolean,
  ): void {
    const row = this.trackRow(course, field, t, seconds, qa, {
      enabled: true,
      on: true,
      complete,
      canceled: false,
      recorded: !qa,
    });
    let dose: DoseHstRow | null = null;
    if (!qa) {
      dose = {
        DHS_ID: this.ids.next('Dose_Hst'),
        Pat_ID1: course.patient.Pat_ID1,
        SIT_ID: course.plan.site.SIT_ID,
        FLD_ID: field.row.FLD_ID,
        // Recorded when the beam ends.
        Tx_DtTm: new Date(Math.round(t / 1000 + seconds) * 1000),
      };
      row.DHS_ID = dose.DHS_ID;
    }
    pending.push({ row, course, field, dose });
  }

  private trackRow(
    course: Course,
    field: PlannedField,
    t: number,
    seconds: number,
    qa: boolean,
    flags: { enabled: boolean; on: boolean; complete: boolean; canceled: boolean; recorded: boolean },
  ): TrackTreatmentRow {
    const rng = this.rng;
    const created = Math.round(t);
    let edited = Math.round(t + seconds * 1000);
    let resolved: Date | null = null;
    if (rng.random() < this.o.lateEditRate) {
      edited += Math.round(logNormal(rng, 3 * 3600, 1.2) * 1000);
      resolved = new Date(edited);
    }
    // QA-mode beams are delivered by a physicist, patients by the therapist at the console.
    const operator = qa
      ? this.roster.physicist()
      : this.roster.therapist(course.machine.staffId, this.day, course.patient.Pat_ID1);
    return {
      TTX_ID: 0, // assigned in time order when the day is complete
      Create_DtTm: new Date(created),
      Create_ID: operator,
      Edit_DtTm: new Date(edited),
      Edit_ID: resolved ? this.roster.physicist() : operator,
      Pat_ID1: course.patient.Pat_ID1,
      FLD_ID: field.row.FLD_ID,
      SIT_ID: course.plan.site.SIT_ID,
      Machine_ID_Staff_ID: course.machine.staffId,
      Staff_ID: operator,
      WasQAMode: qa,
      WasBeamEnabled: flags.enabled,
      WasBeamOn: flags.on,
      WasBeamComplete: flags.complete,
      WasCanceled: flags.canceled,
      WasRecorded: flags.recorded,
      DHS_ID: null,
      WasResolved: resolved !== null,
      Resolved_DtTm: resolved,
    };
  }

  /**
   * selectOffsets for a course at time t, reusing the previous answer (records of one session
   * then share their offset arrays) when no offset's time crossed a window edge in between.
   */
  private offsetsAt(course: Course, t: number): ReturnType<typeof selectOffsets> {
    const memo = course.memo;
    if (memo && memo.count === course.offsets.length) {
      const lo = Math.min(memo.t, t);
      const hi = Math.max(memo.t, t);
      let same = true;
      for (const o of course.offsets) {
        const s = o.Study_DtTm!.getTime();
        const crossesStart = s >= lo - SESSION_LOOKBACK_MS && s <= hi - SESSION_LOOKBACK_MS;
        const crossesEnd = s >= lo + OFFSET_LOOKAHEAD_MS && s <= hi + OFFSET_LOOKAHEAD_MS;
        if (crossesStart || crossesEnd) {
          same = false;
          break;
        }
      }
      if (same) return memo.result;
    }
    const result = selectOffsets(new Date(t), course.plan.site.SIT_SET_ID, course.offsets);
    course.memo = { t, count: course.offsets.length, result };
    return result;
  }

  /** Orders the day's rows in time, numbers them, builds records. Returns true when the record budget is spent. */
  private finishDay(pending: PendingRow[]): boolean {
    pending.sort((a, b) => a.row.Create_DtTm!.getTime() - b.row.Create_DtTm!.getTime());
    const room = this.o.records - this.emitted;
    const take = Math.min(room, pending.length);
    for (let i = 0; i < take; i++) {
      const p = pending[i]!;
      p.row.TTX_ID = this.ids.next('TrackTreatment');
      this.rows.TrackTreatment.push(p.row);
      if (p.dose) this.rows.Dose_Hst.push(p.dose);
      const { offset, sessionOffsets } = this.offsetsAt(p.course, p.row.Create_DtTm!.getTime());
      this.records.push({
        treatment: p.row,
        field: p.field.row,
        controlPoints: p.field.points,
        site: p.course.plan.site,
        patient: p.course.patient,
        ident: p.course.ident,
        machine: this.staff.get(p.course.machine.staffId) ?? null,
        doseHistory: p.dose,
        offset,
        sessionOffsets,
      });
    }
    this.emitted += take;
    return this.emitted >= this.o.records;
  }
}
