import { ValidationError } from '@anomalia/core';
import { applyChanges, type Change, recordsToRows } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { createCohort } from './cohort';
import { impactOf } from './impact';
import { COHORT } from './test-support/harness';

describe('createCohort', () => {
  it('builds from records or from rows, with the same indexes', () => {
    const fromRows = createCohort(recordsToRows(COHORT.records));
    expect(fromRows.records.map((r) => r.treatment.TTX_ID)).toEqual(
      COHORT.records.map((r) => r.treatment.TTX_ID),
    );
    const r = COHORT.records.find((x) => x.controlPoints.length > 3)!;
    expect(fromRows.pointsOfField(r.treatment.FLD_ID!).map((p) => p.TFP_ID)).toEqual(
      r.controlPoints.map((p) => p.TFP_ID),
    );
    expect(COHORT.record(r.treatment.TTX_ID)).toBe(r);
    expect(COHORT.row('TxField', r.treatment.FLD_ID!)).toBe(r.field);
    expect(COHORT.treatmentsOf('FLD_ID', r.treatment.FLD_ID!)).toContain(r.treatment);
    expect(COHORT.fieldsOfPatient(r.treatment.Pat_ID1!)).toContain(r.field);
    const set = r.site!.SIT_SET_ID!;
    expect(COHORT.treatmentsOfSiteSet(set)).toContain(r.treatment);
    expect(COHORT.latestTimestamp!.getTime()).toBeGreaterThanOrEqual(r.treatment.Create_DtTm!.getTime());
  });

  it('names bad input', () => {
    expect(() => createCohort([{} as never])).toThrow(ValidationError);
    expect(() => createCohort([{} as never])).toThrow(/records\[0\]/);
    expect(() => createCohort({ TrackTreatment: [] } as never)).toThrow(/rows\.TxField/);
    expect(() => createCohort(42 as never)).toThrow(/cohort/);
  });
});

describe('impactOf', () => {
  it('finds the records behind a shared offset, and only those whose data changes', () => {
    const r = COHORT.records.find(
      (x) => x.offset && COHORT.treatmentsOfSiteSet(x.site!.SIT_SET_ID!).length > 3,
    )!;
    const change: Change = {
      kind: 'update',
      table: 'Offset',
      key: r.offset!.OFF_ID,
      column: 'Superior_Offset',
      oldValue: r.offset!.Superior_Offset,
      newValue: 42,
    };
    const impact = impactOf(COHORT, [change]);
    const expected = COHORT.records
      .filter((x) => x.offset === r.offset || x.sessionOffsets.includes(r.offset!))
      .map((x) => x.treatment.TTX_ID)
      .sort((a, b) => a - b);
    expect(impact.affectedTtxIds).toEqual(expected);
    expect(expected.length).toBeGreaterThan(1);
  });

  it('reports inserted and deleted treatments', () => {
    const cohort = createCohort([exampleRecord()]);
    const tt = cohort.records[0]!.treatment;
    const insert: Change = { kind: 'insert', table: 'TrackTreatment', key: 2, row: { ...tt, TTX_ID: 2 } };
    expect(impactOf(cohort, [insert]).affectedTtxIds).toEqual([2]);
    const del: Change = { kind: 'delete', table: 'TrackTreatment', key: 1, row: { ...tt } };
    expect(impactOf(cohort, [del]).removedTtxIds).toEqual([1]);
    expect(() => applyChanges(cohort.rows, [del])).not.toThrow();
  });

  it('names a change whose row is not in the cohort', () => {
    const cohort = createCohort([exampleRecord()]);
    const change: Change = {
      kind: 'update',
      table: 'TxField',
      key: 999,
      column: 'Meterset',
      oldValue: 1,
      newValue: 2,
    };
    expect(() => impactOf(cohort, [change])).toThrow(/changes\[0\]\.key/);
  });
});
