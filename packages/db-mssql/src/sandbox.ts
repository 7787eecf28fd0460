import { ValidationError } from '@anomalia/core';
import { TABLE_NAMES, type TableName, type TableRows } from '@anomalia/mosaiq';
import { type ClinicOptionsInput, generateClinic } from '@anomalia/mosaiq/synthetic';
import { MssqlClient, type RequestOptions, type Transaction } from './client';
import { toDatetimeGrid } from './column-types';
import { type MssqlTargetInput, mssqlTarget } from './config';
import { loadRowsStatements } from './loader';
import {
  ANOMALIA_SCHEMA,
  createMosaiqSchemaStatement,
  existingTables,
  probeMosaiqSchema,
  type TableColumns,
} from './schema';
import {
  bookkeepingTablesSql,
  createSchemaStatement,
  insertMarkerStatement,
  markerInfoStatement,
  markerStatement,
  packWrites,
} from './write-queries';

export type SandboxOrigin = 'created' | 'marked';

export interface SandboxInfo {
  /** `host:port/database as user`. */
  target: string;
  origin: SandboxOrigin;
  markedAt: Date;
  source: string | null;
}

export interface SandboxOptions extends RequestOptions {
  env?: Readonly<Record<string, string | undefined>>;
  onQuery?: (sql: string) => void;
}

const BOOKKEEPING = ['Anomalia_Sandbox', 'Anomalia_Run', 'Anomalia_Ledger'].map((table) => ({
  schema: ANOMALIA_SCHEMA,
  table,
}));

function confirmed(options: { confirm?: unknown } | undefined): void {
  if (options?.confirm !== true) {
    throw new ValidationError(
      'options.confirm',
      'true (marking a database as a sandbox allows Anomalia to corrupt it on purpose)',
      options?.confirm,
    );
  }
}

async function withWriterClient<T>(
  input: MssqlTargetInput,
  options: SandboxOptions,
  f: (client: MssqlClient) => Promise<T>,
): Promise<T> {
  const target = mssqlTarget(input, { env: options.env });
  if (target.settings.applicationIntent === 'ReadOnly') {
    throw new ValidationError('mssql.applicationIntent', 'ReadWrite to create or mark a sandbox', 'ReadOnly');
  }
  const client = await MssqlClient.connect(target, { role: 'writer', onQuery: options.onQuery });
  try {
    return await f(client);
  } finally {
    await client.close();
  }
}

async function readInfo(client: MssqlClient, options: RequestOptions): Promise<SandboxInfo> {
  const { sets } = await client.query(markerInfoStatement(), options);
  const row = sets[0]?.rows[0];
  return {
    target: client.label,
    origin: (row?.[1] as SandboxOrigin | undefined) ?? 'marked',
    markedAt: (row?.[0] as Date | undefined) ?? new Date(0),
    source: (row?.[2] as string | null | undefined) ?? null,
  };
}

/** The anomalia schema, its three tables and the marker row, in one transaction (after CREATE SCHEMA, which must run alone). */
async function mark(
  client: MssqlClient,
  origin: SandboxOrigin,
  source: string | null,
  options: RequestOptions,
) {
  const { sets } = await client.query(
    { sql: `SELECT SCHEMA_ID(N'${ANOMALIA_SCHEMA}') AS [id];`, params: [] },
    options,
  );
  const schemaExists = sets[0]?.rows[0]?.[0] != null;
  if (!schemaExists) await client.query(createSchemaStatement(), options);
  await client.transaction(
    'read-committed',
    async (tx) => {
      for (const sql of bookkeepingTablesSql()) await tx.query({ sql, params: [] }, options);
      await tx.query(insertMarkerStatement(origin, toDatetimeGrid(new Date()), source), options);
    },
    options,
  );
}

/** True when the database holds the `anomalia.Anomalia_Sandbox` marker (read only). */
export async function isSandbox(input: MssqlTargetInput, options: SandboxOptions = {}): Promise<boolean> {
  const target = mssqlTarget(input, { env: options.env });
  const client = await MssqlClient.connect(target, { role: 'reader', onQuery: options.onQuery });
  try {
    const [marked] = await existingTables(client, [BOOKKEEPING[0]!], options);
    return marked!;
  } finally {
    await client.close();
  }
}

/** How a sandbox became one; a ValidationError when the database is not a sandbox. */
export async function sandboxInfo(
  input: MssqlTargetInput,
  options: SandboxOptions = {},
): Promise<SandboxInfo> {
  const target = mssqlTarget(input, { env: options.env });
  const client = await MssqlClient.connect(target, { role: 'reader', onQuery: options.onQuery });
  try {
    const [marked] = await existingTables(client, [BOOKKEEPING[0]!], options);
    if (!marked)
      throw new ValidationError(
        'mssql.database',
        'a sandbox database (it has no anomalia.Anomalia_Sandbox table)',
        target.settings.database,
      );
    return await readInfo(client, options);
  } finally {
    await client.close();
  }
}

/**
 * Marks an existing Mosaiq database (a restored copy of production, never production itself) as
 * a sandbox, so writers accept it: creates the `anomalia` schema with the marker, run and ledger
 * tables. Deliberate by design: `confirm: true` is required, the login needs CREATE SCHEMA and
 * CREATE TABLE (db_owner on the copy), and the database must have the Mosaiq tables. Marking a
 * sandbox again changes nothing.
 */
export async function markAsSandbox(
  input: MssqlTargetInput,
  options: SandboxOptions & { confirm: true },
): Promise<SandboxInfo> {
  confirmed(options);
  return withWriterClient(input, options, async (client) => {
    const [marked, runs, ledger] = await existingTables(client, BOOKKEEPING, options);
    if (marked && runs && ledger) return readInfo(client, options);
    if (marked || runs || ledger) {
      throw new ValidationError(
        'mssql.database',
        'a database with all or none of the anomalia tables (some are missing)',
        client.target.settings.database,
      );
    }
    await probeMosaiqSchema(client, client.target.settings.schema, options);
    await mark(client, 'marked', null, options);
    return readInfo(client, options);
  });
}

/**
 * Makes an empty database a Mosaiq-shaped sandbox: the nine tables (types of SANDBOX_COLUMNS,
 * RowVers rowversion where Mosaiq has one, the reader's indexes), marked, and, with `clinic`, a
 * synthetic clinic loaded in batches. Refuses a database that already has a Mosaiq table (use
 * `markAsSandbox` on a copy of Mosaiq). `confirm: true` is required.
 */
export async function createSandbox(
  input: MssqlTargetInput,
  options: SandboxOptions & { confirm: true; clinic?: ClinicOptionsInput; rows?: Partial<TableRows> },
): Promise<SandboxInfo & { loaded: Record<TableName, number> }> {
  confirmed(options);
  // Validates the clinic options before anything is created.
  const batches = options.clinic ? generateClinic(options.clinic) : null;
  const first = batches?.next();
  return withWriterClient(input, options, async (client) => {
    const schema = client.target.settings.schema;
    const exists = await existingTables(
      client,
      TABLE_NAMES.map((table) => ({ schema, table })),
      options,
    );
    const present = TABLE_NAMES.filter((_, i) => exists[i]);
    if (present.length > 0) {
      throw new ValidationError(
        'mssql.database',
        `an empty database (it has ${present.map((t) => `${schema}.${t}`).join(', ')}; to use a copy of Mosaiq, markAsSandbox it)`,
        client.target.settings.database,
      );
    }
    await client.transaction(
      'read-committed',
      (tx) => tx.query(createMosaiqSchemaStatement(schema), options).then(() => {}),
      options,
    );
    await mark(client, 'created', null, options);
    const columns = await probeMosaiqSchema(client, schema, options);
    const loaded = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
    const load = async (rows: Partial<TableRows>) => {
      await loadRows(client, schema, columns, rows, options);
      for (const t of TABLE_NAMES) loaded[t] += rows[t]?.length ?? 0;
    };
    if (options.rows) await load(options.rows);
    if (first && !first.done) {
      await load(first.value.rows);
      for (const batch of batches!) await load(batch.rows);
    }
    return { ...(await readInfo(client, options)), loaded };
  });
}

/** Inserts rows into a sandbox, one transaction per call (the marker is checked inside it first). */
export async function loadRows(
  client: MssqlClient,
  schema: string,
  columns: TableColumns,
  rows: Partial<TableRows>,
  options: RequestOptions = {},
): Promise<void> {
  const statements = loadRowsStatements(schema, columns, rows);
  if (statements.length === 0) return;
  await client.transaction(
    'read-committed',
    async (tx: Transaction) => {
      const { sets } = await tx.query(markerStatement(), options);
      if (sets[0]?.rows[0]?.[0] == null) {
        throw new ValidationError(
          'mssql.database',
          'a sandbox (rows are only ever loaded into a marked database)',
          client.target.settings.database,
        );
      }
      for (const { statement } of packWrites(statements)) await tx.query(statement, options);
    },
    options,
  );
}
