import { createHash, type Hash } from 'node:crypto';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import { MssqlClient, type RequestOptions } from './client';
import type { DeclaredColumn } from './column-types';
import { type MssqlTargetInput, mssqlTarget } from './config';
import { probeMosaiqSchema, type TableColumns } from './schema';
import { INT, Params, qualified, quoteName, type Statement } from './statement';

export interface TableChecksums {
  /** SHA-256 (hex) over the per-table hashes, in table order. */
  total: string;
  /** SHA-256 (hex) of each table checksummed. */
  tables: Partial<Record<TableName, string>>;
}

const PAGE = 10_000;

function pageStatement(
  schema: string,
  table: TableName,
  columns: readonly DeclaredColumn[],
  after: number | null,
): Statement {
  const params = new Params();
  const pk = quoteName(MOSAIQ_TABLES[table].primaryKey);
  const where = after === null ? '' : ` WHERE ${pk} > ${params.add(INT, after)}`;
  return {
    sql: `SELECT TOP (${PAGE}) ${columns.map((c) => quoteName(c.name)).join(', ')} FROM ${qualified(schema, table)}${where} ORDER BY ${pk};`,
    params: params.list,
  };
}

/** Hashes a value tagged by its kind, so that no two different contents hash alike by accident. */
function feed(h: Hash, v: unknown): void {
  if (v === null || v === undefined) h.update('N');
  else if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = 0x52; // R
    b.writeDoubleLE(Object.is(v, -0) ? 0 : v, 1);
    h.update(b);
  } else if (typeof v === 'string') h.update(`T${Buffer.byteLength(v)}:`).update(v, 'utf8');
  else if (typeof v === 'boolean') h.update(v ? 'B1' : 'B0');
  else if (v instanceof Date) h.update(`D${v.getTime()};`);
  else if (v instanceof Uint8Array) h.update(`X${v.length}:`).update(v);
  else h.update(`O${JSON.stringify(v)};`);
}

/**
 * SHA-256 of some Mosaiq tables of a SQL Server database: each table's name, its column names,
 * then every row in primary-key order (read in keyset pages), each value tagged with its kind
 * (numbers as their 8 IEEE bytes, strings as UTF-8, datetimes as epoch milliseconds, bytes as
 * they are, NULL). Every column counts, the ones Anomalia does not use too, except read-only ones
 * (rowversion, computed): a rowversion changes with every write, so a run and its exact restore
 * leave it different.
 */
export async function checksumTables(
  client: MssqlClient,
  schema: string,
  columns: TableColumns,
  tables: readonly TableName[] = TABLE_NAMES,
  options: RequestOptions = {},
): Promise<TableChecksums> {
  const out: Partial<Record<TableName, string>> = {};
  const total = createHash('sha256');
  for (const table of TABLE_NAMES) {
    if (!tables.includes(table)) continue;
    const pk = MOSAIQ_TABLES[table].primaryKey;
    const cols = columns[table]
      .filter((c) => !c.readOnly)
      .sort((a, b) =>
        a.name.toLowerCase() === pk.toLowerCase() ? -1 : b.name.toLowerCase() === pk.toLowerCase() ? 1 : 0,
      );
    const h = createHash('sha256');
    h.update(`${table}\0${cols.map((c) => c.name).join('\0')}\n`);
    let after: number | null = null;
    for (;;) {
      const { sets } = await client.query(pageStatement(schema, table, cols, after), options);
      const rows = sets[0]?.rows ?? [];
      for (const row of rows) {
        for (const v of row) feed(h, v);
        h.update('\n');
      }
      if (rows.length < PAGE) break;
      after = Number(rows[rows.length - 1]![0]);
    }
    out[table] = h.digest('hex');
    total.update(`${table}:${out[table]}\n`);
  }
  return { total: total.digest('hex'), tables: out };
}

/**
 * `tableChecksum(target)`: the checksum of the Mosaiq tables of a database (all nine, or
 * `tables`), read through a reader connection. Equal before a run and after its restore.
 */
export async function tableChecksum(
  input: MssqlTargetInput,
  options: {
    tables?: readonly TableName[];
    env?: Readonly<Record<string, string | undefined>>;
  } & RequestOptions = {},
): Promise<TableChecksums> {
  const target = mssqlTarget(input, { env: options.env });
  const client = await MssqlClient.connect(target, { role: 'reader' });
  try {
    const columns = await probeMosaiqSchema(client, target.settings.schema, options);
    return await checksumTables(client, target.settings.schema, columns, options.tables, options);
  } finally {
    await client.close();
  }
}
