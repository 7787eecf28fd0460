import { createCohort } from '@anomalia/failure-modes';
import type { Change } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { treatmentsWithOwnRowsChanged } from './monitor-view';

const records = generateRecords({ seed: 5, records: 1500 });
const cohort = createCohort(records);

describe('treatmentsWithOwnRowsChanged', () => {
  it('names the treatments whose TrackTreatment, Dose_Hst or session Offset row a change writes', () => {
    const withDose = records.find((r) => r.treatment.DHS_ID !== null && r.doseHistory)!;
    const withOffset = records.find((r) => r.offset && r.treatment.TTX_ID !== withDose.treatment.TTX_ID)!;
    const tracked = records.find(
      (r) =>
        r.treatment.TTX_ID !== withDose.treatment.TTX_ID &&
        r.treatment.TTX_ID !== withOffset.treatment.TTX_ID,
    )!;
    const changes: Change[] = [
      {
        kind: 'update',
        table: 'TrackTreatment',
        key: tracked.treatment.TTX_ID,
        column: 'Edit_DtTm',
        oldValue: tracked.treatment.Edit_DtTm,
        newValue: new Date(0),
      },
      {
        kind: 'update',
        table: 'Dose_Hst',
        key: withDose.treatment.DHS_ID!,
        column: 'Tx_DtTm',
        oldValue: withDose.doseHistory!.Tx_DtTm,
        newValue: new Date(0),
      },
      {
        kind: 'update',
        table: 'Offset',
        key: withOffset.offset!.OFF_ID,
        column: 'Superior_Offset',
        oldValue: withOffset.offset!.Superior_Offset,
        newValue: 9,
      },
      // A row every fraction of the field shares: no treatment's own row.
      {
        kind: 'update',
        table: 'TxField',
        key: tracked.field!.FLD_ID,
        column: 'Meterset',
        oldValue: tracked.field!.Meterset,
        newValue: 1,
      },
    ];
    const expected = new Set<number>([tracked.treatment.TTX_ID]);
    for (const r of records) {
      if (r.treatment.DHS_ID === withDose.treatment.DHS_ID) expected.add(r.treatment.TTX_ID);
      if (r.offset?.OFF_ID === withOffset.offset!.OFF_ID) expected.add(r.treatment.TTX_ID);
    }
    const own = treatmentsWithOwnRowsChanged(cohort, changes);
    expect([...own].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    expect(own.has(withOffset.treatment.TTX_ID)).toBe(true);
    expect(own.has(withDose.treatment.TTX_ID)).toBe(true);
    // The field's other fractions are not named by the TxField change alone.
    const sibling = records.find(
      (r) => r.treatment.FLD_ID === tracked.treatment.FLD_ID && !expected.has(r.treatment.TTX_ID),
    );
    expect(sibling).toBeDefined();
    expect(own.has(sibling!.treatment.TTX_ID)).toBe(false);
    expect(treatmentsWithOwnRowsChanged(cohort, changes.slice(3)).size).toBe(0);
  });
});
