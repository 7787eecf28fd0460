import { QA_EXTENDED_FEATURES, QA74_FEATURE_NAMES } from '@anomalia/features';
import { MOSAIQ_TABLES, type TableName } from '@anomalia/mosaiq';
import { UnknownFailureModeError, UnknownVariantError } from '@anomalia/severity';
import { mosaiqScale } from '@anomalia/severity/mosaiq';
import { describe, expect, it } from 'vitest';
import {
  ACCIDENTAL_FAILURE_MODES,
  createFailureCatalogue,
  failureCatalogue,
  MALICIOUS_FAILURE_MODES,
} from './catalogue';
import { UnimplementedFailureModeError } from './errors';

describe('the catalogue', () => {
  it('implements every accidental and malicious mode of the severity catalogue with exactly its variants', () => {
    expect(ACCIDENTAL_FAILURE_MODES.map((m) => m.id)).toEqual(mosaiqScale.modeIds('accidental'));
    expect(MALICIOUS_FAILURE_MODES.map((m) => m.id)).toEqual(mosaiqScale.modeIds('malicious'));
    expect(failureCatalogue.modes.map((m) => m.id)).toEqual(mosaiqScale.modeIds());
    for (const mode of failureCatalogue.modes) {
      const catalogued = mosaiqScale.getMode(mode.id);
      expect(mode.variants.map((v) => v.id)).toEqual(catalogued.variants.map((v) => v.id));
      expect(mode.kind).toBe(catalogued.kind);
    }
  });

  it('takes every severity from @anomalia/severity', () => {
    for (const mode of failureCatalogue.modes) {
      expect(mode.severity).toBe(mosaiqScale.severity(mode.id));
      for (const v of mode.variants) {
        expect(v.severity).toBe(mosaiqScale.severity(mode.id, v.id));
        expect(v.band).toBe(mosaiqScale.assess(mode.id, v.id).band);
      }
    }
    expect(failureCatalogue.variant('orphaned_records', 'patient_id').severity).toBe(2.8);
  });

  it('names only real features: the 74 QA features and the extended cohort ones', () => {
    const extended = QA_EXTENDED_FEATURES.slice(74).map((f) => f.name);
    for (const v of failureCatalogue.variants()) {
      // A malicious variant may be invisible to every single-record check (jaws): then a cohort feature reacts.
      expect(v.features.length + v.cohortFeatures.length, `${v.mode}/${v.id} names features`).toBeGreaterThan(
        0,
      );
      for (const f of v.features) expect(QA74_FEATURE_NAMES, `${v.mode}/${v.id}`).toContain(f);
      for (const f of v.cohortFeatures) expect(extended, `${v.mode}/${v.id}`).toContain(f);
    }
  });

  it('documents the columns each variant writes as real Table.Column names', () => {
    for (const v of failureCatalogue.variants()) {
      expect(v.writes.length).toBeGreaterThan(0);
      for (const w of v.writes) {
        const [table, column] = w.split('.') as [TableName, string | undefined];
        expect(Object.keys(MOSAIQ_TABLES), w).toContain(table);
        if (column !== undefined) expect(Object.keys(MOSAIQ_TABLES[table].columns), w).toContain(column);
      }
    }
  });

  it('lists the known modes when a mode id is unknown, with a suggestion', () => {
    const err = (() => {
      try {
        failureCatalogue.mode('corrupt_mlc');
      } catch (e) {
        return e;
      }
    })() as UnknownFailureModeError;
    expect(err).toBeInstanceOf(UnknownFailureModeError);
    expect(err.knownModes).toEqual(failureCatalogue.modes.map((m) => m.id));
    expect(err.suggestion).toBe('corrupt_mlc_data');
    expect(err.message).toContain('invalid_offset_data');
  });

  it('lists the known variants when a variant is unknown', () => {
    expect(() => failureCatalogue.variant('invalid_angles', 'couch')).toThrow(UnknownVariantError);
    expect(() => failureCatalogue.variant('invalid_angles', 'couch')).toThrow(/gantry, collimator, both/);
    expect(() =>
      failureCatalogue
        .mode('timestamp_inconsistencies')
        .apply({ variant: 'zero_duration', cohort: [], rng: 1 }),
    ).toThrow(/Known variants: edit_before_create, future_timestamp, negative_duration/);
  });

  it('tells a catalogued mode a catalogue leaves out from a typo', () => {
    const accidental = createFailureCatalogue(ACCIDENTAL_FAILURE_MODES);
    expect(() => accidental.mode('subtle_dose_escalation')).toThrow(UnimplementedFailureModeError);
    expect(() => accidental.mode('subtle_dose_escalation')).toThrow(/Implemented modes: corrupt_mlc_data/);
    expect(() => accidental.mode('subtle_dose')).toThrow(UnknownFailureModeError);
    expect(failureCatalogue.mode('subtle_dose_escalation').kind).toBe('malicious');
  });

  it('refuses a mode twice', () => {
    expect(() =>
      createFailureCatalogue([ACCIDENTAL_FAILURE_MODES[0]!, ACCIDENTAL_FAILURE_MODES[0]!]),
    ).toThrow(/modes\[1\]\.id/);
  });

  it('filters variants by kind', () => {
    expect(failureCatalogue.variants({ kinds: ['accidental'] })).toHaveLength(32);
    expect(failureCatalogue.variants({ kinds: ['malicious'] })).toHaveLength(40);
    expect(failureCatalogue.variants()).toHaveLength(72);
  });
});
