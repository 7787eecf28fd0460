import { parseTableNames, type TableName } from '@anomalia/mosaiq';
import type { FeatureDefinition } from './definitions';

/**
 * The tables each feature reads besides TrackTreatment (every feature reads the treatment row).
 * When a source's extract lacks one of them, the feature is *unobserved*: extraction with
 * `absentTables` writes its documented `missingValue` for every record and leaves its missing
 * flag clear, so it is a constant, not a "missing data" signal a model could learn (every record
 * would otherwise look as if its offset or dose record had been deleted).
 */
export function featureTables(f: FeatureDefinition): TableName[] {
  if (f.tables) return [...f.tables];
  switch (f.category) {
    case 'foreign_keys':
      return f.name === 'patient_exists'
        ? ['Patient']
        : f.name === 'field_exists'
          ? ['TxField']
          : f.name === 'site_exists'
            ? ['Site']
            : [];
    case 'timestamps':
      return f.name.startsWith('dose_') ? ['Dose_Hst'] : [];
    case 'meterset':
      if (f.name.startsWith('mu_cp_')) return ['TxField', 'TxFieldPoint'];
      return f.name === 'index_decreases' ? ['TxFieldPoint'] : ['TxField'];
    case 'control_points':
      // The minimum depends on the field's type (TxField.Type_Enum).
      return f.name === 'cp_minimum_met' ? ['TxField', 'TxFieldPoint'] : ['TxFieldPoint'];
    case 'angles':
    case 'mlc':
      return ['TxFieldPoint'];
    case 'offsets':
      return ['Offset'];
    case 'cohort':
      return f.name.startsWith('offset_') ? ['Offset'] : [];
    case 'longitudinal':
      return [];
  }
}

/** Column indices of the unobserved features (for the extractors). */
export function unobservedColumns(
  features: readonly FeatureDefinition[],
  absentTables: readonly TableName[] | undefined,
  field = 'options.absentTables',
): Int32Array {
  if (absentTables === undefined) return new Int32Array(0);
  const absent = new Set(parseTableNames(absentTables, field));
  const out: number[] = [];
  features.forEach((f, j) => {
    if (featureTables(f).some((t) => absent.has(t))) out.push(j);
  });
  return Int32Array.from(out);
}
