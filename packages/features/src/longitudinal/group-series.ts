import { parseWith, ValidationError } from '@anomalia/core';
import type { StaffRow, TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { GROUP_SERIES_KINDS, type GroupSeriesKind, groupEventsOf } from './group-events';

/**
 * Per-machine and per-staff series across patients: for each group and each period (`periodDays`
 * days from the UTC midnight before the first event) the records the group ran or logged and, for
 * every other event kind (see `groupEventsOf`), the number of distinct patients with such an event
 * in the period. Patients, not events: one plan has several fields and one session several rows,
 * so events come in clusters that would look like excess to a Poisson test.
 *
 * The exposure the rates are taken over is the group's records (a machine's workload, the rows a
 * staff member logged); staff who log no row at all in the whole window (planners) are measured
 * against every record of the clinic instead, their share of the clinic's work.
 */
export const GroupSeriesOptionsSchema = z.strictObject({
  /** Length of a period (days). */
  periodDays: z.number().positive().max(366).default(7),
  /** A TrackTreatment row edited more than this after its Create_DtTm counts as a late edit (min; 30 = a beam's longest normal duration). */
  lateEditMinutes: z.number().positive().default(30),
  /**
   * Events before this are left out of the series (they still tell which fields had been delivered):
   * e.g. a clinic's first weeks in a monitor that starts on a running clinic.
   */
  since: z.date().optional(),
});
export type GroupSeriesOptions = z.input<typeof GroupSeriesOptionsSchema>;

export type GroupDimension = 'machine' | 'staff';

export interface GroupSeries {
  readonly dimension: GroupDimension;
  /** Machine_ID_Staff_ID or the staff member's Staff_ID. */
  readonly group: number;
  /** Peer group the group is compared with: the staff member's role (Staff.Type), `machine` for machines. */
  readonly role: string;
  /** Records per period: the group's own, or every record of the clinic for staff who logged none. */
  readonly exposure: readonly number[];
  /** Per kind and period: records (`records`), else distinct patients with an event of the kind (events without a patient count one each). */
  readonly counts: Readonly<Record<GroupSeriesKind, readonly number[]>>;
  /** Distinct patients with an event of the kind (over all periods). */
  readonly patients: Readonly<Record<GroupSeriesKind, number>>;
}

export interface GroupSeriesSet {
  readonly periodDays: number;
  /** Start of period 0. */
  readonly origin: Date;
  readonly periods: number;
  readonly groups: readonly GroupSeries[];
}

/** Staff_ID → role (Staff.Type, trimmed) from Mosaiq's Staff table; machines and untyped rows are left out. */
export function staffRolesOf(rows: readonly StaffRow[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const r of rows) {
    const type = r.Type?.trim();
    if (type && r.Machine_Type === null) out.set(r.Staff_ID, type);
  }
  return out;
}

const DAY_MS = 86_400_000;
/** Staff without a known role are compared with each other. */
export const UNKNOWN_ROLE = 'unknown';

interface Builder {
  dimension: GroupDimension;
  group: number;
  role: string;
  counts: Record<GroupSeriesKind, number[]>;
  patients: Record<GroupSeriesKind, Set<number>>;
  /** `kind|period|patient` already counted. */
  seen: Set<string>;
}

export function groupSeries(
  records: readonly TreatmentRecord[],
  options: GroupSeriesOptions & {
    /** Staff_ID → role (e.g. `staffRolesOf(Staff rows)`): staff are compared with their own role only. */
    roles?: ReadonlyMap<number, string>;
    /** TTX_IDs an alert or detector flagged. */
    flagged?: ReadonlySet<number>;
  } = {},
): GroupSeriesSet {
  if (!Array.isArray(records)) throw new ValidationError('records', 'an array of TreatmentRecords', records);
  const { roles, flagged, ...rest } = options;
  const o = parseWith(GroupSeriesOptionsSchema, rest, 'groupSeries');
  const since = o.since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const events = groupEventsOf(records, { lateEditMinutes: o.lateEditMinutes, flagged }).filter(
    (e) => e.time >= since,
  );
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    if (e.time < first) first = e.time;
    if (e.time > last) last = e.time;
  }
  const origin = Number.isFinite(first) ? Math.floor(first / DAY_MS) * DAY_MS : 0;
  const length = o.periodDays * DAY_MS;
  const periods = Number.isFinite(first) ? Math.floor((last - origin) / length) + 1 : 0;

  const builders = new Map<string, Builder>();
  const builder = (dimension: GroupDimension, group: number): Builder => {
    const key = `${dimension}:${group}`;
    let b = builders.get(key);
    if (!b) {
      const role = dimension === 'machine' ? 'machine' : (roles?.get(group) ?? UNKNOWN_ROLE);
      b = {
        dimension,
        group,
        role,
        counts: {} as Builder['counts'],
        patients: {} as Builder['patients'],
        seen: new Set(),
      };
      for (const k of GROUP_SERIES_KINDS) {
        b.counts[k] = new Array<number>(periods).fill(0);
        b.patients[k] = new Set();
      }
      builders.set(key, b);
    }
    return b;
  };
  const clinicRecords = new Array<number>(periods).fill(0);
  for (const e of events) {
    const p = Math.floor((e.time - origin) / length);
    if (e.kind === 'records') clinicRecords[p]!++;
    const add = (b: Builder) => {
      if (e.patientId !== null) {
        b.patients[e.kind].add(e.patientId);
        if (e.kind !== 'records') {
          const key = `${e.kind}|${p}|${e.patientId}`;
          if (b.seen.has(key)) return;
          b.seen.add(key);
        }
      }
      b.counts[e.kind][p]!++;
    };
    if (e.machine !== null) add(builder('machine', e.machine));
    for (const s of e.staff) add(builder('staff', s));
  }
  const groups = [...builders.values()]
    .sort((a, b) => (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : a.group - b.group))
    .map(
      (b): GroupSeries => ({
        dimension: b.dimension,
        group: b.group,
        role: b.role,
        exposure:
          b.dimension === 'staff' && b.counts.records.every((n) => n === 0)
            ? clinicRecords
            : b.counts.records,
        counts: b.counts,
        patients: Object.fromEntries(GROUP_SERIES_KINDS.map((k) => [k, b.patients[k].size])) as Record<
          GroupSeriesKind,
          number
        >,
      }),
    );
  return { periodDays: o.periodDays, origin: new Date(origin), periods, groups };
}
