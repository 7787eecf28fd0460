import { applyChanges, assembleRecords, invertChanges, type TreatmentRecord } from '@anomalia/mosaiq';
import { mosaiqScale } from '@anomalia/severity/mosaiq';
import { describe, expect, it } from 'vitest';
import { planCorruption } from './plan';
import { changesText, fingerprint, LONG, longCohortUntouched } from './test-support/course-harness';
import { sameRows } from './test-support/harness';

const eligible = (r: TreatmentRecord) =>
  r.treatment.WasBeamComplete === true && r.treatment.WasQAMode !== true;
const valuesOf = fingerprint;

describe('planCorruption with the malicious modes', () => {
  // Half the examples malicious: 30 asked of 40 pairs, in a clinic of 29 patients; a malicious
  // application takes a whole course (a patient, or a field for field-level modes).
  const plan = planCorruption({
    cohort: LONG,
    n: 60,
    seed: 2,
    eligible,
    mix: { normal: 0.5, critical_malicious: 0.5 },
  });
  const malicious = plan.applications.filter((a) => a.kind === 'malicious');

  it('draws malicious applications at cohort level into the critical_malicious stratum', () => {
    const stratum = plan.strata.find((s) => s.stratum === 'critical_malicious')!;
    expect(stratum.requested).toBe(30);
    expect(stratum.planned).toBe(30);
    expect(malicious).toHaveLength(30);
    expect(plan.shortfall).toEqual([]);
    // Interleaved by mode while courses are scarce: every mode is represented.
    expect(new Set(malicious.map((a) => a.mode)).size).toBe(10);
    expect(new Set(malicious.map((a) => `${a.mode}/${a.variant}`)).size).toBeGreaterThanOrEqual(20);
    // A patient-level attack takes the patient; field-level ones share a patient on different fields.
    const patientLevel = malicious.filter((a) => a.scope !== 'field');
    const patients = patientLevel.map((a) => LONG.record(a.primaryTtxId)!.treatment.Pat_ID1);
    expect(new Set(patients).size).toBe(patients.length);
    for (const e of plan.examples.filter((x) => x.stratum === 'critical_malicious')) {
      expect(e.kind).toBe('malicious');
      expect(e.severity).toBe(mosaiqScale.severity(e.mode!, e.variant!));
      expect(e.band).toBe('critical');
      expect(eligible(LONG.record(e.ttxId)!)).toBe(true);
    }
    expect(longCohortUntouched()).toBe(true);
  });

  it('labels every changed record with its variant severity, exactly, and the changes undo', () => {
    const rows = applyChanges(LONG.rows, plan.changes);
    const after = new Map(assembleRecords(rows).map((r) => [r.treatment.TTX_ID, r]));
    const labels = new Map(plan.labels.map((l) => [l.ttxId, l]));
    expect(labels.size).toBe(plan.labels.length);
    let changedCount = 0;
    for (const r of LONG.records) {
      const a = after.get(r.treatment.TTX_ID);
      if (!a) continue; // deleted by log_deletion: gone from the sandbox, never an example
      if (valuesOf(a) !== valuesOf(r)) {
        changedCount++;
        const label = labels.get(r.treatment.TTX_ID);
        expect(label, `record ${r.treatment.TTX_ID} changed without a label`).toBeDefined();
        expect(label!.severity).toBe(mosaiqScale.severity(label!.mode, label!.variant));
      } else {
        expect(labels.has(r.treatment.TTX_ID), `record ${r.treatment.TTX_ID} labelled but unchanged`).toBe(
          false,
        );
      }
    }
    expect(changedCount).toBe(plan.labels.length);
    // Every fraction of an attacked course that was changed carries the label of its application.
    for (const [i, app] of plan.applications.entries()) {
      for (const id of app.affectedTtxIds)
        expect(labels.get(id)).toMatchObject({ application: i, variant: app.variant });
    }
    for (const e of plan.examples) {
      if (e.mode !== null) continue;
      expect(valuesOf(after.get(e.ttxId)!)).toBe(valuesOf(LONG.record(e.ttxId)!));
    }
    expect(sameRows(applyChanges(rows, invertChanges(plan.changes)), LONG.rows)).toBe(true);
  });

  it('is deterministic and never lets two applications touch one record or row', () => {
    const again = planCorruption({
      cohort: LONG,
      n: 60,
      seed: 2,
      eligible,
      mix: { normal: 0.5, critical_malicious: 0.5 },
    });
    expect(changesText(again.changes)).toBe(changesText(plan.changes));
    expect(again.labels).toEqual(plan.labels);
    const rows = plan.applications.flatMap((a) => [...new Set(a.changes.map((c) => `${c.table}:${c.key}`))]);
    expect(new Set(rows).size).toBe(rows.length);
    const touched = plan.applications.flatMap((a) => [...a.affectedTtxIds, ...a.contextTtxIds]);
    expect(new Set(touched).size).toBe(touched.length);
  });

  it('mixes with the accidental modes under the default mix', () => {
    const mixed = planCorruption({ cohort: LONG, n: 300, seed: 5, eligible });
    expect(mixed.droppedStrata).toEqual([]);
    const s = mixed.strata.find((x) => x.stratum === 'critical_malicious')!;
    expect(s.requested).toBe(15);
    // Malicious applications are placed before the accidental ones take records of their courses.
    expect(s.planned).toBeGreaterThanOrEqual(12);
    expect(mixed.examples.some((e) => e.kind === 'accidental')).toBe(true);
    expect(() => applyChanges(LONG.rows, mixed.changes)).not.toThrow();
  });
});
