import { openSandboxWriter, openTreatmentReader } from '@anomalia/db-sqlite';
import {
  auditTrailManipulation,
  createFailureCatalogue,
  timestampInconsistencies,
} from '@anomalia/failure-modes';
import { courseKeyOf, isCourseDelivery } from '@anomalia/features';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { computeCorruption, listAllTreatments, loadRecordsInBatches } from '@anomalia/qa-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxClinic, testDir } from '../testing/clinics';
import { triage } from '../triage';
import { CourseWatch, type MaliciousAssessment } from './course-watch';

const tmp = testDir();
const RECORDS = 20_000;
const THRESHOLD = 0.5;
const ENERGY = 0.1;
const catalogue = createFailureCatalogue([timestampInconsistencies, auditTrailManipulation]);

interface Applied {
  readonly patient: number;
  readonly primary: number;
}
let clinic: string;
let accident: Applied;
let disable: Applied;
let forgery: Applied;
/** Every delivery of the clinic after the corruptions, with the assessment it got as it arrived. */
const seen = new Map<number, { record: TreatmentRecord; malicious: MaliciousAssessment | null }>();

const at = (r: TreatmentRecord) => r.treatment.Create_DtTm!.getTime();

async function loadAll(): Promise<TreatmentRecord[]> {
  const reader = openTreatmentReader(clinic);
  try {
    return await loadRecordsInBatches(
      reader,
      (await listAllTreatments(reader)).map((t) => t.TTX_ID),
    );
  } finally {
    reader.closeSync();
  }
}

/** One corruption computed on the sandbox as it is, then written into it. */
async function corrupt(
  request: { mode: string; variant: string; seed: number } & ({ ttxIds: number[] } | { count: number }),
): Promise<Applied> {
  const reader = openTreatmentReader(clinic);
  const corruption = await computeCorruption({ name: 'clinic', reader }, catalogue, request, {
    maxTargets: 1,
    maxCandidates: 5_000,
  });
  const { records } = await reader.loadRecords([corruption.applications[0]!.primaryTtxId]);
  reader.closeSync();
  const writer = openSandboxWriter(clinic);
  writer.applySync(corruption.changes, {
    label: `${request.mode}/${request.variant}`,
    mode: request.mode,
    variant: request.variant,
  });
  await writer.close();
  return { patient: records[0]!.treatment.Pat_ID1!, primary: records[0]!.treatment.TTX_ID };
}

beforeAll(async () => {
  clinic = sandboxClinic(tmp.path('clinic.sqlite'), 7, RECORDS);
  // The accident: a patient treated with three or more fields, one delivery mid-course.
  const courses = new Map<string, TreatmentRecord[]>();
  for (const r of (await loadAll()).filter(isCourseDelivery).sort((a, b) => at(a) - at(b))) {
    const key = courseKeyOf(r)!;
    courses.set(key, [...(courses.get(key) ?? []), r]);
  }
  const byPatient = new Map<number, TreatmentRecord[][]>();
  for (const c of courses.values()) {
    if (c.length < 10) continue;
    const p = c[0]!.treatment.Pat_ID1!;
    byPatient.set(p, [...(byPatient.get(p) ?? []), c]);
  }
  // Three patients treated with three or more fields: one accident, two attacks.
  const [first, second, third] = [...byPatient.values()].filter((list) => list.length >= 3);
  accident = await corrupt({
    mode: 'timestamp_inconsistencies',
    variant: 'edit_before_create',
    ttxIds: [first![0]![5]!.treatment.TTX_ID],
    seed: 1,
  });
  disable = await corrupt({
    mode: 'audit_trail_manipulation',
    variant: 'audit_disable',
    ttxIds: [second![0]![3]!.treatment.TTX_ID],
    seed: 3,
  });
  forgery = await corrupt({
    mode: 'audit_trail_manipulation',
    variant: 'timestamp_forgery',
    ttxIds: [third![0]![3]!.treatment.TTX_ID],
    seed: 5,
  });

  // The monitor's view: the deliveries one treatment day at a time, each assessed on arrival.
  const watch = new CourseWatch();
  const days = new Map<number, TreatmentRecord[]>();
  for (const r of (await loadAll()).filter(isCourseDelivery).sort((a, b) => at(a) - at(b))) {
    const day = Math.floor(at(r) / 86_400_000);
    days.set(day, [...(days.get(day) ?? []), r]);
  }
  for (const batch of days.values()) {
    watch.observe([], batch);
    const assessed = watch.assess(
      batch,
      batch.map(() => ENERGY),
    );
    batch.forEach((record, i) => {
      seen.set(record.treatment.TTX_ID, { record, malicious: assessed[i]! });
    });
  }
}, 300_000);
afterAll(() => tmp.cleanup());

const triaged = (m: MaliciousAssessment | null) =>
  triage(ENERGY, {
    detectedAt: 0,
    maliciousProbability: m?.probability ?? null,
    maliciousOwnEvidence: m?.ownEvidence ?? true,
    maliciousThreshold: THRESHOLD,
  });
const ofPatient = (p: number) => [...seen.values()].filter((s) => s.record.treatment.Pat_ID1 === p);

describe('escalation by the longitudinal checks, on failure modes written into a sandbox clinic', () => {
  it('pages no field of a patient for one accidental Edit_DtTm-before-Create_DtTm row', () => {
    const corrupted = seen.get(accident.primary)!;
    expect(corrupted.record.treatment.Edit_DtTm!.getTime()).toBeLessThan(at(corrupted.record));
    // The row is listed for a reviewer, weighed as one isolated row: 0.9 × 0.25.
    expect(corrupted.malicious!.probability).toBeCloseTo(0.225, 9);
    expect(corrupted.malicious!.indicators.join('\n')).toMatch(
      /Edit_DtTm before Create_DtTm \(isolated row\)/,
    );
    const later = ofPatient(accident.patient).filter((s) => at(s.record) >= at(corrupted.record));
    const otherFields = later.filter((s) => courseKeyOf(s.record) !== courseKeyOf(corrupted.record));
    expect(otherFields.length).toBeGreaterThan(5);
    for (const s of later) {
      expect(triaged(s.malicious).escalated).toBe(false);
      expect(triaged(s.malicious).band).toBe('normal');
    }
    for (const s of later) expect(s.malicious!.ownEvidence).toBe(false);
  });

  it('pages the deliveries logged while the audit was switched off (audit_disable)', () => {
    const gap = ofPatient(disable.patient).filter(
      (s) => s.record.treatment.Create_ID === null || s.record.treatment.Edit_ID === null,
    );
    expect(gap.length).toBeGreaterThanOrEqual(1);
    expect(gap.map((s) => s.record.treatment.TTX_ID)).toContain(disable.primary);
    for (const s of gap) {
      expect(s.malicious!.probability).toBeGreaterThan(THRESHOLD);
      expect(s.malicious!.ownEvidence).toBe(true);
      expect(triaged(s.malicious)).toMatchObject({ escalated: true, band: 'critical' });
    }
  });

  it('pages the fractions delivered from a back-dated version (timestamp_forgery), not the untouched fields', () => {
    const mine = ofPatient(forgery.patient);
    const primary = seen.get(forgery.primary)!;
    const version = primary.record.treatment.FLD_ID;
    const attacked = mine.filter((s) => s.record.treatment.FLD_ID === version);
    expect(attacked.length).toBeGreaterThanOrEqual(2);
    for (const s of attacked) {
      expect(s.malicious!.probability).toBeGreaterThan(THRESHOLD);
      expect(s.malicious!.indicators.join('\n')).toMatch(
        /stamped before fractions that still used an older version/,
      );
      expect(triaged(s.malicious)).toMatchObject({ escalated: true, band: 'critical' });
    }
    // The patient's other fields, delivered while the patient was suspected, stay in their own band.
    const suspectedFrom = Math.min(...attacked.map((s) => at(s.record)));
    const others = mine.filter(
      (s) => courseKeyOf(s.record) !== courseKeyOf(primary.record) && at(s.record) >= suspectedFrom,
    );
    expect(others.length).toBeGreaterThan(0);
    for (const s of others) {
      expect(s.malicious!.probability).toBeGreaterThan(THRESHOLD);
      expect(s.malicious!.ownEvidence).toBe(false);
      expect(triaged(s.malicious).escalated).toBe(false);
    }
  });
});
