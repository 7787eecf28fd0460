import type { Rng } from '@anomalia/core';
import {
  type Change,
  type ColumnValue,
  columnValuesEqual,
  matchDoseHistory,
  type SiteRow,
  type TrackTreatmentRow,
  type TxFieldPointRow,
  type TxFieldRow,
} from '@anomalia/mosaiq';
import { insertRow, updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import type { KeyAllocator } from '../keys';
import { type Fraction, type PlanCourse, setIdOf } from './course';

/**
 * Field versions: how a per-fraction attack shows in a Mosaiq database.
 *
 * TxField and its TxFieldPoint rows are shared by every fraction that names them, so a value that
 * differs from one fraction to the next (a creeping meterset, a drifting gantry) can only exist as
 * versions: each edit of a field is a TxField row of its own (same FLD_SET_ID, a new FLD_ID, the
 * current row Version 0, earlier ones 32000, 31999, …) with its own control points, and a
 * TrackTreatment row (and its Dose_Hst row) names the version it delivered. An attack that edits
 * the field before some fractions therefore inserts a version per distinct edit, with its control
 * points, and points those fractions' TrackTreatment and Dose_Hst rows at it. The planned field
 * stays the current version (the attacker puts it back), so the other fractions, the QA-mode
 * verification and every later read of the plan see the approved values.
 */

/** Control-point columns an edit may change. */
export type PointPatch = Partial<
  Record<
    | 'Gantry_Ang'
    | 'Coll_Ang'
    | 'Coll_X1'
    | 'Coll_X2'
    | 'Coll_Y1'
    | 'Coll_Y2'
    | 'Field_X'
    | 'Field_Y'
    | 'A_Leaf_Set'
    | 'B_Leaf_Set',
    ColumnValue
  >
>;

/** An edit of a field: the new meterset and / or new control-point values, from the delivered version's. */
export interface FieldEdit {
  meterset?(mu: number): number;
  point?(cp: TxFieldPointRow, index: number, all: readonly TxFieldPointRow[]): PointPatch | null;
}

/** The audit columns the version carries: who edited it and when (null writes NULL). */
export interface VersionAudit {
  readonly editedAt: Date | null;
  readonly editorId: number | null;
}

/** The highest Version an archived (non-current) row takes; each older edit one less. */
const FIRST_ARCHIVED_VERSION = 32000;

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Collects the changes of one application: field versions, the rows repointed at them, site versions. */
export class VersionWriter {
  readonly changes: Change[] = [];
  /** Fractions delivered with a new version, in the order they were repointed. */
  readonly repointed: Fraction[] = [];
  private readonly nextVersion = new Map<number, number>();
  private readonly doseUpdated = new Set<number>();

  constructor(
    private readonly cohort: Cohort,
    private readonly keys: KeyAllocator,
  ) {}

  /** The Version number the next archived row of a field set (or site set) takes. */
  private version(table: 'TxField' | 'Site', setId: number): number {
    const key = table === 'TxField' ? setId : -setId - 1;
    let v = this.nextVersion.get(key);
    if (v === undefined) {
      const rows =
        table === 'TxField'
          ? this.cohort.rowsWhere('TxField', 'FLD_SET_ID', setId)
          : this.cohort.rowsWhere('Site', 'SIT_SET_ID', setId);
      v = FIRST_ARCHIVED_VERSION;
      for (const r of rows) if (r.Version && r.Version <= v) v = r.Version - 1;
    }
    this.nextVersion.set(key, v - 1);
    return v;
  }

  /**
   * Delivers `fractions` with a version of their field changed by `edit` (one version per field
   * version they delivered). Fractions whose edit would change nothing stay as they are. Returns
   * the fractions repointed.
   */
  deliverWith(fractions: readonly Fraction[], edit: FieldEdit, audit: VersionAudit): Fraction[] {
    const byBase = new Map<number, Fraction[]>();
    for (const f of fractions) (byBase.get(f.fieldId) ?? byBase.set(f.fieldId, []).get(f.fieldId)!).push(f);
    const done: Fraction[] = [];
    for (const [baseId, group] of byBase) {
      const base = this.cohort.row('TxField', baseId);
      if (!base) continue;
      const version = this.fieldVersion(base, edit, audit);
      if (version === null) continue;
      for (const f of group) this.repoint(f, base, version);
      done.push(...group);
    }
    this.repointed.push(...done);
    return done;
  }

  /** The inserted version of `base` with `edit`, or null when the edit changes nothing. */
  private fieldVersion(base: TxFieldRow, edit: FieldEdit, audit: VersionAudit): number | null {
    const points = this.cohort.pointsOfField(base.FLD_ID);
    let changed = false;
    let meterset = base.Meterset;
    if (edit.meterset && meterset !== null) {
      const mu = round2(edit.meterset(meterset));
      if (mu !== meterset) {
        meterset = mu;
        changed = true;
      }
    }
    const patches = points.map((cp, i) => {
      const patch = edit.point?.(cp, i, points) ?? null;
      if (!patch) return null;
      const real = Object.entries(patch).filter(
        ([column, value]) =>
          !columnValuesEqual((cp as Record<string, ColumnValue>)[column] ?? null, value ?? null),
      );
      if (real.length === 0) return null;
      changed = true;
      return Object.fromEntries(real) as PointPatch;
    });
    if (!changed) return null;

    const fldId = this.keys.allocate('TxField');
    this.changes.push(
      insertRow('TxField', {
        ...base,
        FLD_ID: fldId,
        FLD_SET_ID: setIdOf(base),
        Version: this.version('TxField', setIdOf(base)),
        Edit_DtTm: audit.editedAt,
        Edit_ID: audit.editorId,
        Meterset: meterset,
      }),
    );
    points.forEach((cp, i) => {
      const patch = patches[i];
      this.changes.push(
        insertRow('TxFieldPoint', {
          ...cp,
          ...(patch ?? {}),
          TFP_ID: this.keys.allocate('TxFieldPoint'),
          FLD_ID: fldId,
          Edit_DtTm: patch ? audit.editedAt : cp.Edit_DtTm,
        }),
      );
    });
    return fldId;
  }

  /** Points a fraction's TrackTreatment rows, and their Dose_Hst rows, at another field version. */
  private repoint(fraction: Fraction, base: TxFieldRow, fldId: number): void {
    for (const t of fraction.rows) {
      const c = updateCell('TrackTreatment', t, 'FLD_ID', fldId);
      if (c) this.changes.push(c);
      const dose = this.doseOf(t);
      if (dose && dose.FLD_ID === base.FLD_ID && !this.doseUpdated.has(dose.DHS_ID)) {
        this.doseUpdated.add(dose.DHS_ID);
        const d = updateCell('Dose_Hst', dose, 'FLD_ID', fldId);
        if (d) this.changes.push(d);
      }
    }
  }

  private doseOf(t: TrackTreatmentRow) {
    if (t.DHS_ID !== null) return this.cohort.row('Dose_Hst', t.DHS_ID) ?? null;
    if (t.Pat_ID1 === null) return null;
    return matchDoseHistory(t, this.cohort.rowsWhere('Dose_Hst', 'Pat_ID1', t.Pat_ID1));
  }

  /**
   * Delivers every row of `sessions`' fractions under a version of their site (the prescription)
   * whose columns `patch` changes: TrackTreatment.SIT_ID and Dose_Hst.SIT_ID name the version.
   * Returns the new SIT_ID, or null when the rows name no site or the patch changes nothing.
   */
  prescribeWith(
    plan: PlanCourse,
    fractions: readonly Fraction[],
    patch: (site: SiteRow) => Partial<Pick<SiteRow, 'Dose_Tx' | 'Dose_Ttl'>>,
    editedAt: Date,
  ): number | null {
    const sitIds = new Set(fractions.flatMap((f) => f.rows.map((t) => t.SIT_ID)));
    if (sitIds.size !== 1) return null;
    const siteId = [...sitIds][0];
    const site = siteId == null ? undefined : this.cohort.row('Site', siteId);
    if (!site) return null;
    const values = patch(site);
    if (
      Object.entries(values).every(([k, v]) => columnValuesEqual(site[k as keyof SiteRow] ?? null, v ?? null))
    )
      return null;
    const id = this.keys.allocate('Site');
    this.changes.push(
      insertRow('Site', {
        ...site,
        ...values,
        SIT_ID: id,
        SIT_SET_ID: site.SIT_SET_ID ?? plan.siteSetId,
        Version: this.version('Site', site.SIT_SET_ID ?? plan.siteSetId),
        Edit_DtTm: editedAt,
      }),
    );
    const seenDose = new Set<number>();
    for (const f of fractions) {
      for (const t of f.rows) {
        const c = updateCell('TrackTreatment', t, 'SIT_ID', id);
        if (c) this.changes.push(c);
        const dose = this.doseOf(t);
        if (dose && dose.SIT_ID === site.SIT_ID && !seenDose.has(dose.DHS_ID)) {
          seenDose.add(dose.DHS_ID);
          const d = updateCell('Dose_Hst', dose, 'SIT_ID', id);
          if (d) this.changes.push(d);
        }
      }
    }
    return id;
  }
}

/**
 * When an attacker edits the field before a fraction: between 5 min and 2 h before it, never
 * before the end of the plan's previous session (whose fractions used another version).
 */
export function editTimeBefore(plan: PlanCourse, fraction: Fraction, rng: Rng): Date {
  const start = fraction.start.getTime();
  const previous = plan.sessions[fraction.session - 2];
  const earliest = Math.max(start - 2 * 3600_000, previous ? previous.end.getTime() + 60_000 : -Infinity);
  const latest = start - 5 * 60_000;
  const t = earliest < latest ? rng.uniform(earliest, latest) : start - 60_000;
  return new Date(Math.round(t / 1000) * 1000);
}

/** Who the edits are attributed to by default: the field's last editor (the planner). */
export const plannerOf = (field: TxFieldRow | undefined): number | null =>
  field?.Edit_ID ?? field?.Create_ID ?? null;
