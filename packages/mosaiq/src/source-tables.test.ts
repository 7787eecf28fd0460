import { describe, expect, it } from 'vitest';
import {
  allTablesPresent,
  assertSourceTables,
  compareSourceTables,
  MissingTablesError,
  parseTableNames,
} from './source-tables';
import { TABLE_NAMES } from './tables';

const withoutOffsets = {
  recorded: true,
  present: TABLE_NAMES.filter((t) => t !== 'Offset' && t !== 'Dose_Hst'),
  absent: ['Dose_Hst' as const, 'Offset' as const],
};

describe('compareSourceTables', () => {
  it('names the tables a model was trained with that a source lacks, and those it never saw', () => {
    expect(compareSourceTables(TABLE_NAMES, withoutOffsets)).toEqual({
      missing: ['Dose_Hst', 'Offset'],
      unused: [],
    });
    expect(compareSourceTables(withoutOffsets.present, allTablesPresent())).toEqual({
      missing: [],
      unused: ['Dose_Hst', 'Offset'],
    });
    expect(compareSourceTables(TABLE_NAMES, TABLE_NAMES)).toEqual({ missing: [], unused: [] });
  });

  it('refuses to apply a model trained with Offsets to a source without them', () => {
    expect(() => assertSourceTables(TABLE_NAMES, withoutOffsets, 'clinic.sqlite')).toThrow(
      MissingTablesError,
    );
    expect(() => assertSourceTables(TABLE_NAMES, withoutOffsets, 'clinic.sqlite')).toThrow(
      "clinic.sqlite: the model was trained with the Dose_Hst, Offset tables, which this source's extract does not contain",
    );
    expect(assertSourceTables(withoutOffsets.present, TABLE_NAMES).unused).toEqual(['Dose_Hst', 'Offset']);
  });

  it('validates table names', () => {
    expect(parseTableNames(['Offset', 'TrackTreatment', 'Offset'])).toEqual(['TrackTreatment', 'Offset']);
    expect(() => parseTableNames(['Offsets'], 'model.tables')).toThrow(
      /model\.tables\[0\]: expected one of TrackTreatment, .*received "Offsets"/,
    );
    expect(() => compareSourceTables('Offset' as never, TABLE_NAMES)).toThrow(
      /trainedWith: expected an array/,
    );
  });
});
