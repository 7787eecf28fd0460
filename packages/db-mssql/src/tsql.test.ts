import { parseTreatmentQuery } from '@anomalia/mosaiq';
import parser from 'node-sql-parser';
import { describe, expect, it } from 'vitest';
import { SANDBOX_COLUMNS } from './column-types';
import { ledgerValues } from './ledger';
import { loadRowsStatements } from './loader';
import {
  changesStatement,
  columnProbeStatement,
  countsStatement,
  dependentUnits,
  listTreatmentsStatement,
  maxKeysStatement,
  objectIdsStatement,
  packUnits,
  safePointStatement,
  treatmentUnits,
} from './read-queries';
import { createMosaiqSchemaStatement, type TableColumns } from './schema';
import { describeStatement, type Statement } from './statement';
import {
  bookkeepingTablesSql,
  createSchemaStatement,
  deleteStatement,
  insertMarkerStatement,
  insertRunStatement,
  insertStatements,
  ledgerInsertStatements,
  ledgerStatement,
  lockRowsStatement,
  markerInfoStatement,
  markerStatement,
  nextRunStatement,
  packWrites,
  restoredRunStatement,
  runStatement,
  runsStatement,
  updateStatement,
} from './write-queries';

/**
 * Every statement this package sends, built here from the same functions the reader, writer and
 * sandbox code use, parsed by a real T-SQL parser (node-sql-parser, `transactsql` dialect) and
 * kept, with its parameter declarations, in a readable snapshot (`__snapshots__/tsql.test.ts.snap`).
 */
const sqlParser = new parser.Parser();

/** node-sql-parser has no grammar for SET IDENTITY_INSERT; those lines are checked by pattern. */
const IDENTITY_INSERT = /^SET IDENTITY_INSERT \[[^\]]+\]\.\[[^\]]+\] (ON|OFF);$/;

function parsed(sql: string): string[] {
  const statements = sql
    .split(/;\n|;$/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of statements) {
    if (IDENTITY_INSERT.test(`${s};`)) continue;
    expect(() => sqlParser.astify(s, { database: 'transactsql' }), s).not.toThrow();
  }
  return statements;
}

const columns = Object.fromEntries(
  Object.entries(SANDBOX_COLUMNS).map(([t, cols]) => [
    t,
    Object.entries(cols).map(([name, c]) => ({ name, ...c })),
  ]),
) as TableColumns;
const at = new Date('2024-03-04T05:06:07.003Z');

const statements: Record<string, Statement | Statement[]> = {
  'reader: which tables exist': objectIdsStatement([
    { schema: 'dbo', table: 'TrackTreatment' },
    { schema: 'anomalia', table: 'Anomalia_Sandbox' },
  ]),
  'reader: declared columns': columnProbeStatement([
    { schema: 'dbo', table: 'TrackTreatment' },
    { schema: 'dbo', table: 'TxFieldPoint' },
  ]),
  'reader: a page of treatments': listTreatmentsStatement(
    'dbo',
    parseTreatmentQuery({ from: at, to: new Date('2024-04-01T00:00:00Z'), pageSize: 500 }),
  ),
  'reader: the next page, filtered': listTreatmentsStatement(
    'dbo',
    parseTreatmentQuery({
      from: at,
      to: new Date('2024-04-01T00:00:00Z'),
      machineIds: [901, 902],
      patientIds: [10001],
      completedOnly: true,
      qaMode: 'exclude',
      cursor: 'lquks9vx.lflx',
    }),
  ),
  'reader: changes after a watermark': changesStatement('dbo', 0x7d1n, 1000),
  'reader: the safe point': safePointStatement(),
  'reader: highest keys': maxKeysStatement('dbo'),
  'reader: row counts': countsStatement('dbo'),
  'reader: loadRecords phase one (3 ids)': packUnits(treatmentUnits('dbo', [1000001, 1000002, 1000003])).map(
    (r) => r.statement,
  ),
  'reader: loadRecords phase two': packUnits(
    dependentUnits('dbo', {
      fieldIds: [50001, 50002],
      siteIds: [7001],
      patientIds: [10001, 10002],
      machineIds: [901],
      doseIds: [3000001],
      doseWindow: { patientIds: [10002], from: at, to: new Date('2024-03-05T05:06:07.003Z') },
    }),
  ).map((r) => r.statement),
  'writer: is this a sandbox': markerStatement(),
  'writer: lock the rows a run touches': lockRowsStatement(
    'dbo',
    'TxField',
    'FLD_ID',
    ['FLD_ID', 'Meterset'],
    [50001, 50002],
  ),
  'writer: a batch of changes': packWrites([
    updateStatement(
      'dbo',
      'TxField',
      'FLD_ID',
      50001,
      { name: 'Meterset', type: 'decimal', precision: 12, scale: 4 },
      -100,
      'changes[0]',
    ),
    ...insertStatements(
      'dbo',
      'Offset',
      [
        { column: { name: 'OFF_ID', type: 'int' }, value: 4000001 },
        { column: { name: 'Superior_Offset', type: 'decimal', precision: 8, scale: 3 }, value: 0.5 },
      ],
      false,
      'changes[1]',
    ),
    deleteStatement('dbo', 'Dose_Hst', 'DHS_ID', 3000001, 'changes[2]'),
    ...insertStatements(
      'dbo',
      'TrackTreatment',
      [{ column: { name: 'TTX_ID', type: 'int', identity: true }, value: 5 }],
      true,
      'changes[3]',
    ),
  ]).map((r) => r.statement),
  'writer: the next run number': nextRunStatement(),
  'writer: the run': insertRunStatement([
    1,
    'run-1',
    'label',
    'mode',
    'variant',
    7,
    '{}',
    at,
    null,
    'applied',
    1,
  ]),
  'writer: ledger lines': ledgerInsertStatements([
    ledgerValues(
      'run-1',
      0,
      {
        change: {
          kind: 'update',
          table: 'TxField',
          key: 50001,
          column: 'Meterset',
          oldValue: 60,
          newValue: -100,
        },
        extra: null,
      },
      { mode: 'meterset_inconsistency', variant: 'negative_meterset', appliedAt: at },
    ),
  ]),
  'writer: restored': restoredRunStatement('run-1', at),
  'writer: one run (locked)': runStatement('run-1', true),
  'writer: runs': runsStatement(),
  'writer: a ledger': ledgerStatement('run-1'),
  'sandbox: the anomalia schema': createSchemaStatement(),
  'sandbox: bookkeeping tables': bookkeepingTablesSql().map((sql) => ({ sql, params: [] })),
  'sandbox: the marker row': insertMarkerStatement('marked', at, null),
  'sandbox: how it was marked': markerInfoStatement(),
  'sandbox: the Mosaiq tables of a new sandbox': createMosaiqSchemaStatement('dbo'),
  'sandbox: loading rows': loadRowsStatements('dbo', columns, {
    Staff: [
      {
        Staff_ID: 901,
        Type: 'Machine',
        Category: null,
        Last_Name: 'LINAC1',
        First_Name: 'Agility',
        Machine_Type: 1,
        Status_inactive: false,
      },
    ],
  }),
};

describe('the T-SQL db-mssql sends', () => {
  for (const [name, value] of Object.entries(statements)) {
    it(`${name}: parses as T-SQL`, () => {
      const list = Array.isArray(value) ? value : [value];
      for (const s of list) {
        parsed(s.sql);
        // Every parameter the text uses is declared, and every declared one is used.
        const used = new Set([...s.sql.matchAll(/@(p\d+)\b/g)].map((m) => m[1]));
        expect([...used].sort()).toEqual(
          s.params
            .map((p) => p.name)
            .filter((n) => used.has(n))
            .sort(),
        );
        expect(s.params.every((p) => used.has(p.name))).toBe(true);
      }
      expect(list.map(describeStatement).join('\n\n')).toMatchSnapshot();
    });
  }

  it('uses no table hint that reads uncommitted data', () => {
    const all = Object.values(statements)
      .flat()
      .map((s) => s.sql)
      .join('\n');
    expect(all).not.toMatch(/NOLOCK|READUNCOMMITTED/i);
    expect(all).toMatch(/WITH \(UPDLOCK, HOLDLOCK\)/);
  });

  it('pads IN lists to a few sizes, so SQL Server caches a handful of plans', () => {
    const sizes = [1, 3, 9, 100, 999].map((n) => {
      const ids = Array.from({ length: n }, (_, i) => 1000 + i);
      return packUnits(treatmentUnits('dbo', ids))[0]!.statement.params.length;
    });
    expect(sizes).toEqual([1, 4, 16, 128, 1000]);
    const big = packUnits(
      treatmentUnits(
        'dbo',
        Array.from({ length: 4500 }, (_, i) => i),
      ),
    );
    expect(big.map((r) => r.statement.params.length)).toEqual([2000, 2000, 512]);
    expect(big.every((r) => r.statement.params.length <= 2100)).toBe(true);
  });
});
