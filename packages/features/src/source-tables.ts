import { parseTableNames, type TableName } from '@anomalia/mosaiq';
import { featureTables } from './feature-tables';
import { QA_LONGITUDINAL_FEATURES } from './longitudinal/extract';

/** Feature name → the tables it reads besides TrackTreatment, for every feature of every set. */
export const FEATURE_TABLES: Readonly<Record<string, readonly TableName[]>> = Object.freeze(
  Object.fromEntries(QA_LONGITUDINAL_FEATURES.map((f) => [f.name, Object.freeze(featureTables(f))])),
);

/** The features (of `featureNames`, in order) that read one of `absentTables`. */
export function unobservedFeatures(
  featureNames: readonly string[],
  absentTables: readonly TableName[],
): string[] {
  const absent = new Set(parseTableNames(absentTables, 'absentTables'));
  return featureNames.filter((name) => (FEATURE_TABLES[name] ?? []).some((t) => absent.has(t)));
}
