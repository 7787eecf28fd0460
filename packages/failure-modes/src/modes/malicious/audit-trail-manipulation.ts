import type { Change, TrackTreatmentRow, TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { compact, deleteRow, updateCell } from '../../change-builders';
import type { Cohort } from '../../cohort';
import { defineVariant } from '../../failure-mode';
import type { KeyAllocator } from '../../keys';
import {
  type CourseOfTarget,
  courseOf,
  minFractionsParam,
  pct,
  percentParam,
  primaryOf,
  scaleMeterset,
  startFractionParam,
} from '../../malicious/attack';
import { type Fraction, memo } from '../../malicious/course';
import { editTimeBefore, plannerOf, type VersionAudit, VersionWriter } from '../../malicious/versions';
import { defineMosaiqMode, must } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

const payload = {
  percent: percentParam(5, 50, 'meterset change the hidden edit makes (%)'),
  startFraction: startFractionParam(2),
  minFractions: minFractionsParam(3),
};

function fieldCheck(cohort: Cohort, t: TreatmentRecord, p: { startFraction: number; minFractions: number }) {
  const c = courseOf(cohort, t, p);
  if ('reason' in c) return c.reason;
  return t.field?.Meterset && t.field.Meterset > 0
    ? null
    : `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
}

const attacked = (c: CourseOfTarget, start: number) => c.field.fractions.filter((f) => f.number >= start);

/** A selection or cancellation logged before a beam: no beam, no dose record. */
const isWorkflowRow = (t: TrackTreatmentRow) => t.WasBeamOn === false && t.DHS_ID === null;

/** The hidden edit: the target field delivered with a higher-MU version from `startFraction`, with the given audit. */
function hiddenEdit(
  cohort: Cohort,
  keys: KeyAllocator,
  fractions: readonly Fraction[],
  percent: number,
  audit: VersionAudit,
): VersionWriter {
  const writer = new VersionWriter(cohort, keys);
  writer.deliverWith(fractions, scaleMeterset(1 + percent / 100), audit);
  return writer;
}

/** Staff ids the cohort shows (treating, creating or editing), ascending. */
function staffSeen(cohort: Cohort): readonly number[] {
  return memo(cohort, 'staff-seen', () => {
    const ids = new Set<number>();
    for (const t of cohort.rows.TrackTreatment) {
      for (const id of [t.Staff_ID, t.Create_ID, t.Edit_ID]) if (id !== null) ids.add(id);
    }
    for (const f of cohort.rows.TxField)
      for (const id of [f.Create_ID, f.Edit_ID]) if (id !== null) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  });
}

export const auditTrailManipulation = defineMosaiqMode({
  id: 'audit_trail_manipulation',
  kind: 'malicious',
  scope: 'field',
  description:
    'An edit hidden in the audit trail: the target field is delivered from `startFraction` (default 2) with a version whose Meterset is `percent` (default +5 %) higher, and the audit columns that would reveal who made that edit and when (TxField.Edit_DtTm / Edit_ID of the version, the TrackTreatment log rows, their Create_ID / Edit_ID) are forged, attributed to someone else, deleted or never written.',
  variants: {
    timestamp_forgery: defineVariant({
      description:
        'The version’s Edit_DtTm back-dated to minutes after the approved version was last edited (before the course and its verification), so the change looks planned; the editor is the planner.',
      evidence:
        'Ordering contradictions: fractions delivered after the version’s claimed Edit_DtTm still used the older version (and the QA-mode verification used the approved one); the version’s Edit_DtTm precedes deliveries it should have governed. Compare each version’s Edit_DtTm with the delivery times of its FLD_SET_ID.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({ ...payload }),
      check: (t, cohort, p) => fieldCheck(cohort, t, p),
      apply({ target, cohort, params, rng, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = attacked(c, params.startFraction);
        const base = cohort.row('TxField', fractions[0]!.fieldId);
        const approved =
          base?.Edit_DtTm ?? base?.Create_DtTm ?? new Date(c.plan.sessions[0]!.start.getTime() - 86_400_000);
        const forged = new Date(Math.round((approved.getTime() + rng.uniform(1, 10) * 60_000) / 1000) * 1000);
        const writer = hiddenEdit(cohort, keys, fractions, params.percent, {
          editedAt: forged,
          editorId: plannerOf(base),
        });
        const real = editTimeBefore(c.plan, fractions[0]!, rng);
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `field ${target.treatment.FLD_ID}: ${pct(params.percent)} MU from fraction ${params.startFraction}, edit of ${real.toISOString()} stamped ${forged.toISOString()}`,
        };
      },
    }),
    user_impersonation: defineVariant({
      description:
        'The version attributed to another user: its Edit_ID is `staffId` (default: a colleague the cohort shows treating on another machine around the edit time, else another staff member who is not the planner), edited shortly before the first attacked fraction.',
      evidence:
        'Impossible activity: the Edit_ID of the version belongs to someone logging treatments elsewhere (TrackTreatment.Staff_ID on another machine) within minutes of the edit, or to a role that never edits plans (a therapist); edit counts per staff member against their history.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        staffId: z
          .number()
          .int()
          .min(1)
          .max(2_147_483_647)
          .optional()
          .describe('the user the edit is attributed to'),
      }),
      check(t, cohort, p) {
        const reason = fieldCheck(cohort, t, p);
        if (reason) return reason;
        const planner = plannerOf(t.field ?? undefined);
        if (p.staffId !== undefined)
          return p.staffId === planner ? `staff ${p.staffId} is the field’s own editor` : null;
        return staffSeen(cohort).some((id) => id !== planner)
          ? null
          : 'the cohort shows no other staff member to impersonate';
      },
      apply({ target, cohort, params, rng, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = attacked(c, params.startFraction);
        const base = cohort.row('TxField', fractions[0]!.fieldId);
        const planner = plannerOf(base);
        const at = editTimeBefore(c.plan, fractions[0]!, rng);
        let victim = params.staffId;
        if (victim === undefined) {
          // Someone busy elsewhere at that moment makes the strongest alibi against them.
          const machine = fractions[0]!.rows[0]!.Machine_ID_Staff_ID;
          const busy = cohort.rows.TrackTreatment.filter(
            (t) =>
              t.Staff_ID !== null &&
              t.Staff_ID !== planner &&
              t.Machine_ID_Staff_ID !== machine &&
              t.Create_DtTm !== null &&
              Math.abs(t.Create_DtTm.getTime() - at.getTime()) <= 15 * 60_000,
          );
          const pool =
            busy.length > 0
              ? [...new Set(busy.map((t) => t.Staff_ID!))].sort((a, b) => a - b)
              : staffSeen(cohort).filter((id) => id !== planner);
          victim = pool[rng.integer(0, pool.length)]!;
        }
        const writer = hiddenEdit(cohort, keys, fractions, params.percent, {
          editedAt: at,
          editorId: victim,
        });
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `field ${target.treatment.FLD_ID}: ${pct(params.percent)} MU from fraction ${params.startFraction}, edited ${at.toISOString()} as staff ${victim} (planner ${planner})`,
        };
      },
    }),
    log_deletion: defineVariant({
      description:
        'The evidence removed: the version’s audit columns (Edit_DtTm, Edit_ID) are NULL, and the TrackTreatment log rows of the attacked fractions that show the field being selected and cancelled around the edit (rows without a beam or a dose record) are deleted.',
      evidence:
        'Field versions with NULL Edit_DtTm / Edit_ID (the application always writes them); attacked sessions with beams but none of the selection rows every other session has (rows per session, a drop to zero); gaps in the TTX_ID identity sequence of the machine.',
      writes: [...METERSET_VERSION_WRITES, 'TrackTreatment'],
      features: ['mu_planned'],
      params: z.strictObject({ ...payload }),
      check(t, cohort, p) {
        const reason = fieldCheck(cohort, t, p);
        if (reason) return reason;
        const c = must(courseOf(cohort, t, p));
        const rows = attacked(c, p.startFraction).flatMap((f) => f.rows);
        return rows.some(isWorkflowRow) ? null : 'the attacked fractions have no selection row to delete';
      },
      apply({ target, cohort, params, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = attacked(c, params.startFraction);
        const deleted = fractions.flatMap((f) => f.rows.filter(isWorkflowRow));
        const kept = fractions.map((f) => ({ ...f, rows: f.rows.filter((t) => !isWorkflowRow(t)) }));
        const writer = hiddenEdit(cohort, keys, kept, params.percent, { editedAt: null, editorId: null });
        const changes: Change[] = [...deleted.map((t) => deleteRow('TrackTreatment', t)), ...writer.changes];
        return {
          changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          // The deleted rows are part of the failure: never a normal example, never another application's target.
          contextTtxIds: deleted.map((t) => t.TTX_ID),
          summary: `field ${target.treatment.FLD_ID}: ${pct(params.percent)} MU from fraction ${params.startFraction}, version audit NULL, ${deleted.length} log rows deleted`,
        };
      },
    }),
    audit_disable: defineVariant({
      description:
        'The audit switched off while the edit is made and used: the field’s current row is edited in place (Meterset × (1 + `percent`/100), no version, Edit_DtTm / Edit_ID untouched), and every TrackTreatment row of the patient logged from the edit until the end of `windowFractions` (1) fractions later has Create_ID and Edit_ID NULL. In place, the edit rewrites the history of every fraction of the field.',
      evidence:
        'A window of TrackTreatment rows without Create_ID / Edit_ID (an audit gap; count of NULL audit ids per day and machine); a field whose values changed without a new version or Edit_DtTm (its checksum differs from the one taken at verification, RowVers moved); every fraction, even those delivered before, now shows the new MU.',
      writes: ['TxField.Meterset', 'TrackTreatment.Create_ID', 'TrackTreatment.Edit_ID'],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        windowFractions: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(1)
          .describe('fractions logged with the audit off'),
      }),
      check: (t, cohort, p) => fieldCheck(cohort, t, p),
      apply({ target, cohort, params, rng }) {
        const c = must(courseOf(cohort, target, params));
        const field = target.field!;
        const first = c.field.fractions.find((f) => f.number === params.startFraction)!;
        const from = editTimeBefore(c.plan, first, rng);
        const lastSession =
          c.plan.sessions.find((s) => s.number === first.session + params.windowFractions - 1) ??
          c.plan.sessions[c.plan.sessions.length - 1]!;
        const to = lastSession.end;
        const rows = cohort
          .treatmentsOf('Pat_ID1', c.plan.patientId)
          .filter((t) => t.Create_DtTm !== null && t.Create_DtTm >= from && t.Create_DtTm <= to);
        const changes = compact([
          updateCell(
            'TxField',
            field,
            'Meterset',
            Math.round(field.Meterset! * (1 + params.percent / 100) * 100) / 100,
          ),
          ...rows.flatMap((t) => [
            updateCell('TrackTreatment', t, 'Create_ID', null),
            updateCell('TrackTreatment', t, 'Edit_ID', null),
          ]),
        ]);
        const window = c.field.fractions.filter(
          (f) => f.session >= first.session && f.session <= lastSession.number,
        );
        return {
          changes,
          primaryTtxId: primaryOf(window, target, cohort),
          summary: `field ${field.FLD_ID}: Meterset ${field.Meterset} → ${pct(params.percent)} in place; audit off ${from.toISOString()} – ${to.toISOString()} (${rows.length} rows without Create_ID / Edit_ID)`,
        };
      },
    }),
  },
});
