import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedDataPath } from '@anomalia/core/testing';
import { TABLE_NAMES } from '@anomalia/mosaiq';
import { afterAll, describe, expect, it } from 'vitest';
import { IMPORT_USAGE, runImportCli } from './import-cli';
import { importExtract, tableOfFile } from './import-extract';
import { createClinicDatabase } from './loader';
import { openTreatmentReader } from './reader';
import { tempDir } from './testing/fixtures';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const FIXTURES = fileURLToPath(new URL('../../mosaiq/fixtures/', import.meta.url));
const SAMPLE = sharedDataPath(import.meta.url, 'mosaiq', 'TxFieldPoint_sample.csv');
const ALL = ['TrackTreatment', 'TxField', 'Site', 'Patient', 'Ident', 'Staff', 'Dose_Hst', 'Offset'];

let n = 0;
/**
 * A new extract directory: the pymedphys fixtures of `tables` and the real TxFieldPoint sample
 * linked in place, plus `files` written out (name → text).
 */
function extract(tables: string[] = ALL, files: Record<string, string> = {}, sample = true): string {
  const dir = tmp.path(`extract-${++n}`);
  mkdirSync(dir);
  for (const t of tables) symlinkSync(join(FIXTURES, 'pymedphys', `${t}.csv`), join(dir, `${t}.csv`));
  if (sample) symlinkSync(SAMPLE, join(dir, 'TxFieldPoint_sample.csv'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The files beside a database path: nothing may be left there by a failed import. */
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f !== 'keep.txt');

describe('tableOfFile', () => {
  it('maps <Table>.csv and <Table>_<part>.csv, longest table name first', () => {
    expect(tableOfFile('TxFieldPoint.csv')).toBe('TxFieldPoint');
    expect(tableOfFile('TxFieldPoint_sample.csv')).toBe('TxFieldPoint');
    expect(tableOfFile('TxField_2020.csv')).toBe('TxField');
    expect(tableOfFile('trackTreatment.CSV')).toBe('TrackTreatment');
    expect(tableOfFile('Dose_Hst.csv')).toBe('Dose_Hst');
    expect(tableOfFile('Chklist.csv')).toBe('skipped');
    expect(tableOfFile('TxFields.csv')).toBeNull();
  });
});

describe('importExtract', () => {
  it('loads real pymedphys rows, records every table present, and joins them into records', async () => {
    const out = tmp.path('full.sqlite');
    const summary = await importExtract(extract(), out);
    const by = Object.fromEntries(summary.tables.map((t) => [t.table, t]));
    expect(by.TxFieldPoint).toMatchObject({
      present: true,
      files: ['TxFieldPoint_sample.csv'],
      rowsRead: 117,
      rowsLoaded: 117,
    });
    expect(by.Staff).toMatchObject({ rowsRead: 3, rowsLoaded: 2, identicalDuplicates: 1 });
    expect(by.Staff!.duplicates.examples).toEqual([
      { key: 218, where: 'Staff.csv line 4', firstWhere: null, columns: [] },
    ]);
    expect(summary.controlPoints).toEqual({ fields: 3, withPoints: 2 });
    expect(summary.danglingReferences).toEqual([]);

    const reader = openTreatmentReader(out);
    try {
      expect(reader.tablePresence()).toEqual({ recorded: true, present: TABLE_NAMES, absent: [] });
      expect(reader.extractRecord()!.tables.find((t) => t.table === 'Staff')).toMatchObject({
        rowsRead: 3,
        rowsLoaded: 2,
        identicalDuplicates: 1,
      });
      const { records } = await reader.loadRecords([670321, 670567, 670565]);
      const [real, noPoints, qa] = records;
      expect(real!.controlPoints).toHaveLength(6);
      expect(real!.controlPoints[0]!.A_Leaf_Set).toHaveLength(200);
      expect(real!.doseHistory?.DHS_ID).toBe(886571);
      expect(real!.offset?.OFF_ID).toBe(5001);
      expect(real!.machine?.Last_Name?.trim()).toBe('2619');
      expect(real!.ident?.IDA).toBe('999121');
      expect(noPoints!.field?.FLD_ID).toBe(88070);
      expect(noPoints!.controlPoints).toHaveLength(0);
      expect(qa!.treatment).toMatchObject({ WasQAMode: true, DHS_ID: null });
    } finally {
      reader.closeSync();
    }
  });

  it('records a table with no file as absent, and a file with a header only as present and empty', async () => {
    const out = tmp.path('partial.sqlite');
    const header = readFileSync(join(FIXTURES, 'pymedphys', 'Offset.csv'), 'utf8').split('\n')[0];
    const summary = await importExtract(
      extract(['TrackTreatment', 'TxField', 'Site', 'Patient', 'Ident', 'Staff'], {
        'Offset.csv': `${header}\n`,
      }),
      out,
    );
    expect(summary.tables.filter((t) => !t.present).map((t) => t.table)).toEqual(['Dose_Hst']);
    const reader = openTreatmentReader(out);
    try {
      expect(reader.tablePresence()).toEqual({
        recorded: true,
        present: TABLE_NAMES.filter((t) => t !== 'Dose_Hst'),
        absent: ['Dose_Hst'],
      });
      expect(reader.extractRecord()!.tables.find((t) => t.table === 'Offset')).toMatchObject({
        present: true,
        rowsRead: 0,
      });
      expect(reader.tableCounts().Offset).toBe(0);
    } finally {
      reader.closeSync();
    }
    // A database that was not imported holds every table.
    const clinic = tmp.path('synthetic.sqlite');
    createClinicDatabase(clinic, { seed: 1, records: 50 });
    const synthetic = openTreatmentReader(clinic);
    expect(synthetic.tablePresence()).toEqual({ recorded: false, present: TABLE_NAMES, absent: [] });
    expect(synthetic.extractRecord()).toBeNull();
    synthetic.closeSync();
  });

  it('reads a table split over files, finds duplicates across them, and follows the policy', async () => {
    const text = readFileSync(SAMPLE, 'utf8');
    const lines = text.split('\n');
    const header = lines[0]!;
    // Lines 2–61 in one file, lines 50–118 in the other: 12 rows repeated identically.
    const a = `${[header, ...lines.slice(1, 61)].join('\n')}\n`;
    const b = `${[header, ...lines.slice(49, 118)].join('\n')}\n`;
    const dir = extract(
      ['TrackTreatment', 'TxField'],
      { 'TxFieldPoint_a.csv': a, 'TxFieldPoint_b.csv': b },
      false,
    );
    const summary = await importExtract(dir, tmp.path('split.sqlite'));
    const points = summary.tables.find((t) => t.table === 'TxFieldPoint')!;
    expect(points).toMatchObject({
      files: ['TxFieldPoint_a.csv', 'TxFieldPoint_b.csv'],
      rowsRead: 129,
      rowsLoaded: 117,
      identicalDuplicates: 12,
      conflictingDuplicates: 0,
    });
    expect(points.duplicates.examples[0]).toMatchObject({ where: 'TxFieldPoint_b.csv line 2', columns: [] });

    // The first repeated row now has another gantry angle.
    const row = lines[49]!.split(',');
    const key = row[1];
    expect(row[12]).not.toBe('181.5');
    row[12] = '181.5';
    const conflicting = `${[header, row.join(','), ...lines.slice(50, 118)].join('\n')}\n`;
    const dir2 = extract(
      ['TrackTreatment'],
      { 'TxFieldPoint_a.csv': a, 'TxFieldPoint_b.csv': conflicting },
      false,
    );
    const out = tmp.path('conflict.sqlite');
    await expect(importExtract(dir2, out)).rejects.toThrow(
      `TxFieldPoint_b.csv line 2: TxFieldPoint.TFP_ID: expected a key no earlier row has, or an identical copy of that row: TFP_ID ${key} is already loaded with other values in Gantry_Ang`,
    );
    expect(existsSync(out)).toBe(false);
    const kept = await importExtract(dir2, out, { onDuplicate: 'keep-first' });
    expect(kept.tables.find((t) => t.table === 'TxFieldPoint')).toMatchObject({
      rowsLoaded: 117,
      identicalDuplicates: 11,
      conflictingDuplicates: 1,
    });
    const reader = openTreatmentReader(out);
    const { records } = await reader.loadRecords([670321]);
    reader.closeSync();
    expect(records).toHaveLength(1);
    expect(reader.path).toBe(out);
  });

  it('reads the variants other tools write (BOM, no index column, bits as 1.0/0.0)', async () => {
    const dir = tmp.path('variants');
    mkdirSync(dir);
    for (const f of ['Patient.csv', 'TrackTreatment.csv'])
      symlinkSync(join(FIXTURES, 'pymedphys-variants', f), join(dir, f));
    const summary = await importExtract(dir, tmp.path('variants.sqlite'));
    expect(summary.tables.filter((t) => t.present).map((t) => [t.table, t.rowsLoaded])).toEqual([
      ['TrackTreatment', 6],
      ['Patient', 2],
    ]);
  });

  describe('bad input: an error naming file, line and column, and nothing left behind', () => {
    const cases: [string, string, RegExp | string][] = [
      [
        'non-integral-id',
        'TxField.csv',
        'TxField.csv line 2: TxField.SIT_Set_ID: expected an SQL int (a whole number; 16268.0 is read as 16268, a fraction is refused), received "16268.5"',
      ],
      [
        'impossible-date',
        'TrackTreatment.csv',
        /^TrackTreatment\.csv line 3: TrackTreatment\.Create_DtTm: expected an SQL datetime/,
      ],
      ['cut-line', 'TrackTreatment.csv', /^TrackTreatment\.csv line 7: .*cut short.*3 of 29 cells/],
      ['unclosed-quote', 'TxField.csv', /^TxField\.csv line 4: expected a closing quote/],
      [
        'duplicate-header',
        'Patient.csv',
        /^Patient\.csv line 1 \(header\): expected each column once; Last_Name/,
      ],
      [
        'conflicting-duplicate',
        'Staff.csv',
        /^Staff\.csv line 4: Staff\.Staff_ID: .*Staff_ID 218 is already loaded with other values in Last_Name/,
      ],
      [
        'wrong-header',
        'Site.csv',
        /^Site\.csv line 1 \(header\): expected the columns of Site \(missing: SIT_ID/,
      ],
      [
        'not-base64',
        'TxFieldPoint_88070.csv',
        /^TxFieldPoint_88070\.csv line 2: TxFieldPoint\.A_Leaf_Set: expected base64 text/,
      ],
      [
        'unknown-table',
        'TxFields.csv',
        /^TxFields\.csv: expected a file named after the Mosaiq table it holds/,
      ],
    ];
    for (const [dirName, file, message] of cases) {
      it(dirName, async () => {
        const dir = extract(['Ident']);
        symlinkSync(join(FIXTURES, 'pymedphys-bad', dirName, file), join(dir, file));
        const outDir = tmp.path(`out-${dirName}`);
        mkdirSync(outDir);
        writeFileSync(join(outDir, 'keep.txt'), '');
        await expect(importExtract(dir, join(outDir, 'clinic.sqlite'))).rejects.toThrow(message);
        expect(leftovers(outDir)).toEqual([]);
      });
    }

    it('an unreadable file, a directory in a file’s place, text that is not UTF-8', async () => {
      const outDir = tmp.path('out-unreadable');
      mkdirSync(outDir);
      const out = join(outDir, 'clinic.sqlite');
      const dangling = extract(['Patient']);
      symlinkSync(join(dangling, 'gone.csv'), join(dangling, 'Site.csv'));
      await expect(importExtract(dangling, out)).rejects.toThrow(
        /^Site\.csv: expected a readable file \(ENOENT/,
      );
      const folder = extract(['Patient']);
      mkdirSync(join(folder, 'Staff.csv'));
      await expect(importExtract(folder, out)).rejects.toThrow(
        'Staff.csv: expected a readable file (not a regular file)',
      );
      const latin1 = extract(['Patient']);
      const header = readFileSync(join(FIXTURES, 'pymedphys', 'Site.csv'), 'utf8').split('\n')[0];
      writeFileSync(
        join(latin1, 'Site.csv'),
        Buffer.concat([
          Buffer.from(`${header}\n0,1,1,0,1,,,,,,,,,,,,,,M`),
          Buffer.from([0xfc]),
          Buffer.from('ller\n'),
        ]),
      );
      await expect(importExtract(latin1, out)).rejects.toThrow(/^Site\.csv: expected UTF-8 text/);
      await expect(importExtract(tmp.path('nowhere'), out)).rejects.toThrow(
        /^dir: expected a readable directory/,
      );
      expect(leftovers(outDir)).toEqual([]);
    });

    it('an existing database is refused, replaced only with overwrite, and kept when the import fails', async () => {
      const outDir = tmp.path('out-existing');
      mkdirSync(outDir);
      const out = join(outDir, 'clinic.sqlite');
      await importExtract(extract(['Patient']), out);
      await expect(importExtract(extract(['Patient', 'Ident']), out)).rejects.toThrow(
        /^out: expected a path where no file exists yet/,
      );
      const bad = extract(['Patient']);
      symlinkSync(
        join(FIXTURES, 'pymedphys-bad', 'non-integral-id', 'TxField.csv'),
        join(bad, 'TxField.csv'),
      );
      await expect(importExtract(bad, out, { overwrite: true })).rejects.toThrow(/SIT_Set_ID/);
      let reader = openTreatmentReader(out);
      expect(reader.tableCounts().Ident).toBe(0);
      reader.closeSync();
      await importExtract(extract(['Patient', 'Ident']), out, { overwrite: true });
      reader = openTreatmentReader(out);
      expect(reader.tableCounts().Ident).toBe(2);
      reader.closeSync();
      expect(readdirSync(outDir)).toEqual(['clinic.sqlite']);
      const controller = new AbortController();
      controller.abort(new Error('interrupted'));
      await expect(
        importExtract(extract(), join(outDir, 'aborted.sqlite'), { signal: controller.signal }),
      ).rejects.toThrow('interrupted');
      expect(readdirSync(outDir)).toEqual(['clinic.sqlite']);
      await expect(importExtract(extract(), out, { onDuplicate: 'last' as never })).rejects.toThrow(
        /options\.onDuplicate: expected one of "error", "keep-first"/,
      );
    });
  });
});

describe('anomalia-import', () => {
  const run = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runImportCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };

  it('prints progress and a summary per table, absent tables named', async () => {
    const dir = extract(['TrackTreatment', 'TxField', 'Site', 'Patient', 'Ident', 'Staff'], {
      'notes.txt': 'x',
    });
    const out = tmp.path('cli.sqlite');
    const r = await run(dir, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('reading TxFieldPoint_sample.csv (TxFieldPoint, 108.1 kB)');
    expect(r.stderr).toContain('TxFieldPoint_sample.csv: 117 rows in');
    expect(r.stdout).toMatch(
      /^Staff +Staff\.csv +3 +2 +1 +1 identical duplicate \(Staff_ID 218 at Staff\.csv line 4\)$/m,
    );
    expect(r.stdout).toMatch(/^Dose_Hst +\(absent: no file in the extract\)$/m);
    expect(r.stdout).toContain('Absent tables (recorded as absent, not empty): Dose_Hst, Offset.');
    expect(r.stdout).toContain('Control points: 2 of 3 fields have them in the extract.');
    expect(r.stdout).toContain('Skipped notes.txt: not a .csv file.');
    const json = await run(dir, '-o', tmp.path('cli2.sqlite'), '--json', '--quiet');
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).tables.map((t: { present: boolean }) => t.present)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('exits 2 on bad arguments and 1 on bad input, saying why', async () => {
    expect(await run('--help')).toMatchObject({ code: 0, stdout: IMPORT_USAGE });
    const noOut = await run(extract());
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain(
      'anomalia-import: --out: expected a path for the database (--out clinic.sqlite)',
    );
    const policy = await run(extract(), '--out', tmp.path('x.sqlite'), '--on-duplicate', 'last');
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain('--on-duplicate: expected one of "error", "keep-first", received "last"');
    expect((await run(extract(), '--out', tmp.path('x.sqlite'), '--frobnicate')).code).toBe(2);
    const dir = extract(['Patient']);
    symlinkSync(
      join(FIXTURES, 'pymedphys-bad', 'conflicting-duplicate', 'Staff.csv'),
      join(dir, 'Staff.csv'),
    );
    const out = tmp.path('cli-bad.sqlite');
    const bad = await run(dir, '--out', out, '-q');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^anomalia-import: Staff\.csv line 4: Staff\.Staff_ID: /);
    expect(bad.stderr).toContain('Nothing was written.');
    expect(existsSync(out)).toBe(false);
    const kept = await run(dir, '--out', out, '-q', '--on-duplicate', 'keep-first');
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(
      /1 conflicting duplicate kept first \(Staff_ID 218 at Staff\.csv line 4, differs in Last_Name\)/,
    );
  });
});
