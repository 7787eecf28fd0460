import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsvDataset, parseCsvDataset, parseCsvTable } from './csv';
import { sharedDataPath } from './testing/shared-data';

const DATA = sharedDataPath(import.meta.url);

describe('CSV loading', () => {
  it('loads every tabular file with its label column', async () => {
    const files = readdirSync(join(DATA, 'tabular')).filter(
      (f) => f.endsWith('.csv') && !f.startsWith('reference'),
    );
    expect(files.length).toBe(6);
    const shapes: Record<string, [number, number]> = {
      'cardio.csv': [1831, 21],
      'thyroid.csv': [3772, 6],
      'satellite.csv': [6435, 36],
      'pendigits.csv': [6870, 16],
      'breastw.csv': [683, 9],
      'vowels.csv': [1456, 12],
    };
    for (const f of files) {
      const ds = await loadCsvDataset(join(DATA, 'tabular', f), { labelColumn: 'label' });
      expect([ds.X.rows, ds.X.cols], f).toEqual(shapes[f]);
      expect(ds.featureNames[0]).toBe('f0');
      expect(ds.X.findNonFinite()).toBeNull();
      expect(ds.y!.every((v) => v === 0 || v === 1)).toBe(true);
      expect(ds.y!.some((v) => v === 1)).toBe(true);
    }
  });

  it('selects columns and maps text labels (IMS labelled file)', async () => {
    const ds = await loadCsvDataset(join(DATA, 'ims/ims_2nd_test_selvasundar_labelled.csv'), {
      labelColumn: 'Target',
      labelMap: { Normal: 0, Anomaly: 1 },
      featureColumns: ['Bearing1_Mean', 'Bearing2_Mean'],
    });
    expect(ds.X.cols).toBe(2);
    expect(ds.y!.some((v) => v === 1)).toBe(true);
  });

  it('parses quotes, CRLF and blank trailing lines', () => {
    const t = parseCsvTable('a,"b, with comma"\r\n1,"say ""hi"""\r\n\r\n');
    expect(t.header).toEqual(['a', 'b, with comma']);
    expect(t.rows).toEqual([['1', 'say "hi"']]);
  });

  it('names the line and column of bad cells', () => {
    expect(() => parseCsvDataset('a,b\n1,2\n3,x\n')).toThrow(/line 3, column "b"/);
    expect(() => parseCsvDataset('a,b\n1,2\n3\n')).toThrow(/line 3/);
    expect(() => parseCsvDataset('a,b\n1,\n')).toThrow(/missing: "nan"/);
    expect(Number.isNaN(parseCsvDataset('a,b\n1,\n', { missing: 'nan' }).X.get(0, 1))).toBe(true);
    expect(() => parseCsvDataset('a,b\n1,2\n', { labelColumn: 'label' })).toThrow(/labelColumn/);
    expect(() => parseCsvDataset('a,l\n1,odd\n', { labelColumn: 'l', labelMap: { Normal: 0 } })).toThrow(
      /one of Normal/,
    );
  });
});
