import { loadClinic, tempDir } from '@anomalia/db-sqlite/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFloor, listAllTreatments, loadPatientCohort, loadRecentCohort, scopeOf } from './cohort';
import { openSource, resolveSource } from './sources/registry';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 8, records: 1200 });
const DAY = 86_400_000;

describe('cohorts from a source', () => {
  it('lists every treatment and loads the last days before the latest one', async () => {
    const source = await openSource(resolveSource(clinic.path));
    try {
      const all = await listAllTreatments(source.reader);
      const dated = clinic.records.filter((r) => r.treatment.Create_DtTm !== null);
      expect(all.map((s) => s.TTX_ID).sort((a, b) => a - b)).toEqual(
        dated.map((r) => r.treatment.TTX_ID).sort((a, b) => a - b),
      );
      const steps: number[] = [];
      const recent = await loadRecentCohort(source.reader, 10, {
        stage() {},
        info() {},
        step: (_name, done) => steps.push(done),
      });
      const latest = Math.max(...dated.map((r) => r.treatment.Create_DtTm!.getTime()));
      expect(recent!.latest.getTime()).toBe(latest);
      expect(recent!.window.from.getTime()).toBe(latest - 10 * DAY);
      const expected = dated
        .filter((r) => r.treatment.Create_DtTm!.getTime() >= latest - 10 * DAY)
        .map((r) => r.treatment.TTX_ID);
      expect(recent!.records.map((r) => r.treatment.TTX_ID).sort((a, b) => a - b)).toEqual(
        expected.sort((a, b) => a - b),
      );
      expect(steps.at(-1)).toBe(expected.length);
    } finally {
      await source.close();
    }
  });

  it("loads a target's whole patient and the database's key ceilings", async () => {
    const source = await openSource(resolveSource(clinic.path));
    try {
      const target = clinic.records.find((r) => r.treatment.Pat_ID1 !== null)!;
      const cohort = await loadPatientCohort(source.reader, scopeOf(target.treatment));
      const patient = clinic.records.filter(
        (r) => r.treatment.Pat_ID1 === target.treatment.Pat_ID1 && r.treatment.Create_DtTm !== null,
      );
      expect(cohort.records.length).toBeGreaterThanOrEqual(patient.length);
      expect(cohort.record(target.treatment.TTX_ID)).toBeDefined();
      for (const r of patient) expect(cohort.record(r.treatment.TTX_ID)).toBeDefined();
      expect(scopeOf({ TTX_ID: 1, Pat_ID1: null, FLD_ID: 7 }).key).toBe('field:7');

      const floor = await keyFloor(source.reader);
      expect(floor.TrackTreatment).toBe(Math.max(...clinic.rows.TrackTreatment.map((r) => r.TTX_ID)));
      expect(floor.TxFieldPoint).toBe(Math.max(...clinic.rows.TxFieldPoint.map((r) => r.TFP_ID)));
    } finally {
      await source.close();
    }
  });
});
