import { parseWith } from '@anomalia/core';
import { adjustPValues, chiSquareSf, runsTest } from '@anomalia/longitudinal';
import {
  assessMaliceFromEvidence,
  type EvidenceAssessment,
  MALICIOUS_INDICATOR_WEIGHTS,
} from '@anomalia/severity';
import { z } from 'zod';
import type { CourseAlarm, CourseState } from './course';
import { deviation, SERIES_PARAMETERS } from './parameters';
import type { FractionSnapshot } from './snapshot';
import type { LongitudinalTracker } from './tracker';

/**
 * Seed 001's malicious probability, computed from what the tracker saw rather than from hand-set
 * flags. For one patient it gathers five kinds of evidence, each with a strength in [0, 1] and
 * the numbers behind it, and combines them with `assessMaliceFromEvidence` of
 * `@anomalia/severity` (graded noisy-OR with seed 001's weights):
 *
 * - `multiple_anomalies`: independent anomaly types among the patient's courses (alarmed
 *   parameter families: dose, aperture, jaws, angles, position, integrity; plus audit when its
 *   strength is at least 0.5): 3 or more → 1, 2 → 0.5;
 * - `statistical_evasion`: an alarm on a parameter whose every fraction stayed inside its
 *   one-fraction tolerance (the change was shaped to pass per-fraction checks): 1 − p of that
 *   alarm's test;
 * - `temporal_pattern`: changed fractions interleaved with unchanged ones in a non-random way
 *   (Wald–Wolfowitz runs test on the changed/unchanged sequence after the first change): 1 − p
 *   when p < `alpha`;
 * - `audit_issues`: anomalies of the plan's edit trail (archived field versions without
 *   Edit_DtTm / Edit_ID, a version stamped before fractions that still used an older one
 *   (back-dated), a version edited by staff who treat and edit no other field) → 1; delivery rows
 *   without Create_ID / Edit_ID or with Edit_DtTm before Create_DtTm → 1 when corroborated (two
 *   within a day: an audit gap; or the row delivered a changed plan), a single isolated row →
 *   `ISOLATED_AUDIT_ROW_STRENGTH` (0.25: the accidental catalogue makes such rows, so one alone is
 *   no evidence of malice); a field edited after the course's first delivery only → 0.5
 *   (legitimate re-plans do that too);
 * - `targeting`: the patient belongs to a group (age band, site, machine) whose share of alarmed
 *   patients is significantly above the rest's (one-sided 2 × 2 chi-square test, Yates'
 *   correction, Benjamini–Hochberg across groups): 1 − adjusted p.
 */
export const EvidenceOptionsSchema = z.strictObject({
  /** Significance level of the temporal and targeting tests (targeting: after BH across groups). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  /** Fewest patients a group needs to be tested for targeting. */
  minGroupPatients: z.number().int().min(2).default(5),
});
export type EvidenceOptions = z.input<typeof EvidenceOptionsSchema>;

export type EvidenceId =
  | 'multiple_anomalies'
  | 'statistical_evasion'
  | 'temporal_pattern'
  | 'audit_issues'
  | 'targeting';

export interface EvidenceItem {
  readonly id: EvidenceId;
  /** In [0, 1]: how strongly the evidence shows the indicator. */
  readonly strength: number;
  /** The test's p-value when the evidence is statistical, else null. */
  readonly pValue: number | null;
  readonly detail: string;
}

export interface PatientMaliceAssessment extends EvidenceAssessment {
  readonly patientId: number;
  /** Every evidence item examined (strength 0 when absent), in a fixed order. */
  readonly evidence: readonly EvidenceItem[];
  /** The patient's alarms across their courses. */
  readonly alarms: readonly CourseAlarm[];
  /**
   * Keys of the patient's courses that carry evidence themselves: a course alarm, an audit
   * anomaly of the edit trail or a corroborated audit row, or a fraction whose planned parameters
   * changed from the course's reference. A patient's other courses (fields nobody changed) are
   * not where a suspected attack is: a monitor raises only these courses' records.
   */
  readonly evidenceCourses: readonly string[];
}

/** A group test of the targeting evidence. */
export interface GroupTest {
  readonly attribute: 'age' | 'site' | 'machine';
  readonly group: string;
  readonly patients: number;
  readonly alarmedPatients: number;
  /** Alarmed share of the rest of the clinic. */
  readonly restShare: number;
  readonly pValue: number;
  readonly adjustedPValue: number;
}

const ageBand = (age: number): string =>
  Number.isNaN(age) ? 'unknown' : age < 50 ? '<50' : age < 65 ? '50-64' : age < 75 ? '65-74' : '75+';

interface PatientFacts {
  alarmed: boolean;
  groups: { age: string; site: string; machine: string };
}

function patientFacts(courses: Iterable<CourseState>): Map<number, PatientFacts> {
  const out = new Map<number, PatientFacts>();
  const audits = new Map<number, CourseAudit[]>();
  for (const c of courses) {
    const first = c.reference;
    if (!first) continue;
    const f = out.get(c.patientId) ?? {
      alarmed: false,
      groups: {
        age: ageBand(first.ageYears),
        site: first.siteName ?? 'unknown',
        machine: first.machineId === null ? 'unknown' : String(first.machineId),
      },
    };
    if (c.alarms.length > 0) f.alarmed = true;
    audits.set(c.patientId, [...(audits.get(c.patientId) ?? []), auditKinds(c)]);
    out.set(c.patientId, f);
  }
  // Audit anomalies make a patient alarmed when they are evidence at full strength (not an isolated row).
  for (const [id, list] of audits) if (auditEvidence(list).item.strength === 1) out.get(id)!.alarmed = true;
  return out;
}

/**
 * Groups of patients (age band, site, machine) with significantly more alarmed patients than the
 * rest of the clinic: one-sided 2 × 2 chi-square with Yates' correction, BH across every group
 * tested. Sorted by adjusted p.
 */
export function targetingTests(
  tracker: LongitudinalTracker,
  options: EvidenceOptions & {
    /** Patients to count as alarmed besides those the tracker alarmed on (e.g. replayed elsewhere). */
    alarmed?: ReadonlySet<number>;
  } = {},
): GroupTest[] {
  const { alarmed: extra, ...rest } = options;
  const o = parseWith(EvidenceOptionsSchema, rest, 'evidence');
  const facts = patientFacts(tracker.courses());
  if (extra) for (const [id, f] of facts) if (extra.has(id)) f.alarmed = true;
  const total = facts.size;
  const alarmedTotal = [...facts.values()].filter((f) => f.alarmed).length;
  const raw: Omit<GroupTest, 'adjustedPValue'>[] = [];
  for (const attribute of ['age', 'site', 'machine'] as const) {
    const groups = new Map<string, { n: number; a: number }>();
    for (const f of facts.values()) {
      const g = groups.get(f.groups[attribute]) ?? { n: 0, a: 0 };
      g.n++;
      if (f.alarmed) g.a++;
      groups.set(f.groups[attribute], g);
    }
    for (const [group, { n, a }] of groups) {
      if (n < o.minGroupPatients || n === total) continue;
      const restN = total - n;
      const restA = alarmedTotal - a;
      raw.push({
        attribute,
        group,
        patients: n,
        alarmedPatients: a,
        restShare: restA / restN,
        pValue: oneSidedChiSquare(a, n - a, restA, restN - restA),
      });
    }
  }
  const adjusted = adjustPValues(
    raw.map((r) => r.pValue),
    { method: 'bh', alpha: o.alpha },
  );
  return raw
    .map((r, i) => ({ ...r, adjustedPValue: adjusted.adjusted[i]! }))
    .sort((a, b) => a.adjustedPValue - b.adjustedPValue);
}

/** P(group share > rest share) by a 2 × 2 chi-square test with Yates' correction, one-sided. */
function oneSidedChiSquare(a: number, b: number, c: number, d: number): number {
  const n = a + b + c + d;
  const r1 = a + b;
  const r2 = c + d;
  const c1 = a + c;
  const c2 = b + d;
  if (r1 === 0 || r2 === 0 || c1 === 0 || c2 === 0) return 1;
  if (a / r1 <= c / r2) return 1;
  const diff = Math.max(0, Math.abs(a * d - b * c) - n / 2);
  const chi = (n * diff * diff) / (r1 * r2 * c1 * c2);
  return chiSquareSf(chi, 1) / 2;
}

/**
 * Audit anomalies of a course, in two classes:
 * - `strong`: anomalies of the plan's edit trail (a field version without Edit_DtTm / Edit_ID, a
 *   version stamped before fractions that still used an older one, a version edited by staff who
 *   treat and edit no other field). Each one concerns an edit of what the patient receives.
 * - `rows`: the delivery rows whose own audit columns are missing or impossible (TrackTreatment
 *   without Create_ID / Edit_ID, Edit_DtTm before Create_DtTm). One such row alone is what the
 *   accidental catalogue produces (timestamp_inconsistencies, null_required_fields); it counts as
 *   manipulation only when corroborated (`auditEvidence`).
 */
interface CourseAudit {
  strong: number;
  editedAfterStart: number;
  rows: { fraction: FractionSnapshot; changed: boolean; kinds: string[] }[];
  kinds: string[];
}

function auditKinds(c: CourseState, tracker?: LongitudinalTracker): CourseAudit {
  const ref = c.reference;
  let strong = 0;
  let edited = 0;
  const kinds = new Set<string>();
  const rows: CourseAudit['rows'] = [];
  for (const f of c.fractions) {
    if (f.versionAuditMissing) {
      strong++;
      kinds.add('field version without Edit_DtTm / Edit_ID');
    }
    const rowKinds: string[] = [];
    if (f.createId === null || f.editId === null) rowKinds.push('treatment row without Create_ID / Edit_ID');
    if (f.durationSeconds < 0) rowKinds.push('Edit_DtTm before Create_DtTm');
    if (rowKinds.length > 0)
      rows.push({ fraction: f, changed: ref !== null && changedFraction(f, ref), kinds: rowKinds });
    if (ref !== null && f !== ref && f.fieldEditedAt > ref.time) {
      edited++;
      kinds.add('field edited after the first delivery');
    }
    if (c.fractions.some((e) => e.time < f.time && e.fieldId !== f.fieldId && f.fieldEditedAt < e.time)) {
      strong++;
      kinds.add('field version stamped before fractions that still used an older version');
    }
    if (
      f.fieldEditorId !== null &&
      f.fieldId !== ref?.fieldId &&
      tracker?.isUnusualEditor(f.fieldEditorId, f.fieldSetId)
    ) {
      strong++;
      kinds.add('field version edited by staff who treat and edit no other field');
    }
  }
  return { strong, editedAfterStart: edited, rows, kinds: [...kinds] };
}

/** Two anomalous delivery rows this close in time belong to one audit gap (one treatment day). */
const AUDIT_GAP_MS = 24 * 3_600_000;

/**
 * Strength of `audit_issues` for one patient's courses when no anomaly is corroborated: delivery
 * rows with missing or impossible audit columns, each alone on its day and delivering an
 * unchanged plan. Small enough that it can never suspect a patient alone (0.9 × 0.25 = 0.225 <
 * 0.5), still listed so a reviewer sees it.
 */
export const ISOLATED_AUDIT_ROW_STRENGTH = 0.25;

/**
 * The `audit_issues` evidence of a patient's courses. Full strength (1) for an edit-trail anomaly,
 * or for anomalous delivery rows that are corroborated: two or more within a day of each other
 * (an audit gap over a session, as switching the audit off leaves; independent accidents hit the
 * same patient's same day with a probability of the order of the per-row error rate squared), or
 * a row delivered with planned parameters changed from the course's reference (the gap covers the
 * use of an edit). Uncorroborated rows only: `ISOLATED_AUDIT_ROW_STRENGTH`. Else 0.5 for a field
 * edited after the first delivery (legitimate re-plans do that too), else 0.
 */
function auditEvidence(audits: readonly CourseAudit[]): {
  item: EvidenceItem;
  corroboratedRows: ReadonlySet<FractionSnapshot>;
} {
  const strong = audits.reduce((a, x) => a + x.strong, 0);
  const edited = audits.reduce((a, x) => a + x.editedAfterStart, 0);
  const rows = audits.flatMap((a) => a.rows).sort((a, b) => a.fraction.time - b.fraction.time);
  const corroborated = new Set<FractionSnapshot>();
  rows.forEach((r, i) => {
    const near = (j: number) =>
      rows[j] !== undefined && Math.abs(rows[j]!.fraction.time - r.fraction.time) <= AUDIT_GAP_MS;
    if (r.changed || near(i - 1) || near(i + 1)) corroborated.add(r.fraction);
  });
  const rowKinds = (list: typeof rows) => list.flatMap((r) => r.kinds);
  const isolated = rows.filter((r) => !corroborated.has(r.fraction));
  const kinds = new Set([
    ...audits.flatMap((a) => a.kinds),
    ...rowKinds(rows.filter((r) => corroborated.has(r.fraction))),
  ]);
  // The isolated row is named as such, so a reviewer reads why it weighs little.
  for (const k of rowKinds(isolated)) kinds.add(`${k} (isolated row)`);
  const strength =
    strong > 0 || corroborated.size > 0
      ? 1
      : edited > 0
        ? 0.5
        : isolated.length > 0
          ? ISOLATED_AUDIT_ROW_STRENGTH
          : 0;
  return {
    item: {
      id: 'audit_issues',
      strength,
      pValue: null,
      detail: [...kinds].join('; ') || 'no audit anomaly',
    },
    corroboratedRows: corroborated,
  };
}

/** Whether a fraction's planned parameters differ from the reference by more than their floor. */
function changedFraction(f: FractionSnapshot, ref: FractionSnapshot): boolean {
  for (let j = 0; j < SERIES_PARAMETERS.length; j++) {
    const p = SERIES_PARAMETERS[j]!;
    if (p.kind !== 'planned') continue;
    const d = deviation(p, f.values[j]!, ref.values[j]!);
    if (Math.abs(d) > p.sigmaFloor) return true;
  }
  return false;
}

function temporalEvidence(courses: readonly CourseState[], alpha: number): EvidenceItem {
  let best: EvidenceItem = {
    id: 'temporal_pattern',
    strength: 0,
    pValue: null,
    detail: 'no intermittent changes',
  };
  for (const c of courses) {
    const ref = c.reference;
    if (!ref) continue;
    const flags = c.fractions.map((f) => (changedFraction(f, ref) ? 1 : 0));
    const first = flags.indexOf(1);
    if (first < 0) continue;
    const after = flags.slice(first);
    const changed = after.reduce((a: number, b) => a + b, 0);
    if (changed < 2 || changed === after.length) continue;
    const r = runsTest(after, { cutoff: 0.5 });
    if (r.status !== 'ok' || r.pValue >= alpha) continue;
    const strength = 1 - r.pValue;
    if (strength > best.strength) {
      best = {
        id: 'temporal_pattern',
        strength,
        pValue: r.pValue,
        detail: `course ${c.key}: ${changed} of ${after.length} fractions since the first change were changed, in ${r.runs} runs (expected ${r.expectedRuns.toFixed(1)})`,
      };
    }
  }
  return best;
}

/** Whether a course carries evidence of its own (`PatientMaliceAssessment.evidenceCourses`). */
function carriesEvidence(
  c: CourseState,
  audit: CourseAudit,
  corroboratedRows: ReadonlySet<FractionSnapshot>,
): boolean {
  if (c.alarms.length > 0 || audit.strong > 0 || audit.editedAfterStart > 0) return true;
  if (audit.rows.some((r) => corroboratedRows.has(r.fraction))) return true;
  const ref = c.reference;
  return ref !== null && c.fractions.some((f) => changedFraction(f, ref));
}

/**
 * The malicious-probability assessment of one patient from the tracker's evidence and an energy
 * (e.g. the highest EBM energy of the patient's recent records). `groups` are the targeting tests
 * of the whole clinic (`targetingTests`), computed once for many patients.
 */
export function assessPatientMalice(
  tracker: LongitudinalTracker,
  patientId: number,
  energy: number,
  options: EvidenceOptions & { groups?: readonly GroupTest[] } = {},
): PatientMaliceAssessment {
  const { groups: given, ...rest } = options;
  const o = parseWith(EvidenceOptionsSchema, rest, 'evidence');
  // The patient's own courses only: a monitor assesses many patients per batch.
  const courses = tracker.coursesOfPatient(patientId);
  const alarms = courses.flatMap((c) => c.alarms);

  const audits = courses.map((c) => auditKinds(c, tracker));
  const { item: audit, corroboratedRows } = auditEvidence(audits);

  const families = new Set<string>(alarms.map((a) => a.family));
  // An isolated audit row is no anomaly type of its own: with one accidental alarm elsewhere it
  // would make "two independent types" out of two accidents.
  if (audit.strength >= 0.5) families.add('audit');
  const k = families.size;
  const multiple: EvidenceItem = {
    id: 'multiple_anomalies',
    strength: k >= 3 ? 1 : k === 2 ? 0.5 : 0,
    pValue: null,
    detail: k ? `${k} anomaly type(s): ${[...families].sort().join(', ')}` : 'no anomaly',
  };

  const evasive = alarms
    .flatMap((a) => (a.withinTolerance && a.pValue !== null ? [{ ...a, pValue: a.pValue }] : []))
    .sort((a, b) => a.pValue - b.pValue)[0];
  const evasion: EvidenceItem = evasive
    ? {
        id: 'statistical_evasion',
        strength: 1 - evasive.pValue,
        pValue: evasive.pValue,
        detail: `${evasive.test} alarm on ${evasive.parameter} (course ${evasive.courseKey}, fraction ${evasive.fraction}) while every fraction stayed within its tolerance (largest deviation ${evasive.maxFractionDeviation.toFixed(2)})`,
      }
    : { id: 'statistical_evasion', strength: 0, pValue: null, detail: 'no alarm within tolerance' };

  const temporal = temporalEvidence(courses, o.alpha);

  const groups = given ?? targetingTests(tracker, o);
  const facts = patientFacts(courses).get(patientId);
  let targeting: EvidenceItem = {
    id: 'targeting',
    strength: 0,
    pValue: null,
    detail: 'no over-represented group',
  };
  if (facts?.alarmed) {
    const hit = groups.find((g) => g.adjustedPValue < o.alpha && facts.groups[g.attribute] === g.group);
    if (hit) {
      targeting = {
        id: 'targeting',
        strength: 1 - hit.adjustedPValue,
        pValue: hit.adjustedPValue,
        detail: `${hit.attribute} ${hit.group}: ${hit.alarmedPatients} of ${hit.patients} patients alarmed vs ${(hit.restShare * 100).toFixed(1)} % of the rest`,
      };
    }
  }

  const evidence = [multiple, evasion, temporal, audit, targeting];
  const strengths = Object.fromEntries(evidence.map((e) => [e.id, e.strength]));
  return {
    patientId,
    evidence,
    alarms,
    evidenceCourses: courses
      .filter((c, i) => carriesEvidence(c, audits[i]!, corroboratedRows))
      .map((c) => c.key),
    ...assessMaliceFromEvidence(energy, strengths, { weights: MALICIOUS_INDICATOR_WEIGHTS }),
  };
}
