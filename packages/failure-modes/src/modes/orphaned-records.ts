import { ValidationError } from '@anomalia/core';
import type { TableName, TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { updateCell } from '../change-builders';
import { defineVariant } from '../failure-mode';
import { defineMosaiqMode } from './shared';

const orphanParams = z.strictObject({
  invalidValue: z
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .describe('the dangling id (default: a fresh key above every known one, from the key allocator)'),
});

type Reference = {
  column: 'Pat_ID1' | 'FLD_ID' | 'SIT_ID';
  table: TableName;
  joined: (r: TreatmentRecord) => object | null;
};

function orphanVariant(ref: Reference, features: readonly string[], why: string) {
  return defineVariant({
    description: `TrackTreatment.${ref.column} set to an id that no ${ref.table} row has (${why}); the id is taken from the key allocator, so it dangles for real and no later insert of the plan reuses it.`,
    writes: [`TrackTreatment.${ref.column}`],
    features,
    params: orphanParams,
    check: (t) =>
      ref.joined(t) === null ? `TrackTreatment.${ref.column} does not refer to a ${ref.table} row` : null,
    apply({ target, params, keys }) {
      let id: number;
      if (params.invalidValue === undefined) {
        id = keys.allocate(ref.table);
      } else {
        if (!keys.isFree(ref.table, params.invalidValue)) {
          throw new ValidationError(
            'params.invalidValue',
            `an id that certainly no ${ref.table} row has (above every known ${ref.table} key, not used by this plan)`,
            params.invalidValue,
          );
        }
        keys.claim(ref.table, params.invalidValue);
        id = params.invalidValue;
      }
      const tt = target.treatment;
      return {
        changes: [updateCell('TrackTreatment', tt, ref.column, id)!],
        summary: `TrackTreatment ${tt.TTX_ID}: ${ref.column} ${tt[ref.column]} → ${id} (no such ${ref.table})`,
      };
    },
  });
}

export const orphanedRecords = defineMosaiqMode({
  id: 'orphaned_records',
  kind: 'accidental',
  scope: 'record',
  description:
    'A treatment whose patient, field or site reference dangles: the foreign key names a row that does not exist.',
  variants: {
    patient_id: orphanVariant(
      { column: 'Pat_ID1', table: 'Patient', joined: (r) => r.patient },
      ['patient_exists'],
      'treatment of an unknown patient',
    ),
    field_id: orphanVariant(
      { column: 'FLD_ID', table: 'TxField', joined: (r) => r.field },
      ['field_exists', 'cp_count'],
      'treatment plan reference invalid',
    ),
    site_id: orphanVariant(
      { column: 'SIT_ID', table: 'Site', joined: (r) => r.site },
      ['site_exists'],
      'treatment site reference invalid',
    ),
  },
});
