import { readFileSync } from 'node:fs';
import { ValidationError } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { MOSAIQ_TABLES, machineName, parseRow, TABLE_NAMES } from './tables';

/** The tiny subset of TOML types_map.toml uses: [Table] headers and `Column = "type"` lines. */
function readTypesMap(text: string): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) {
      current = new Map();
      tables.set(header[1]!, current);
    }
    const col = /^(\w+)\s*=\s*"(\w+)"$/.exec(line.trim());
    if (col && current) current.set(col[1]!, col[2]!);
  }
  return tables;
}

describe('MOSAIQ_TABLES', () => {
  const typesMap = readTypesMap(
    readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'types_map.toml'), 'utf8'),
  );

  it('uses the real column names and SQL types of types_map.toml', () => {
    const inMap = TABLE_NAMES.filter((t) => t !== 'Dose_Hst' && t !== 'Offset');
    expect(inMap).toHaveLength(7);
    for (const table of inMap) {
      const real = typesMap.get(table);
      expect(real, table).toBeDefined();
      for (const [column, type] of Object.entries(MOSAIQ_TABLES[table].columns)) {
        expect(real!.get(column), `${table}.${column}`).toBe(type);
      }
      expect(real!.has(MOSAIQ_TABLES[table].primaryKey)).toBe(true);
    }
  });

  it('keeps Dose_Hst and Offset (absent from the map) to the mock generator columns', () => {
    expect(typesMap.has('Dose_Hst')).toBe(false);
    expect(Object.keys(MOSAIQ_TABLES.Dose_Hst.columns)).toEqual([
      'DHS_ID',
      'Pat_ID1',
      'SIT_ID',
      'FLD_ID',
      'Tx_DtTm',
    ]);
    expect(Object.keys(MOSAIQ_TABLES.Offset.columns)).toContain('Superior_Offset');
  });
});

describe('parseRow', () => {
  const raw = {
    DHS_ID: '12',
    Pat_ID1: 5n,
    SIT_ID: null,
    FLD_ID: 3,
    Tx_DtTm: '2020-04-27 07:55:23.973',
    Extra_Column: 'kept',
  };

  it('coerces driver and CSV representations and passes unknown columns through', () => {
    const row = parseRow('Dose_Hst', raw);
    expect(row).toMatchObject({ DHS_ID: 12, Pat_ID1: 5, SIT_ID: null, FLD_ID: 3, Extra_Column: 'kept' });
    expect(row.Tx_DtTm!.toISOString()).toBe('2020-04-27T07:55:23.973Z');
    const bits = parseRow('Staff', {
      Staff_ID: 1,
      Type: 'Machine',
      Category: null,
      Last_Name: 'LA1   ',
      First_Name: null,
      Machine_Type: 1,
      Status_inactive: 0,
    });
    expect(bits.Status_inactive).toBe(false);
    expect(machineName(bits)).toBe('LA1');
  });

  it('names the table and column of a bad value', () => {
    expect(() => parseRow('Dose_Hst', { ...raw, FLD_ID: 1.5 })).toThrow(/Dose_Hst\.FLD_ID/);
    expect(() => parseRow('Dose_Hst', { ...raw, DHS_ID: null })).toThrow(ValidationError);
    expect(() => parseRow('Dose_Hst', { ...raw, Tx_DtTm: 'yesterday' })).toThrow(/Dose_Hst\.Tx_DtTm/);
    expect(() => parseRow('TxFieldPoint', { TFP_ID: 1 }, 'row 3')).toThrow(/row 3: TxFieldPoint\.FLD_ID/);
    expect(() => parseRow('TxFieldPoint', { TFP_ID: 40000 * 100000 })).toThrow(/TFP_ID/);
  });

  it('requires every used column (NULL allowed), not just the key', () => {
    const { FLD_ID: _, ...withoutField } = raw;
    expect(() => parseRow('Dose_Hst', withoutField)).toThrow(/Dose_Hst\.FLD_ID/);
  });
});
