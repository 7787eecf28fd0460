import { MOSAIQ_TABLES, TABLE_NAMES, type TableRows } from '@anomalia/mosaiq';
import { storedValue } from './column-types';
import type { TableColumns } from './schema';
import { MAX_PARAMS, Params, paramTypeFor, qualified, quoteName } from './statement';
import type { WriteStatement } from './write-queries';

/**
 * Multi-row INSERTs of Mosaiq rows (as many rows per statement as SQL Server's parameter limit
 * allows, at most 1000), every value checked and brought to what its column stores. Used to fill
 * a sandbox created by `createSandbox` (a synthetic clinic, the live test suite).
 */
export function loadRowsStatements(
  schema: string,
  columns: TableColumns,
  rows: Partial<TableRows>,
): WriteStatement[] {
  const out: WriteStatement[] = [];
  for (const table of TABLE_NAMES) {
    const list = (rows[table] ?? []) as unknown as Record<string, unknown>[];
    if (list.length === 0) continue;
    const byName = new Map(columns[table].map((c) => [c.name.toLowerCase(), c]));
    const cols = Object.keys(MOSAIQ_TABLES[table].columns).map((name) => ({
      ...byName.get(name.toLowerCase())!,
      name,
    }));
    const pk = cols.find((c) => c.name === MOSAIQ_TABLES[table].primaryKey)!;
    const per = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / cols.length)));
    const set = (on: boolean): WriteStatement => ({
      sql: `SET IDENTITY_INSERT ${qualified(schema, table)} ${on ? 'ON' : 'OFF'};`,
      params: [],
      expectRows: null,
      what: `rows.${table}`,
    });
    if (pk.identity) out.push(set(true));
    for (let i = 0; i < list.length; i += per) {
      const params = new Params();
      const values = list.slice(i, i + per).map((row, j) => {
        const where = `rows.${table}[${i + j}]`;
        const items = cols.map((c) =>
          params.add(paramTypeFor(c), storedValue(c, (row[c.name] ?? null) as never, `${where}.${c.name}`)),
        );
        return `(${items.join(', ')})`;
      });
      out.push({
        sql: `INSERT INTO ${qualified(schema, table)} (${cols.map((c) => quoteName(c.name)).join(', ')}) VALUES ${values.join(', ')};`,
        params: params.list,
        expectRows: values.length,
        what: `rows.${table}[${i}..]`,
      });
    }
    if (pk.identity) out.push(set(false));
  }
  return out;
}
