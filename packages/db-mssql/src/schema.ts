import { MOSAIQ_TABLES, type SqlType, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import type { MssqlClient, RequestOptions } from './client';
import {
  COMPATIBLE,
  type DeclaredColumn,
  declaration,
  ROW_VERSION_COLUMN,
  ROW_VERSIONED_TABLES,
  SANDBOX_COLUMNS,
} from './column-types';
import { columnProbeStatement, objectIdsStatement } from './read-queries';
import { qualified, quoteName, type Statement } from './statement';

/** Anomalia's own tables in a sandbox live in this schema. */
export const ANOMALIA_SCHEMA = 'anomalia';

/** The declared columns of each Mosaiq table, as a database reports them (extra columns included). */
export type TableColumns = Record<TableName, DeclaredColumn[]>;

/** A database without the Mosaiq tables and columns this package reads and writes. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly database: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${database}: not a Mosaiq database of @anomalia/db-mssql: ${problems.slice(0, 5).join('; ')}${
        problems.length > 5 ? `; and ${problems.length - 5} more` : ''
      }`,
    );
  }
}

/** Which of these tables exist (one request). */
export async function existingTables(
  client: MssqlClient,
  tables: readonly { schema: string; table: string }[],
  options: RequestOptions = {},
): Promise<boolean[]> {
  const { sets } = await client.query(objectIdsStatement(tables), options);
  const row = sets[0]?.rows[0] ?? [];
  return tables.map((_, i) => row[i] !== null && row[i] !== undefined);
}

/**
 * The declared columns of the nine Mosaiq tables, or a SchemaError listing every missing table,
 * missing column and column of an incompatible type (two requests: which tables exist, then an
 * empty SELECT of each, whose metadata carries the types).
 */
export async function probeMosaiqSchema(
  client: MssqlClient,
  schema: string,
  options: RequestOptions = {},
): Promise<TableColumns> {
  const names = TABLE_NAMES.map((table) => ({ schema, table }));
  const exists = await existingTables(client, names, options);
  const problems: string[] = [];
  TABLE_NAMES.forEach((t, i) => {
    if (!exists[i]) problems.push(`table ${schema}.${t} is missing`);
  });
  if (problems.length > 0) throw new SchemaError(client.label, problems);
  const { sets } = await client.query(columnProbeStatement(names), options);
  const out = {} as TableColumns;
  TABLE_NAMES.forEach((table, i) => {
    const columns = sets[i]?.columns ?? [];
    out[table] = columns;
    // SQL Server names are case-insensitive (Ident.Pat_Id1); the reader selects the spelling of MOSAIQ_TABLES.
    const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
    for (const [name, type] of Object.entries(MOSAIQ_TABLES[table].columns) as [string, SqlType][]) {
      const c = byName.get(name.toLowerCase());
      if (!c) problems.push(`${table}.${name} is missing`);
      else if (!COMPATIBLE[type].includes(c.type)) {
        problems.push(`${table}.${name} is ${declaration(c)}, expected ${COMPATIBLE[type].join(' or ')}`);
      }
    }
  });
  if (problems.length > 0) throw new SchemaError(client.label, problems);
  return out;
}

// ---------- the tables of a sandbox created from nothing ----------

/** Indexes for the reader and the change cursor (the names say what they serve). */
export const SANDBOX_INDEXES: readonly { name: string; table: TableName; columns: readonly string[] }[] = [
  { name: 'IX_TrackTreatment_Create', table: 'TrackTreatment', columns: ['Create_DtTm', 'TTX_ID'] },
  {
    name: 'IX_TrackTreatment_Machine',
    table: 'TrackTreatment',
    columns: ['Machine_ID_Staff_ID', 'Create_DtTm', 'TTX_ID'],
  },
  {
    name: 'IX_TrackTreatment_Patient',
    table: 'TrackTreatment',
    columns: ['Pat_ID1', 'Create_DtTm', 'TTX_ID'],
  },
  { name: 'IX_TrackTreatment_Field', table: 'TrackTreatment', columns: ['FLD_ID', 'Create_DtTm', 'TTX_ID'] },
  { name: 'IX_TrackTreatment_RowVers', table: 'TrackTreatment', columns: [ROW_VERSION_COLUMN] },
  { name: 'IX_TxFieldPoint_Field', table: 'TxFieldPoint', columns: ['FLD_ID'] },
  { name: 'IX_Ident_Patient', table: 'Ident', columns: ['Pat_Id1'] },
  { name: 'IX_Dose_Hst_Patient', table: 'Dose_Hst', columns: ['Pat_ID1', 'Tx_DtTm'] },
  { name: 'IX_Offset_SiteSet', table: 'Offset', columns: ['SIT_SET_ID'] },
];

/** `CREATE TABLE` of one Mosaiq table as `createSandbox` makes it (types of SANDBOX_COLUMNS, RowVers where Mosaiq has it). */
export function createMosaiqTableSql(schema: string, table: TableName): string {
  const pk = MOSAIQ_TABLES[table].primaryKey;
  const defs = Object.entries(SANDBOX_COLUMNS[table]).map(
    ([name, c]) => `  ${quoteName(name)} ${declaration(c)} ${name === pk ? 'NOT NULL' : 'NULL'}`,
  );
  if (ROW_VERSIONED_TABLES.includes(table))
    defs.push(`  ${quoteName(ROW_VERSION_COLUMN)} timestamp NOT NULL`);
  defs.push(`  CONSTRAINT ${quoteName(`PK_${table}`)} PRIMARY KEY (${quoteName(pk)})`);
  return `CREATE TABLE ${qualified(schema, table)} (\n${defs.join(',\n')}\n);`;
}

export function createIndexSql(schema: string, index: (typeof SANDBOX_INDEXES)[number]): string {
  return `CREATE INDEX ${quoteName(index.name)} ON ${qualified(schema, index.table)} (${index.columns.map(quoteName).join(', ')});`;
}

/** The nine tables and their indexes, one statement each (one request). */
export function createMosaiqSchemaStatement(schema: string): Statement {
  const parts = [
    ...TABLE_NAMES.map((t) => createMosaiqTableSql(schema, t)),
    ...SANDBOX_INDEXES.map((i) => createIndexSql(schema, i)),
  ];
  return { sql: parts.join('\n'), params: [] };
}
