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
 *   parameter families: dose, aperture, jaws, angles, position, integrity; plus audit): 3 or more
 *   → 1, 2 → 0.5;
 * - `statistical_evasion`: an alarm on a parameter whose every fraction stayed inside its
 *   one-fraction tolerance (the change was shaped to pass per-fraction checks): 1 − p of that
 *   alarm's test;
 * - `temporal_pattern`: changed fractions interleaved with unchanged ones in a non-random way
 *   (Wald–Wolfowitz runs test on the changed/unchanged sequence after the first change): 1 − p
 *   when p < `alpha`;
 * - `audit_issues`: archived field versions without Edit_DtTm / Edit_ID, treatment rows without
 *   Create_ID / Edit_ID, Edit_DtTm before Create_DtTm, a fraction delivered from an archived
 *   version, a version stamped before fractions that still used an older one (back-dated), a
 *   version edited by staff who treat and edit no other field → 1; a field edited after the course's first delivery only → 0.5 (legitimate re-plans
 *   do that too);
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
    if (c.alarms.length > 0 || auditKinds(c).strong > 0) f.alarmed = true;
    out.set(c.patientId, f);
  }
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

/** Audit anomalies of a course: strong ones (impossible or missing audit data) and edits after the first delivery. */
function auditKinds(
  c: CourseState,
  tracker?: LongitudinalTracker,
): { strong: number; editedAfterStart: number; kinds: string[] } {
  const ref = c.reference;
  let strong = 0;
  let edited = 0;
  const kinds = new Set<string>();
  for (const f of c.fractions) {
    if (f.versionAuditMissing) {
      strong++;
      kinds.add('field version without Edit_DtTm / Edit_ID');
    }
    if (f.createId === null || f.editId === null) {
      strong++;
      kinds.add('treatment row without Create_ID / Edit_ID');
    }
    if (f.durationSeconds < 0) {
      strong++;
      kinds.add('Edit_DtTm before Create_DtTm');
    }
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
  return { strong, editedAfterStart: edited, kinds: [...kinds] };
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
  const strongAudit = audits.reduce((a, x) => a + x.strong, 0);
  const editedAudit = audits.reduce((a, x) => a + x.editedAfterStart, 0);
  const auditDetail = [...new Set(audits.flatMap((a) => a.kinds))].join('; ');
  const audit: EvidenceItem = {
    id: 'audit_issues',
    strength: strongAudit > 0 ? 1 : editedAudit > 0 ? 0.5 : 0,
    pValue: null,
    detail: auditDetail || 'no audit anomaly',
  };

  const families = new Set<string>(alarms.map((a) => a.family));
  if (audit.strength > 0) families.add('audit');
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
    ...assessMaliceFromEvidence(energy, strengths, { weights: MALICIOUS_INDICATOR_WEIGHTS }),
  };
}
