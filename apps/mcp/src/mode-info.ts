import { type FailureMode, paramsJsonSchema } from '@anomalia/failure-modes';
import { type FeatureCategory, type FeatureDefinition, QA_EXTENDED_FEATURES } from '@anomalia/features';
import { categorize, getBand, ROUTING_ACTIONS } from '@anomalia/severity';

/**
 * The Mosaiq data each family of QA checks reads (what a detector must be given for the check
 * to see a corruption). The checks' own definitions, from @anomalia/features, name the columns.
 */
export const DATA_READ_BY_CATEGORY: Readonly<Record<FeatureCategory, string>> = Object.freeze({
  foreign_keys:
    'TrackTreatment.Pat_ID1 / FLD_ID / SIT_ID and whether the Patient, TxField and Site rows they name exist',
  timestamps:
    'TrackTreatment.Create_DtTm and Edit_DtTm, the extraction time (asOf), and the matching Dose_Hst row (Tx_DtTm)',
  meterset: 'TxField.Meterset and the cumulative meterset weights TxFieldPoint.[Index] of the field',
  control_points: 'every TxFieldPoint row of the field (Point) and TxField.Type_Enum',
  angles: 'TxFieldPoint.Gantry_Ang and Coll_Ang at every control point',
  mlc: 'TxFieldPoint.A_Leaf_Set / B_Leaf_Set (binary(200), int16 slots in 1/100 cm), MLC_Leaves and the jaws (Coll_X1/X2/Y1/Y2)',
  offsets:
    'the latest valid Offset of the site set (Version 0): Superior/Anterior/Lateral_Offset, Offset_Type, Offset_State, Study_DtTm',
  cohort:
    'the other treatments of the same patient (and field): Create_DtTm, Edit_DtTm, WasBeamComplete, WasQAMode, offsets',
});

export interface QaCheckInfo {
  feature: string;
  category: FeatureCategory;
  unit: string;
  definition: string;
  /** When the check cannot be computed (its inputs are missing). */
  missingWhen: string;
  /** The Mosaiq data the check reads. */
  reads: string;
  /** Variants this check reacts to with default parameters (tested in @anomalia/failure-modes). */
  reactsTo: string[];
}

export interface VariantInfo {
  variant: string;
  severity: number;
  band: string;
  /** What the severity band asks of whoever reviews it (@anomalia/severity routing). */
  action: string;
  description: string;
  writes: string[];
  features: string[];
  cohortFeatures: string[];
  /** What reveals it (series, records, test); empty for variants the QA features catch. */
  evidence: string;
  parameters: Record<string, unknown>;
}

export interface ModeInfo {
  mode: string;
  kind: string;
  scope: string;
  description: string;
  severity: number;
  band: string;
  bandDescription: string;
  variants: VariantInfo[];
  qaChecks: QaCheckInfo[];
}

const FEATURES = new Map<string, FeatureDefinition>(QA_EXTENDED_FEATURES.map((f) => [f.name, f]));

/** A variant's parameters as JSON Schema (draft 2020-12), without the `$schema` line. */
export function variantParameters(mode: FailureMode, variant: string): Record<string, unknown> {
  const { $schema: _, ...schema } = paramsJsonSchema(mode.variant(variant).params);
  return schema;
}

/**
 * Everything a client needs to choose and call a failure mode: description, severities, variants
 * with their parameter schemas, and the QA checks that catch it with the data they read. The QA
 * checks are those that react to a variant, plus those the feature catalogue says the mode is
 * meant to be caught by.
 */
export function describeMode(mode: FailureMode): ModeInfo {
  const band = categorize(mode.severity);
  const reacts = new Map<string, string[]>();
  const variants = mode.variants.map((v): VariantInfo => {
    for (const f of [...v.features, ...v.cohortFeatures]) {
      const list = reacts.get(f) ?? [];
      list.push(v.id);
      reacts.set(f, list);
    }
    return {
      variant: v.id,
      severity: v.severity,
      band: v.band,
      action: ROUTING_ACTIONS[v.band],
      description: v.description,
      writes: [...v.writes],
      features: [...v.features],
      cohortFeatures: [...v.cohortFeatures],
      evidence: v.evidence,
      parameters: variantParameters(mode, v.id),
    };
  });
  const names = new Set(reacts.keys());
  for (const f of QA_EXTENDED_FEATURES) {
    if ((f.catches as readonly string[]).includes(mode.id)) names.add(f.name);
  }
  const qaChecks: QaCheckInfo[] = [];
  for (const f of QA_EXTENDED_FEATURES) {
    if (!names.has(f.name)) continue;
    qaChecks.push({
      feature: f.name,
      category: f.category,
      unit: f.unit,
      definition: f.description,
      missingWhen: f.missingWhen || 'never',
      reads: DATA_READ_BY_CATEGORY[f.category],
      reactsTo: reacts.get(f.name) ?? [],
    });
  }
  for (const name of names) {
    // A feature name the catalogue of checks does not know is a bug in a mode definition: say so.
    if (!FEATURES.has(name)) throw new Error(`${mode.id}: unknown QA feature ${JSON.stringify(name)}`);
  }
  return {
    mode: mode.id,
    kind: mode.kind,
    scope: mode.scope,
    description: mode.description,
    severity: mode.severity,
    band,
    bandDescription: getBand(band).description,
    variants,
    qaChecks,
  };
}
