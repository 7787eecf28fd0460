import { readFileSync } from 'node:fs';
import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import {
  CsvTokenizer,
  decodeBase64,
  encodeBase64Url,
  formatMosaiqCsv,
  MosaiqCsvReader,
  parseStrictDateTime,
  readMosaiqCsv,
  tokenizeCsv,
} from './csv';
import { parseMosaiqDateTime } from './sql-types';
import { generateClinic } from './synthetic/clinic';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName } from './tables';

const fixture = (dir: string, file: string) =>
  readFileSync(new URL(`../fixtures/${dir}/${file}`, import.meta.url), 'utf8');
const good = (table: TableName) => fixture('pymedphys', `${table}.csv`);
const realSample = () =>
  readFileSync(sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv'), 'utf8');

describe('tokenizeCsv', () => {
  it('handles quotes, doubled quotes, separators and line breaks inside quotes, CRLF', () => {
    expect(tokenizeCsv('a,"b,c","d""e"\r\n1,,3\n"x\ny",z\n').map((r) => [r.cells, r.line])).toEqual([
      [['a', 'b,c', 'd"e'], 1],
      [['1', '', '3'], 2],
      [['x\ny', 'z'], 3],
    ]);
    const [last] = tokenizeCsv('x,y');
    expect(last).toEqual({ cells: ['x', 'y'], line: 1, terminated: false });
  });

  it('gives the same records whatever the chunking', () => {
    const text = realSample();
    const whole = tokenizeCsv(text);
    for (const size of [1, 7, 64, 1000]) {
      const t = new CsvTokenizer();
      const chunked = [];
      for (let i = 0; i < text.length; i += size) chunked.push(...t.push(text.slice(i, i + size)));
      chunked.push(...t.end());
      expect(chunked).toEqual(whole);
    }
    const t = new CsvTokenizer();
    expect([...t.push('a,"b\r'), ...t.push('\nc"\r'), ...t.push('\n1,2\r\n'), ...t.end()]).toEqual([
      { cells: ['a', 'b\r\nc'], line: 1, terminated: true },
      { cells: ['1', '2'], line: 3, terminated: true },
    ]);
  });

  it('skips a byte-order mark, and names the line of an unclosed quote or text after one', () => {
    expect(tokenizeCsv('\uFEFFa,b\n')[0]!.cells).toEqual(['a', 'b']);
    expect(() => tokenizeCsv('a,b\n1,2\n3,"four\n5,6\n', 'x.csv')).toThrow(
      'x.csv line 3: expected a closing quote for the quoted field opened on this line',
    );
    expect(() => tokenizeCsv('a,b\n"1"2,3\n', 'x.csv')).toThrow(
      /x\.csv line 2: expected a separator or a line end right after a closing quote/,
    );
  });
});

describe('base64', () => {
  it('round-trips every length in both alphabets', () => {
    for (let n = 0; n < 12; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff);
      const text = encodeBase64Url(bytes);
      expect(text).not.toMatch(/[+/]/);
      expect(Array.from(decodeBase64(text))).toEqual(Array.from(bytes));
      expect(Array.from(decodeBase64(text.replace(/-/g, '+').replace(/_/g, '/')))).toEqual(Array.from(bytes));
    }
    expect(encodeBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8=');
  });

  it('rejects characters outside base64, naming the field', () => {
    expect(() => decodeBase64('ab$d', 'A_Leaf_Set')).toThrow(/A_Leaf_Set/);
    expect(() => decodeBase64('abcde')).toThrow(/impossible/);
  });
});

describe('parseStrictDateTime', () => {
  it('reads naive wall-clock times as UTC and refuses impossible dates instead of rolling them over', () => {
    expect(parseStrictDateTime('2020-04-27 07:55:23.973')!.date.toISOString()).toBe(
      '2020-04-27T07:55:23.973Z',
    );
    expect(parseStrictDateTime('2013-10-17 17:57:13.587000')!.date.toISOString()).toBe(
      '2013-10-17T17:57:13.587Z',
    );
    expect(parseStrictDateTime('2020-02-29')).toEqual({
      date: new Date('2020-02-29T00:00:00Z'),
      hasTime: false,
    });
    for (const bad of ['2020-02-30', '2019-02-29', '2020-13-01', '2020-04-31 10:00', '2020-01-01 24:00:00'])
      expect(parseStrictDateTime(bad), bad).toBeNull();
    expect(parseStrictDateTime('2020-01-01 08:3')).toBeNull();
    // The row schemas' parser refuses them too (drivers and JSON reach it, not only CSVs).
    expect(parseMosaiqDateTime('2020-02-30 10:00:00')).toBeNull();
    expect(parseMosaiqDateTime('2020-02-29 10:00:00')).toEqual(new Date('2020-02-29T10:00:00Z'));
  });
});

describe('readMosaiqCsv on pymedphys extracts', () => {
  it('reads the real TxFieldPoint sample into typed rows', () => {
    const { rows, rowsRead, duplicates } = readMosaiqCsv('TxFieldPoint', realSample(), {
      source: 'TxFieldPoint_sample.csv',
    });
    expect(rowsRead).toBe(117);
    expect(rows).toHaveLength(117);
    expect(duplicates).toMatchObject({ identical: 0, conflicting: 0 });
    expect(rows.filter((r) => r.FLD_ID === 88043)).toHaveLength(6);
    expect(rows.filter((r) => r.FLD_ID === 88064)).toHaveLength(111);
    const r = rows[1]!;
    expect(r).toMatchObject({ TFP_ID: 948005, Point: 1, Index: 33.333, MLC_Leaves: 80, Coll_Y1: -12 });
    expect(r.Edit_DtTm!.toISOString()).toBe('2020-04-27T07:55:24.020Z');
    expect(r.A_Leaf_Set).toHaveLength(200);
    // Unused columns pass through as text, unless a loader asks for the used ones only.
    expect((r as Record<string, unknown>).IsMotorizedWedgeIn).toBe('False');
    const lean = readMosaiqCsv('TxFieldPoint', realSample(), { passThrough: false }).rows[1]!;
    expect(Object.keys(lean).sort()).toEqual(Object.keys(MOSAIQ_TABLES.TxFieldPoint.columns).sort());
    expect(lean).toEqual(
      Object.fromEntries(Object.keys(lean).map((k) => [k, (r as Record<string, unknown>)[k]])),
    );
  });

  it('reads integral floats of nullable integer columns as integers, and True/False bits', () => {
    const tt = readMosaiqCsv('TrackTreatment', good('TrackTreatment')).rows;
    expect(good('TrackTreatment')).toContain(',886571.0,');
    expect(tt.map((r) => r.DHS_ID)).toEqual([886571, 886745, 886749, 886750, null, 886752]);
    expect(tt[4]).toMatchObject({ TTX_ID: 670565, WasQAMode: true, WasBeamComplete: false });
    expect(tt[0]!.Create_DtTm!.toISOString()).toBe('2020-04-27T08:03:28.513Z');
    const fields = readMosaiqCsv('TxField', good('TxField')).rows;
    expect(fields.map((f) => f.SIT_Set_ID)).toEqual([16268, 16274, null]);
    expect(fields[0]!.Meterset).toBe(150);
    expect((fields[0] as Record<string, unknown>).Notes).toBe('Supine, "mask", head rest');
    // Ident spells the column Pat_Id1, as Mosaiq does.
    expect(readMosaiqCsv('Ident', good('Ident')).rows.map((r) => r.Pat_Id1)).toEqual([30121, 30136]);
    expect(readMosaiqCsv('Offset', good('Offset')).rows[1]).toMatchObject({
      OFF_ID: 5002,
      Superior_Offset: -0.4,
      Lateral_Offset: null,
    });
  });

  it('reads bits written 1.0/0.0 or 1/0, and a file with a byte-order mark and no index column', () => {
    const variant = readMosaiqCsv('TrackTreatment', fixture('pymedphys-variants', 'TrackTreatment.csv')).rows;
    const plain = readMosaiqCsv('TrackTreatment', good('TrackTreatment')).rows;
    expect(fixture('pymedphys-variants', 'TrackTreatment.csv')).toMatch(/,0\.0,1,1,1\.0,0,1,/);
    expect(variant.map((r) => [r.WasQAMode, r.WasBeamOn, r.WasBeamComplete])).toEqual(
      plain.map((r) => [r.WasQAMode, r.WasBeamOn, r.WasBeamComplete]),
    );
    expect(variant[0]!.WasResolved).toBeNull();
    const bom = fixture('pymedphys-variants', 'Patient.csv');
    expect(bom.charCodeAt(0)).toBe(0xfeff);
    expect(readMosaiqCsv('Patient', bom).rows).toEqual(readMosaiqCsv('Patient', good('Patient')).rows);
  });

  it('drops an identical duplicate key and reports it; a conflicting one is an error unless keep-first', () => {
    const staff = readMosaiqCsv('Staff', good('Staff'), { source: 'Staff.csv' });
    expect(staff.rowsRead).toBe(3);
    expect(staff.rows.map((r) => r.Staff_ID)).toEqual([218, 805]);
    expect(staff.duplicates).toEqual({
      table: 'Staff',
      policy: 'error',
      identical: 1,
      conflicting: 0,
      examples: [{ key: 218, where: 'Staff.csv line 4', firstWhere: 'Staff.csv line 2', columns: [] }],
    });
    const conflicting = fixture('pymedphys-bad/conflicting-duplicate', 'Staff.csv');
    expect(() => readMosaiqCsv('Staff', conflicting, { source: 'Staff.csv' })).toThrow(
      'Staff.csv line 4: Staff.Staff_ID: expected a key no earlier row has, or an identical copy of that row: Staff_ID 218 is already on Staff.csv line 2 with other values in Last_Name',
    );
    const kept = readMosaiqCsv('Staff', conflicting, { onDuplicate: 'keep-first' });
    expect(kept.rows.map((r) => r.Last_Name!.trim())).toEqual(['2619', 'Physicist']);
    expect(kept.duplicates).toMatchObject({ identical: 0, conflicting: 1 });
    expect(() => readMosaiqCsv('Staff', conflicting, { onDuplicate: 'last' as never })).toThrow(
      /onDuplicate: expected one of error, keep-first/,
    );
  });

  it('names the file, line and column of every broken case', () => {
    const bad = (dir: string, file: string, table: TableName) => () =>
      readMosaiqCsv(table, fixture(`pymedphys-bad/${dir}`, file), { source: file });
    expect(bad('non-integral-id', 'TxField.csv', 'TxField')).toThrow(
      'TxField.csv line 2: TxField.SIT_Set_ID: expected an SQL int (a whole number; 16268.0 is read as 16268, a fraction is refused), received "16268.5"',
    );
    expect(bad('impossible-date', 'TrackTreatment.csv', 'TrackTreatment')).toThrow(
      /^TrackTreatment\.csv line 3: TrackTreatment\.Create_DtTm: expected an SQL datetime .*received "2020-02-30 07:45:34\.810"/,
    );
    expect(bad('cut-line', 'TrackTreatment.csv', 'TrackTreatment')).toThrow(
      'TrackTreatment.csv line 7: expected a line break at the end of the last line (pandas ends every line with one; this line looks cut short), received "3 of 29 cells and no line break"',
    );
    expect(bad('unclosed-quote', 'TxField.csv', 'TxField')).toThrow(
      'TxField.csv line 4: expected a closing quote for the quoted field opened on this line',
    );
    expect(bad('duplicate-header', 'Patient.csv', 'Patient')).toThrow(
      'Patient.csv line 1 (header): expected each column once; Last_Name is both column 15 and column 16',
    );
    expect(bad('wrong-header', 'Site.csv', 'Site')).toThrow(
      /^Site\.csv line 1 \(header\): expected the columns of Site \(missing: SIT_ID, Site_Name, Technique, Modality, Energy, Dose_Tx, Dose_Ttl, Fractions, Frac_Pattern; is this the Site extract\?\)/,
    );
    expect(bad('not-base64', 'TxFieldPoint_88070.csv', 'TxFieldPoint')).toThrow(
      /^TxFieldPoint_88070\.csv line 2: TxFieldPoint\.A_Leaf_Set: expected base64 text, received "character \\"@\\" at 264"/,
    );
  });

  it('refuses a cut last line even when its cell count fits, and a date whose time was lost', () => {
    const text = 'DHS_ID,Pat_ID1,SIT_ID,FLD_ID,Tx_DtTm\n1,2,3,4,2020-01-01 08:30:00\n2,2,3,4,2020-01-02';
    expect(() => readMosaiqCsv('Dose_Hst', text, { source: 'd.csv' })).toThrow(
      'd.csv line 3: expected a line break at the end of the last line (pandas ends every line with one; this line looks cut short)',
    );
    expect(() => readMosaiqCsv('Dose_Hst', `${text}\n`, { source: 'd.csv' })).toThrow(
      'd.csv line 3: Dose_Hst.Tx_DtTm: expected a time of day like line 2 has (pandas writes one format per column; this line looks cut short), received "2020-01-02"',
    );
    // A column written by pandas at midnight throughout is dates only: accepted.
    const dates = 'DHS_ID,Pat_ID1,SIT_ID,FLD_ID,Tx_DtTm\n1,2,3,4,2020-01-01\n2,2,3,4,2020-01-02\n';
    expect(readMosaiqCsv('Dose_Hst', dates).rows[1]!.Tx_DtTm!.toISOString()).toBe('2020-01-02T00:00:00.000Z');
  });

  it('names the column of bad bits and integers, and refuses text without a header', () => {
    const head =
      'TTX_ID,Create_DtTm,Create_ID,Edit_DtTm,Edit_ID,Pat_ID1,FLD_ID,SIT_ID,Machine_ID_Staff_ID,Staff_ID,WasQAMode,WasBeamEnabled,WasBeamOn,WasBeamComplete,WasCanceled,WasRecorded,DHS_ID,WasResolved,Resolved_DtTm';
    const row = (qa: string, id = '7') => `${id},2020-01-01 08:00:00,,,,1,2,3,4,,${qa},,,,,,,,\n`;
    expect(readMosaiqCsv('TrackTreatment', `${head}\n${row('1')}`).rows[0]!.WasQAMode).toBe(true);
    expect(() => readMosaiqCsv('TrackTreatment', `${head}\n${row('2')}`)).toThrow(
      'csv line 2: TrackTreatment.WasQAMode: expected an SQL bit (True/False, 1/0 or 1.0/0.0), received "2"',
    );
    expect(() => readMosaiqCsv('TrackTreatment', `${head}\n${row('0', 'x7')}`)).toThrow(
      'csv line 2: TrackTreatment.TTX_ID: expected an SQL int (a whole number), received "x7"',
    );
    expect(() => readMosaiqCsv('TrackTreatment', '')).toThrow('csv line 1: expected a header line');
    expect(() => readMosaiqCsv('Dose_Hst', 'DHS_ID,Pat_ID1,SIT_ID,FLD_ID,Tx_DtTm,__proto__\n')).toThrow(
      'csv line 1 (header): expected column names other than __proto__, prototype and constructor, received "__proto__"',
    );
    expect(() => readMosaiqCsv('Dose_Hst', 'DHS_ID,Pat_ID1,SIT_ID,FLD_ID,Tx_DtTm\n,1,2,3,\n')).toThrow(
      'csv line 2: Dose_Hst.DHS_ID: expected a primary-key value (never empty)',
    );
    expect(() => new MosaiqCsvReader('Nope' as never)).toThrow(/table: expected one of TrackTreatment/);
  });
});

describe('formatMosaiqCsv', () => {
  it('writes what readMosaiqCsv reads back, in the pymedphys format', () => {
    const [batch] = generateClinic({ seed: 3, records: 60 });
    for (const table of TABLE_NAMES) {
      const rows = batch!.rows[table].slice(0, 300);
      const text = formatMosaiqCsv(table, rows);
      expect(text.startsWith(',')).toBe(true);
      expect(readMosaiqCsv(table, text).rows, table).toEqual(rows);
    }
    const tt = formatMosaiqCsv('TrackTreatment', batch!.rows.TrackTreatment);
    expect(tt).toMatch(/,(True|False),/);
  });
});
