import { MOSAIQ_TABLES, TABLE_NAMES } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchema, createTableSql, INDEXES, SchemaError, schemaProblems } from './schema';
import { SQLITE_STORAGE } from './sqlite-types';

describe('schema', () => {
  const db = new Database(':memory:');
  createSchema(db);
  afterAll(() => db.close());

  it('has every table of MOSAIQ_TABLES with its real column names, mapped types and primary key', () => {
    for (const table of TABLE_NAMES) {
      const info = db.prepare(`PRAGMA table_info("${table}")`).all() as {
        name: string;
        type: string;
        pk: number;
        notnull: number;
      }[];
      const { primaryKey, columns } = MOSAIQ_TABLES[table];
      // TrackTreatment also has RowVers, the change cursor's version (not a column of the records).
      const tracking = table === 'TrackTreatment' ? [{ name: 'RowVers', type: 'BLOB' }] : [];
      expect(info.map((c) => c.name)).toEqual([...Object.keys(columns), ...tracking.map((c) => c.name)]);
      expect(info.map((c) => c.type)).toEqual([
        ...Object.values(columns).map((t) => SQLITE_STORAGE[t]),
        ...tracking.map((c) => c.type),
      ]);
      expect(info.filter((c) => c.pk === 1).map((c) => c.name)).toEqual([primaryKey]);
      // Every column but the key is nullable, as in Mosaiq.
      expect(info.filter((c) => c.notnull === 1).map((c) => c.name)).toEqual([primaryKey]);
    }
    expect(schemaProblems(db, { exact: true })).toEqual([]);
  });

  it('maps each SQL Server type to one SQLite storage class', () => {
    expect(SQLITE_STORAGE).toEqual({
      int: 'INTEGER',
      smallint: 'INTEGER',
      tinyint: 'INTEGER',
      bigint: 'INTEGER',
      bit: 'INTEGER',
      decimal: 'REAL',
      float: 'REAL',
      datetime: 'INTEGER',
      varchar: 'TEXT',
      char: 'TEXT',
      binary: 'BLOB',
      timestamp: 'BLOB',
    });
  });

  it('creates STRICT tables, so a value of the wrong storage class is refused by SQLite itself', () => {
    expect(createTableSql('TxFieldPoint')).toMatch(/\) STRICT$/);
    expect(createTableSql('TxFieldPoint')).toContain('"Index" REAL');
    expect(() => db.prepare(`INSERT INTO "TxField" ("FLD_ID", "Meterset") VALUES (1, 'lots')`).run()).toThrow(
      /cannot store TEXT value in REAL column TxField.Meterset/,
    );
    expect(() =>
      db.prepare(`INSERT INTO "TxFieldPoint" ("TFP_ID", "A_Leaf_Set") VALUES (1, 'text')`).run(),
    ).toThrow(/BLOB column/);
  });

  it('has the indexes the reader relies on', () => {
    const names = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]
    ).sort();
    expect(names).toEqual([...INDEXES.map((i) => i.name), 'IX_TrackTreatment_RowVers'].sort());
  });

  it('lists what is missing or different in another database', () => {
    const other = new Database(':memory:');
    other.exec(
      'CREATE TABLE "TrackTreatment" ("TTX_ID" INTEGER PRIMARY KEY, "Create_DtTm" TEXT, "Extra" INTEGER)',
    );
    const problems = schemaProblems(other, { exact: true });
    expect(problems).toContain('TrackTreatment.Create_DtTm is TEXT, expected INTEGER');
    expect(problems).toContain('TrackTreatment.Pat_ID1 is missing');
    expect(problems).toContain('TrackTreatment.Extra is not a column Anomalia knows');
    expect(problems).toContain('table TxFieldPoint is missing');
    expect(schemaProblems(other)).not.toContain('TrackTreatment.Extra is not a column Anomalia knows');
    const error = new SchemaError('x.sqlite', problems);
    expect(error.message).toMatch(
      /^x\.sqlite: not a Mosaiq database of @anomalia\/db-sqlite: .* and \d+ more$/,
    );
    other.close();
  });
});
