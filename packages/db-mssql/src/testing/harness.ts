import { MOSAIQ_TABLES, type TableName, type TableRows } from '@anomalia/mosaiq';
import {
  type AdapterDatabase,
  type AdapterHarness,
  storedRows,
  withoutNegativeZero,
} from '@anomalia/mosaiq/testing';
import { tableChecksum } from '../checksum';
import { MssqlClient } from '../client';
import { SANDBOX_COLUMNS, storedValue } from '../column-types';
import { mssqlTarget } from '../config';
import { openTreatmentReader } from '../reader';
import { createSandbox } from '../sandbox';
import { quoteName } from '../statement';
import type { TestSqlServer } from '../test-server/server';
import { openSandboxWriter } from '../writer';

/**
 * Where the kit's databases come from: the TDS test server, or a real SQL Server (`MSSQL_URL`).
 * `database(name)` gives the URL of a database of that name.
 */
export interface Backend {
  url(database: string): string;
  /** An empty database. */
  create(name: string): Promise<void>;
  /** A copy of a database (a restored backup); absent: the harness loads each database anew. */
  copy?(from: string, to: string): Promise<void>;
  drop(name: string): Promise<void>;
  /** Makes the database fail when an UPDATE writes this cell. */
  failWhenWriting(
    name: string,
    cell: { table: string; key: number; column: string },
  ): Promise<() => Promise<void>>;
}

/** What SQL Server stores for the synthetic clinic's values in the tables `createSandbox` makes. */
export function sqlServerStored(rows: TableRows): TableRows {
  return storedRows(rows, (value, _type, table, column) =>
    withoutNegativeZero(
      storedValue({ name: column, ...SANDBOX_COLUMNS[table][column]! }, value, `${table}.${column}`),
    ),
  );
}

/** Runs statements as the sandbox's owner (creating and dropping databases, markers, triggers). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = await MssqlClient.connect(mssqlTarget(url), { role: 'writer' });
  try {
    await client.query({ sql, params: [] });
  } finally {
    await client.close();
  }
}

/** The adapter conformance harness of db-mssql over a backend. */
export function mssqlHarness(backend: Backend, prefix: string): AdapterHarness {
  let count = 0;
  let template: { name: string; rows: TableRows } | null = null;

  const env = process.env;
  // With copies, one pristine database is loaded through the adapter and every kit database is
  // a copy of it (as a sandbox is a restored backup); without, each is loaded anew.
  const fill = async (name: string, rows: TableRows) => {
    if (backend.copy) {
      if (template?.rows !== rows) {
        const t = `${prefix}template${count}`;
        await backend.create(t);
        await createSandbox(backend.url(t), { confirm: true, rows, env });
        template = { name: t, rows };
      }
      await backend.copy(template.name, name);
      return;
    }
    await backend.create(name);
    await createSandbox(backend.url(name), { confirm: true, rows, env });
  };

  return {
    async createDatabase(rows, { sandbox }): Promise<AdapterDatabase> {
      const name = `${prefix}${++count}`;
      await fill(name, rows);
      const url = backend.url(name);
      if (!sandbox) {
        // The clinic without Anomalia's tables: what a production Mosaiq looks like to a writer.
        for (const t of ['Anomalia_Ledger', 'Anomalia_Run', 'Anomalia_Sandbox']) {
          await adminQuery(url, `DROP TABLE [anomalia].${quoteName(t)};`);
        }
      }
      const statements: string[] = [];
      const onQuery = (s: string) => statements.push(s);
      return {
        name: url.replace(/:[^:@/]*@/, ':***@'),
        openReader: () => openTreatmentReader(url, { onQuery, env }),
        openWriter: () => openSandboxWriter(url, { onQuery, env }),
        checksum: async () => (await tableChecksum(url, { env })).total,
        statements: () => statements,
        failWhenWriting: (cell) => backend.failWhenWriting(name, cell),
        dispose: () => backend.drop(name),
      };
    },
    asStored: sqlServerStored,
    // Phase one: TrackTreatment in requests of two 1000-id lists; phase two: the other tables by
    // the ids found (a handful of lists per record at most), in requests of 2000 parameters.
    maxStatementsPerLoad: (n) => Math.ceil(n / 2000) + Math.ceil((6 * n) / 2000) + 1,
  };
}

/** The TDS test server as a backend: databases copied as files, failures injected as server errors. */
export function testServerBackend(server: () => TestSqlServer): Backend {
  return {
    url: (database) => server().url(database),
    create: async (name) => {
      server().createDatabase(name);
    },
    copy: async (from, to) => {
      server().copyDatabase(from, to);
    },
    drop: async (name) => server().dropDatabase(name),
    failWhenWriting: async (_name, { table, key, column }) => {
      const head = `UPDATE [dbo].${quoteName(table)} SET ${quoteName(column)} = `;
      const remove = server().addFault({
        match: ({ sql, params }) => {
          if (!sql.startsWith(head)) return false;
          const p = /WHERE \[[^\]]+\] = @(\w+)$/.exec(sql)?.[1];
          return p !== undefined && params[p.toLowerCase()] === key;
        },
        error: {
          number: 547,
          message: 'The UPDATE statement conflicted with a CHECK constraint (injected by the test).',
        },
        times: 1,
      });
      return async () => remove();
    },
  };
}

/** A real SQL Server as a backend: `url` names a database the login may create databases from. */
export function liveBackend(url: string): Backend {
  const at = (database: string) => {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
  };
  return {
    url: at,
    create: (name) => adminQuery(url, `CREATE DATABASE ${quoteName(name)};`),
    drop: (name) =>
      adminQuery(
        url,
        `ALTER DATABASE ${quoteName(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteName(name)};`,
      ),
    failWhenWriting: async (name, { table, key, column }) => {
      const trigger = '[dbo].[anomalia_kit_fail]';
      await adminQuery(
        at(name),
        `CREATE TRIGGER ${trigger} ON [dbo].${quoteName(table)} AFTER UPDATE AS ` +
          `IF UPDATE(${quoteName(column)}) AND EXISTS (SELECT 1 FROM inserted WHERE ${quoteName(
            MOSAIQ_TABLES[table as TableName].primaryKey,
          )} = ${Number(key)}) THROW 50000, 'injected failure', 1;`,
      );
      return () => adminQuery(at(name), `DROP TRIGGER ${trigger};`);
    },
  };
}
