import { applyChanges, assembleRecords, type InsertChange } from '@anomalia/mosaiq';
import { describe, expect, it } from 'vitest';
import { failureCatalogue } from '../catalogue';
import { createKeyAllocator } from '../keys';
import { COHORT } from '../test-support/harness';

const dup = failureCatalogue.mode('duplicate_treatments');
const [target] = dup.targets(COHORT, 'different_field');
const maxTtx = Math.max(...COHORT.rows.TrackTreatment.map((t) => t.TTX_ID));

describe('duplicate_treatments', () => {
  it('inserts a copy with a fresh TTX_ID, shifted in time, sharing the Dose_Hst row', () => {
    const app = dup.apply({ variant: 'same_field', target: target!, cohort: COHORT, rng: 1 });
    const [c] = app.changes as InsertChange[];
    expect(c!.kind).toBe('insert');
    expect(c!.key).toBe(maxTtx + 1);
    expect(app.primaryTtxId).toBe(maxTtx + 1);
    const tt = target!.treatment;
    expect(c!.row.Create_DtTm).toEqual(new Date(tt.Create_DtTm!.getTime() + 5000));
    expect(c!.row.Edit_DtTm).toEqual(new Date(tt.Edit_DtTm!.getTime() + 5000));
    expect(c!.row).toMatchObject({
      FLD_ID: tt.FLD_ID,
      Pat_ID1: tt.Pat_ID1,
      DHS_ID: tt.DHS_ID,
      WasBeamComplete: true,
    });
    expect(app.contextTtxIds).toContain(tt.TTX_ID);
    expect(app.affectedTtxIds).toEqual([maxTtx + 1]);
  });

  it('different_field names another field of the same patient, never FLD_ID + 1 blindly', () => {
    const app = dup.apply({ variant: 'different_field', target: target!, cohort: COHORT, rng: 1 });
    const row = (app.changes[0] as InsertChange).row;
    const patientFields = COHORT.fieldsOfPatient(target!.treatment.Pat_ID1!).map((f) => f.FLD_ID);
    expect(row.FLD_ID).not.toBe(target!.treatment.FLD_ID);
    expect(patientFields).toContain(row.FLD_ID);
    const rebuilt = assembleRecords(applyChanges(COHORT.rows, app.changes));
    expect(rebuilt.find((r) => r.treatment.TTX_ID === app.primaryTtxId)!.field!.Pat_ID1).toBe(
      target!.treatment.Pat_ID1,
    );
    expect(
      dup.check({
        variant: 'different_field',
        target: target!,
        cohort: COHORT,
        params: { otherFieldId: -5 },
      }),
    ).toMatch(/not another field/);
  });

  it('takes keys from a shared allocator, so two duplicates never collide with each other or the database', () => {
    const keys = createKeyAllocator({ rows: COHORT.rows, floor: { TrackTreatment: 10_000_000 } });
    const a = dup.apply({ variant: 'same_field', target: target!, cohort: COHORT, rng: 1, keys });
    const b = dup.apply({ variant: 'same_field', target: target!, cohort: COHORT, rng: 1, keys });
    expect([a.primaryTtxId, b.primaryTtxId]).toEqual([10_000_001, 10_000_002]);
  });

  it('only duplicates completed clinical deliveries', () => {
    const cancelled = COHORT.records.find((r) => r.treatment.WasBeamComplete === false)!;
    expect(dup.check({ variant: 'same_field', target: cancelled, cohort: COHORT })).toMatch(
      /not a completed/,
    );
  });
});
