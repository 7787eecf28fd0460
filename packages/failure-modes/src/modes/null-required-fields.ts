import { MOSAIQ_TABLES, type TableName, type TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant, noParams } from '../failure-mode';
import { defineMosaiqMode } from './shared';

type Nullable = { table: TableName; column: string };

/** The row of `table` that the target's `column` lives in: the treatment, its field, first control point or offset. */
function rowFor(target: TreatmentRecord, cohort: Cohort, table: OtherTable): Record<string, unknown> | null {
  switch (table) {
    case 'TrackTreatment':
      return target.treatment;
    case 'TxField':
      return target.field;
    case 'TxFieldPoint':
      return target.treatment.FLD_ID === null
        ? null
        : (cohort.pointsOfField(target.treatment.FLD_ID)[0] ?? null);
    case 'Offset':
      return target.offset;
  }
}

function nullCheck({ table, column }: Nullable, target: TreatmentRecord, cohort: Cohort): string | null {
  const row = rowFor(target, cohort, table as OtherTable);
  if (!row) return `the treatment has no ${table} row`;
  if (row[column] === null || row[column] === undefined) return `${table}.${column} is already NULL`;
  return null;
}

function nullify(target: TreatmentRecord, cohort: Cohort, { table, column }: Nullable) {
  const row = rowFor(target, cohort, table as OtherTable)!;
  const pk = MOSAIQ_TABLES[table].primaryKey;
  return {
    changes: [updateCell(table, row, column, null)!],
    summary: `${table} ${row[pk]}: ${column} = NULL`,
  };
}

function nullVariant(column: string, features: readonly string[], why: string) {
  const spec: Nullable = { table: 'TrackTreatment', column };
  return defineVariant({
    description: `TrackTreatment.${column} set to NULL (${why}).`,
    writes: [`TrackTreatment.${column}`],
    features,
    params: noParams,
    check: (t, cohort) => nullCheck(spec, t, cohort),
    apply: ({ target, cohort }) => nullify(target, cohort, spec),
  });
}

const OTHER_TABLES = ['TrackTreatment', 'TxField', 'TxFieldPoint', 'Offset'] as const;
type OtherTable = (typeof OTHER_TABLES)[number];
/** Columns with a variant of their own. */
const DEDICATED = new Set([
  'TrackTreatment.Pat_ID1',
  'TrackTreatment.FLD_ID',
  'TrackTreatment.Create_DtTm',
  'TrackTreatment.Edit_DtTm',
]);

const otherParams = z
  .strictObject({
    table: z
      .enum(OTHER_TABLES)
      .default('TrackTreatment')
      .describe("table of the column (the original tool's `table`)"),
    column: z
      .string()
      .default('SIT_ID')
      .describe("column to set to NULL (the original tool's `field_to_nullify`)"),
  })
  .superRefine((p, ctx) => {
    const columns = Object.keys(MOSAIQ_TABLES[p.table].columns);
    const pk = MOSAIQ_TABLES[p.table].primaryKey;
    const allowed = columns.filter((c) => c !== pk && !DEDICATED.has(`${p.table}.${c}`));
    if (!allowed.includes(p.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['column'],
        message: DEDICATED.has(`${p.table}.${p.column}`)
          ? `a column without a variant of its own (use variant ${p.column === 'Pat_ID1' ? 'pat_id' : p.column === 'FLD_ID' ? 'fld_id' : 'timestamp'} for ${p.table}.${p.column})`
          : `a nullable column of ${p.table}: ${allowed.join(', ')}`,
        input: p.column,
      });
    }
  });

export const nullRequiredFields = defineMosaiqMode({
  id: 'null_required_fields',
  kind: 'accidental',
  scope: 'record',
  description:
    'Required columns set to NULL: the patient or field reference of a treatment, its timestamps, or another column (site reference by default).',
  variants: {
    pat_id: nullVariant('Pat_ID1', ['pat_id_null', 'patient_exists'], 'patient identification lost'),
    fld_id: nullVariant(
      'FLD_ID',
      ['fld_id_null', 'field_exists', 'cp_count'],
      'treatment plan reference lost',
    ),
    timestamp: defineVariant({
      description:
        'TrackTreatment.Create_DtTm (or Edit_DtTm) set to NULL: the temporal reference is lost; durations and the dose-time check can no longer be computed.',
      writes: ['TrackTreatment.Create_DtTm', 'TrackTreatment.Edit_DtTm'],
      features: ['duration_seconds'],
      params: z.strictObject({
        column: z
          .enum(['Create_DtTm', 'Edit_DtTm'])
          .default('Create_DtTm')
          .describe('timestamp to set to NULL'),
      }),
      check: (t, cohort, p) => nullCheck({ table: 'TrackTreatment', column: p.column }, t, cohort),
      apply: ({ target, cohort, params }) =>
        nullify(target, cohort, { table: 'TrackTreatment', column: params.column }),
    }),
    other: defineVariant({
      description:
        "Any other column set to NULL (`table`, `column`; default TrackTreatment.SIT_ID, the site reference). TxField, TxFieldPoint (first point) and Offset (the treatment's offset) columns are shared with other treatments.",
      writes: ['TrackTreatment.SIT_ID'],
      features: ['sit_id_null', 'site_exists'],
      params: otherParams,
      check: (t, cohort, p) => nullCheck(p, t, cohort),
      apply: ({ target, cohort, params }) => nullify(target, cohort, params),
    }),
  },
});
