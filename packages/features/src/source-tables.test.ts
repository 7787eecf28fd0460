import { TABLE_NAMES, type TableName, type TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { extractQaExtended, QA_EXTENDED_FEATURE_NAMES } from './extended';
import { extractQa74 } from './extract74';
import { FEATURE_SETS } from './feature-sets';
import { extractQaLongitudinal, QA_LONGITUDINAL_FEATURE_NAMES } from './longitudinal/extract';
import { FEATURE_TABLES, unobservedFeatures } from './source-tables';

const asOf = Date.UTC(2030, 0, 1);
const records = generateRecords({ seed: 17, records: 600 });

/** The records as a source without `table` would join them. */
function without(table: TableName, rs: readonly TreatmentRecord[]): TreatmentRecord[] {
  return rs.map((r) => {
    switch (table) {
      case 'Patient':
        return { ...r, patient: null };
      case 'TxField':
        return { ...r, field: null };
      case 'TxFieldPoint':
        return { ...r, controlPoints: [] };
      case 'Site':
        return { ...r, site: null };
      case 'Ident':
        return { ...r, ident: null };
      case 'Staff':
        return { ...r, machine: null };
      case 'Dose_Hst':
        return { ...r, doseHistory: null };
      case 'Offset':
        return { ...r, offset: null, sessionOffsets: [] };
      default:
        return r;
    }
  });
}

/** Names of the columns whose value or missing flag differ in some row. */
function changedColumns(a: ReturnType<typeof extractQaExtended>, b: ReturnType<typeof extractQaExtended>) {
  const cols = a.X.cols;
  const changed = new Set<string>();
  for (let k = 0; k < a.X.data.length; k++) {
    if (a.X.data[k] !== b.X.data[k] || a.missing[k] !== b.missing[k]) changed.add(a.featureNames[k % cols]!);
  }
  return changed;
}

describe('FEATURE_TABLES', () => {
  it('lists the tables of every feature of every set', () => {
    for (const set of Object.values(FEATURE_SETS))
      for (const f of set.features) expect(FEATURE_TABLES[f.name], f.name).toBeDefined();
  });

  it('lists every table whose rows change a feature (checked by removing each table’s rows)', () => {
    const base = extractQaExtended(records, { asOf });
    for (const table of TABLE_NAMES) {
      const changed = changedColumns(base, extractQaExtended(without(table, records), { asOf }));
      // qa74_missing_count counts the missing flags of the 74, whatever table set them.
      changed.delete('qa74_missing_count');
      for (const name of changed)
        expect(FEATURE_TABLES[name], `${name} after removing ${table}`).toContain(table);
      // The tables the features read do change them (the check above is not vacuous).
      if (table === 'Offset' || table === 'Dose_Hst' || table === 'TxFieldPoint' || table === 'TxField')
        expect(changed.size, table).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('FEATURE_TABLES of the longitudinal set', () => {
  it('lists every table whose rows change a longitudinal feature', () => {
    // A week of the clinic, so that courses have several fractions.
    const week = generateRecords({ seed: 17, records: 5000 });
    const base = extractQaLongitudinal(week, { asOf });
    const touched = new Set<string>();
    for (const table of TABLE_NAMES) {
      const changed = changedColumns(base, extractQaLongitudinal(without(table, week), { asOf }));
      for (const name of changed) {
        if (!QA_LONGITUDINAL_FEATURE_NAMES.slice(87).includes(name)) continue;
        touched.add(name);
        expect(FEATURE_TABLES[name], `${name} after removing ${table}`).toContain(table);
      }
    }
    // The check is not vacuous: removing tables changes the course features.
    expect(touched.size).toBeGreaterThanOrEqual(10);
  });
});

describe('absentTables', () => {
  it('makes the features of absent tables a constant, not missing data, whatever the rows hold', () => {
    const absent: TableName[] = ['Dose_Hst', 'Offset'];
    const unobserved = unobservedFeatures(QA_EXTENDED_FEATURE_NAMES, absent);
    expect(unobserved).toEqual([
      'dose_time_delta',
      'dose_time_mismatch',
      ...QA_EXTENDED_FEATURE_NAMES.slice(62, 74),
      'offset_shift_vs_previous',
      'offset_age_hours',
    ]);
    const stripped = extractQaExtended(without('Offset', without('Dose_Hst', records)), {
      asOf,
      absentTables: absent,
    });
    const full = extractQaExtended(records, { asOf, absentTables: absent });
    const plain = extractQaExtended(without('Offset', without('Dose_Hst', records)), { asOf });
    // A source with offsets and dose history, scored as the model trained without them saw its
    // data, gives exactly the same rows: nothing about those tables reaches the model.
    expect(Array.from(full.X.data)).toEqual(Array.from(stripped.X.data));
    expect(Array.from(full.missing)).toEqual(Array.from(stripped.missing));
    const cols = stripped.X.cols;
    const missingCount = QA_EXTENDED_FEATURE_NAMES.indexOf('qa74_missing_count');
    for (let i = 0; i < stripped.X.rows; i++) {
      for (const name of unobserved) {
        const j = QA_EXTENDED_FEATURE_NAMES.indexOf(name);
        expect(stripped.missing[i * cols + j]).toBe(0);
      }
      // Without absentTables the missing offsets and doses are counted as missing data.
      expect(plain.X.get(i, missingCount) - stripped.X.get(i, missingCount)).toBeGreaterThanOrEqual(11);
    }
    // Features of present tables are untouched.
    const observed = QA_EXTENDED_FEATURE_NAMES.flatMap((n, j) =>
      unobserved.includes(n) || n === 'qa74_missing_count' ? [] : [j],
    );
    for (let i = 0; i < 50; i++)
      for (const j of observed) expect(stripped.X.get(i, j)).toBe(plain.X.get(i, j));
    // The 74-feature set follows the same rule.
    const qa74 = extractQa74(records, { asOf, absentTables: ['Offset'] });
    expect(qa74.X.get(0, 62)).toBe(0);
    expect(qa74.missing[62]).toBe(0);
    expect(qa74.X.get(0, 71)).toBe(1);
  });

  it('refuses names that are not Mosaiq tables', () => {
    expect(() => extractQa74(records.slice(0, 1), { absentTables: ['Offsets' as TableName] })).toThrow(
      /options\.absentTables\[0\]: expected one of TrackTreatment/,
    );
  });
});
