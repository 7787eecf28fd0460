import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { type SqlType, type SqlValue, sqlColumn } from './sql-types';

/**
 * The Mosaiq tables Anomalia reads and writes, with the columns it uses. Names and SQL types are
 * those of a real Mosaiq (INFORMATION_SCHEMA, see types_map.toml); Dose_Hst and Offset are not in
 * that map, so their columns follow pymedphys' mock generator and session queries. Every column
 * but the primary key is nullable, as in Mosaiq. Other columns of a row may be present and are
 * passed through untouched.
 */
export const MOSAIQ_TABLES = {
  TrackTreatment: {
    primaryKey: 'TTX_ID',
    columns: {
      TTX_ID: 'int',
      Create_DtTm: 'datetime',
      Create_ID: 'int',
      Edit_DtTm: 'datetime',
      Edit_ID: 'int',
      Pat_ID1: 'int',
      FLD_ID: 'int',
      SIT_ID: 'int',
      Machine_ID_Staff_ID: 'int',
      Staff_ID: 'int',
      WasQAMode: 'bit',
      WasBeamEnabled: 'bit',
      WasBeamOn: 'bit',
      WasBeamComplete: 'bit',
      WasCanceled: 'bit',
      WasRecorded: 'bit',
      DHS_ID: 'int',
      WasResolved: 'bit',
      Resolved_DtTm: 'datetime',
    },
  },
  TxField: {
    primaryKey: 'FLD_ID',
    columns: {
      FLD_ID: 'int',
      FLD_SET_ID: 'int',
      Version: 'smallint',
      Pat_ID1: 'int',
      Create_DtTm: 'datetime',
      Create_ID: 'int',
      Edit_DtTm: 'datetime',
      Edit_ID: 'int',
      SIT_Set_ID: 'int',
      Field_Label: 'varchar',
      Field_Name: 'varchar',
      Machine_ID_Staff_ID: 'int',
      Type_Enum: 'tinyint',
      Modality_Enum: 'tinyint',
      ControlPoints: 'smallint',
      Meterset: 'decimal',
    },
  },
  TxFieldPoint: {
    primaryKey: 'TFP_ID',
    columns: {
      TFP_ID: 'int',
      FLD_ID: 'int',
      Create_DtTm: 'datetime',
      Edit_DtTm: 'datetime',
      Point: 'smallint',
      Index: 'decimal',
      MLC_Leaves: 'smallint',
      A_Leaf_Set: 'binary',
      B_Leaf_Set: 'binary',
      Gantry_Ang: 'decimal',
      Coll_Ang: 'decimal',
      Field_X: 'decimal',
      Coll_X1: 'decimal',
      Coll_X2: 'decimal',
      Field_Y: 'decimal',
      Coll_Y1: 'decimal',
      Coll_Y2: 'decimal',
      MLC_Type: 'smallint',
      Energy: 'smallint',
      Gantry_Dir_Enum: 'tinyint',
    },
  },
  Site: {
    primaryKey: 'SIT_ID',
    columns: {
      SIT_ID: 'int',
      SIT_SET_ID: 'int',
      Version: 'smallint',
      Pat_ID1: 'int',
      Create_DtTm: 'datetime',
      Edit_DtTm: 'datetime',
      Site_Name: 'varchar',
      Technique: 'varchar',
      Modality: 'varchar',
      Energy: 'smallint',
      Dose_Tx: 'decimal',
      Dose_Ttl: 'decimal',
      Fractions: 'smallint',
      Frac_Pattern: 'varchar',
    },
  },
  Patient: {
    primaryKey: 'Pat_ID1',
    columns: {
      Pat_ID1: 'int',
      Create_DtTm: 'datetime',
      Edit_DtTm: 'datetime',
      Birth_DtTm: 'datetime',
      Last_Name: 'varchar',
      First_Name: 'varchar',
    },
  },
  Ident: {
    primaryKey: 'IDENT_ID',
    columns: {
      IDENT_ID: 'int',
      Version: 'smallint',
      Create_DtTm: 'datetime',
      // Spelled Pat_Id1 in Ident (SQL Server's collation is case-insensitive; JavaScript is not).
      Pat_Id1: 'int',
      IDA: 'varchar',
    },
  },
  Staff: {
    primaryKey: 'Staff_ID',
    columns: {
      Staff_ID: 'int',
      Type: 'varchar',
      Category: 'int',
      // char: space-padded. A machine's name is REPLACE(Last_Name, ' ', '').
      Last_Name: 'char',
      First_Name: 'varchar',
      Machine_Type: 'tinyint',
      Status_inactive: 'bit',
    },
  },
  Dose_Hst: {
    primaryKey: 'DHS_ID',
    columns: {
      DHS_ID: 'int',
      Pat_ID1: 'int',
      SIT_ID: 'int',
      FLD_ID: 'int',
      Tx_DtTm: 'datetime',
    },
  },
  Offset: {
    primaryKey: 'OFF_ID',
    columns: {
      OFF_ID: 'int',
      SIT_SET_ID: 'int',
      Version: 'int',
      Study_DtTm: 'datetime',
      Offset_State: 'int',
      Offset_Type: 'int',
      Superior_Offset: 'decimal',
      Anterior_Offset: 'decimal',
      Lateral_Offset: 'decimal',
    },
  },
} as const satisfies Record<string, { primaryKey: string; columns: Record<string, SqlType> }>;

export type TableName = keyof typeof MOSAIQ_TABLES;
export const TABLE_NAMES = Object.keys(MOSAIQ_TABLES) as TableName[];

type Spec<T extends TableName> = (typeof MOSAIQ_TABLES)[T];
export type ColumnName<T extends TableName> = keyof Spec<T>['columns'] & string;
export type PrimaryKeyOf<T extends TableName> = Spec<T>['primaryKey'];

/** A row of table T: the primary key is never null, every other used column may be. */
export type Row<T extends TableName> = {
  [C in ColumnName<T>]: C extends PrimaryKeyOf<T>
    ? SqlValue<Spec<T>['columns'][C]>
    : SqlValue<Spec<T>['columns'][C]> | null;
};

export type TrackTreatmentRow = Row<'TrackTreatment'>;
export type TxFieldRow = Row<'TxField'>;
export type TxFieldPointRow = Row<'TxFieldPoint'>;
export type SiteRow = Row<'Site'>;
export type PatientRow = Row<'Patient'>;
export type IdentRow = Row<'Ident'>;
export type StaffRow = Row<'Staff'>;
export type DoseHstRow = Row<'Dose_Hst'>;
export type OffsetRow = Row<'Offset'>;

/** Every table's rows, e.g. the output of the synthetic clinic or a batch read by an adapter. */
export type TableRows = { [T in TableName]: Row<T>[] };

export function emptyTableRows(): TableRows {
  return {
    TrackTreatment: [],
    TxField: [],
    TxFieldPoint: [],
    Site: [],
    Patient: [],
    Ident: [],
    Staff: [],
    Dose_Hst: [],
    Offset: [],
  };
}

/** The SQL type of a used column, or undefined for a column Anomalia does not use. */
export function columnType(table: TableName, column: string): SqlType | undefined {
  return (MOSAIQ_TABLES[table].columns as Record<string, SqlType>)[column];
}

/** References between the tables (the joins a TreatmentRecord is assembled from). */
export const FOREIGN_KEYS = [
  { from: 'TrackTreatment', column: 'Pat_ID1', to: 'Patient', toColumn: 'Pat_ID1' },
  { from: 'TrackTreatment', column: 'FLD_ID', to: 'TxField', toColumn: 'FLD_ID' },
  { from: 'TrackTreatment', column: 'SIT_ID', to: 'Site', toColumn: 'SIT_ID' },
  { from: 'TrackTreatment', column: 'Machine_ID_Staff_ID', to: 'Staff', toColumn: 'Staff_ID' },
  { from: 'TrackTreatment', column: 'DHS_ID', to: 'Dose_Hst', toColumn: 'DHS_ID' },
  { from: 'TxField', column: 'Pat_ID1', to: 'Patient', toColumn: 'Pat_ID1' },
  { from: 'TxField', column: 'SIT_Set_ID', to: 'Site', toColumn: 'SIT_SET_ID' },
  { from: 'TxFieldPoint', column: 'FLD_ID', to: 'TxField', toColumn: 'FLD_ID' },
  { from: 'Site', column: 'Pat_ID1', to: 'Patient', toColumn: 'Pat_ID1' },
  { from: 'Ident', column: 'Pat_Id1', to: 'Patient', toColumn: 'Pat_ID1' },
  { from: 'Dose_Hst', column: 'Pat_ID1', to: 'Patient', toColumn: 'Pat_ID1' },
  { from: 'Dose_Hst', column: 'FLD_ID', to: 'TxField', toColumn: 'FLD_ID' },
  { from: 'Dose_Hst', column: 'SIT_ID', to: 'Site', toColumn: 'SIT_ID' },
  { from: 'Offset', column: 'SIT_SET_ID', to: 'Site', toColumn: 'SIT_SET_ID' },
] as const;

function buildSchema(table: TableName) {
  const { primaryKey, columns } = MOSAIQ_TABLES[table];
  const shape: Record<string, z.ZodType> = {};
  for (const [name, type] of Object.entries(columns) as [string, SqlType][]) {
    const codec = sqlColumn[type];
    shape[name] = name === primaryKey ? codec : codec.nullable();
  }
  return z.looseObject(shape);
}

/**
 * Zod schemas of the rows (loose: unknown columns pass through). Input may use driver or CSV
 * representations (0/1 bits, numeric strings, ISO datetimes, Buffers); output is a `Row<T>`.
 */
export const rowSchemas = Object.fromEntries(TABLE_NAMES.map((t) => [t, buildSchema(t)])) as unknown as {
  [T in TableName]: z.ZodType<Row<T> & Record<string, unknown>>;
};

/** Validates one row; a bad column is a ValidationError naming `Table.Column` (and the row). */
export function parseRow<T extends TableName>(table: T, input: unknown, where?: string): Row<T> {
  return parseWith(rowSchemas[table], input, `${where ? `${where}: ` : ''}${table}`) as Row<T>;
}

/** The machine name Mosaiq shows for a Staff row (char columns are space-padded). */
export function machineName(staff: Pick<StaffRow, 'Last_Name'>): string {
  return (staff.Last_Name ?? '').replace(/ /g, '');
}
