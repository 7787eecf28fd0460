import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type MatrixDetector, parseJsonText, parseWith, ValidationError } from '@anomalia/core';
import { FEATURE_SETS, type FeatureSet } from '@anomalia/features';
import { parseTableNames, type TablePresence } from '@anomalia/mosaiq';
import { z } from 'zod';
import { type FeatureReference, parseFeatureReference } from './reference';

/** How to load one kind of model artifact (the `kind` of its manifest, e.g. `energy-model`). */
export interface ModelKind {
  load(dir: string): Promise<MatrixDetector>;
  /**
   * The model's scores are severities on the 0–3 scale (the energy model's energy); a function
   * when the loaded model says (an ONNX export of an energy model does).
   */
  readonly scoresAreSeverities?: boolean | ((detector: MatrixDetector) => boolean);
}

/** Files a promotion keeps beside the model (copied from the run directory). */
export const MODEL_COMPANION_FILES = {
  /** The tables of the source the model was trained on (a source lacking one is refused). */
  sourceTables: 'source_tables.json',
  /** Per-feature bins of the training normals (the monitor's data-mismatch guard). */
  reference: 'reference.json',
} as const;

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex');

const PromotionSchema = z.object({
  runId: z.string().min(1),
  promoted: z.boolean(),
  reasons: z.array(z.string()),
  metrics: z.record(z.string(), z.unknown()),
  at: z.string().min(1),
  /** SHA-256 of each companion file, so an edited or swapped one is noticed. */
  files: z.record(z.string(), Sha256Schema).optional(),
});
/** `promotion.json`, written beside the model when a training run passed its gate. */
export type PromotionRecord = z.output<typeof PromotionSchema>;

const ManifestKindSchema = z.object({ kind: z.string().min(1) });

/** A promoted model with the feature set it was trained on. */
export interface PromotedModel {
  readonly name: string;
  /** `<modelsDir>/current/<name>`. */
  readonly dir: string;
  /** The manifest's kind (e.g. `energy-model`). */
  readonly kind: string;
  readonly detector: MatrixDetector;
  readonly featureSet: FeatureSet;
  readonly promotion: PromotionRecord;
  readonly scoresAreSeverities: boolean;
  /** The source tables the model was trained with (`source_tables.json`); null when not kept. */
  readonly sourceTables: TablePresence | null;
  /** The training reference (`reference.json`); null when not kept. */
  readonly reference: FeatureReference | null;
}

/** A model's feature names and a feature set's differ: scoring would feed columns to the wrong weights. */
export class FeatureSetMismatchError extends Error {
  override readonly name = 'FeatureSetMismatchError';
  constructor(
    readonly model: string,
    readonly featureSet: string,
    /** In the feature set, not in the model. */
    readonly missingFromModel: readonly string[],
    /** In the model, not in the feature set. */
    readonly missingFromSet: readonly string[],
    /** The first column whose name differs, when both hold the same names in another order. */
    readonly firstDifference: { index: number; model: string; featureSet: string } | null,
  ) {
    super(
      `model ${model} was not trained on feature set ${featureSet}: ${describeDifference(
        missingFromModel,
        missingFromSet,
        firstDifference,
      )}`,
    );
  }
}

function describeDifference(
  missingFromModel: readonly string[],
  missingFromSet: readonly string[],
  first: { index: number; model: string; featureSet: string } | null,
): string {
  const list = (names: readonly string[]) =>
    names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const parts: string[] = [];
  if (missingFromModel.length) parts.push(`the set has ${list(missingFromModel)}, which the model lacks`);
  if (missingFromSet.length) parts.push(`the model has ${list(missingFromSet)}, which the set lacks`);
  if (first && parts.length === 0) {
    parts.push(
      `same names in another order (column ${first.index} is ${first.model} in the model, ${first.featureSet} in the set)`,
    );
  }
  return parts.join('; ');
}

/** Throws FeatureSetMismatchError unless `featureNames` are exactly the set's, in order. */
export function checkFeatureSet(model: string, featureNames: readonly string[], set: FeatureSet): void {
  const setNames = set.features.map((f) => f.name);
  if (setNames.length === featureNames.length && setNames.every((n, i) => n === featureNames[i])) return;
  const inModel = new Set(featureNames);
  const inSet = new Set(setNames);
  const index = setNames.findIndex((n, i) => n !== featureNames[i]);
  throw new FeatureSetMismatchError(
    model,
    set.name,
    setNames.filter((n) => !inModel.has(n)),
    featureNames.filter((n) => !inSet.has(n)),
    index >= 0 && index < featureNames.length
      ? { index, model: featureNames[index]!, featureSet: setNames[index]! }
      : null,
  );
}

export interface LoadPromotedModelOptions {
  /** Where `current/` and `candidates/` live (the train config's `promotion.modelsDir`). */
  readonly modelsDir?: string;
  /** The model's name: the training config's `name`. */
  readonly name?: string;
  /** Or the promotion's directory itself (`models/current/<name>`, a candidate's): instead of the two above. */
  readonly dir?: string;
  /** The kinds this program can load, by manifest kind. */
  readonly kinds: Readonly<Record<string, ModelKind>>;
  /**
   * The feature set the caller will extract. Omitted: the set whose names equal the model's.
   * Either way a model whose feature names differ from the set's is refused, naming the difference.
   */
  readonly featureSet?: string;
}

/**
 * Loads `<modelsDir>/current/<name>` (the model a training run promoted): its promotion record,
 * the artifact through the loader of its kind (which verifies every checksum), and the feature
 * set it was trained on.
 */
export async function loadPromotedModel(options: LoadPromotedModelOptions): Promise<PromotedModel> {
  let dir: string;
  let label: string;
  if (options.dir !== undefined) {
    dir = options.dir;
    label = dir;
  } else {
    if (options.modelsDir === undefined || options.name === undefined)
      throw new ValidationError('modelsDir', 'modelsDir and name, or dir');
    dir = join(options.modelsDir, 'current', options.name);
    label = `current/${options.name}`;
  }
  const name = options.name ?? basename(dir);
  if (!existsSync(dir)) {
    throw new ValidationError(
      options.dir !== undefined ? 'dir' : 'name',
      `a promoted model (${dir} does not exist: a training run writes it when the model passes its gate)`,
      options.dir ?? name,
    );
  }
  const promotion = parseWith(
    PromotionSchema,
    parseJsonText(await readText(join(dir, 'promotion.json'), name), `${label}/promotion.json`),
    `${label}/promotion.json`,
  );
  const modelDir = join(dir, 'model');
  const manifestPath = join(modelDir, 'manifest.json');
  const { kind } = parseWith(
    ManifestKindSchema,
    parseJsonText(await readText(manifestPath, name), `${label}/model/manifest.json`),
    `${label}/model/manifest.json`,
  );
  const entry = options.kinds[kind];
  if (!entry) {
    throw new ValidationError(
      `${label}/model/manifest.json.kind`,
      `a model kind this program loads (${Object.keys(options.kinds).join(', ') || 'none'})`,
      kind,
    );
  }
  const detector = await entry.load(modelDir);
  const featureNames = detector.featureNames;
  if (!featureNames) {
    throw new ValidationError(
      `${label}/model/manifest.json.featureNames`,
      'the feature names the model was trained on (saved without them, it cannot be matched to a feature set)',
    );
  }
  const featureSet = resolveFeatureSet(name, featureNames, options.featureSet);
  const sourceTables = await readCompanion(
    dir,
    label,
    MODEL_COMPANION_FILES.sourceTables,
    promotion,
    (v, f) => parseSourceTables(v, f),
  );
  const reference = await readCompanion(dir, label, MODEL_COMPANION_FILES.reference, promotion, (v, f) =>
    parseFeatureReference(v, f),
  );
  if (reference) {
    const names = reference.features.map((f) => f.name);
    if (names.length !== featureNames.length || names.some((n, i) => n !== featureNames[i]))
      throw new ValidationError(
        `${label}/${MODEL_COMPANION_FILES.reference}.features`,
        `the model's ${featureNames.length} features in its order (the reference belongs to another model)`,
      );
  }
  return {
    name,
    dir,
    kind,
    detector,
    featureSet,
    promotion,
    scoresAreSeverities:
      typeof entry.scoresAreSeverities === 'function'
        ? entry.scoresAreSeverities(detector)
        : (entry.scoresAreSeverities ?? false),
    sourceTables,
    reference,
  };
}

const SourceTablesSchema = z.strictObject({
  recorded: z.boolean(),
  present: z.array(z.string()),
  absent: z.array(z.string()),
});

function parseSourceTables(input: unknown, field: string): TablePresence {
  const t = parseWith(SourceTablesSchema, input, field);
  return {
    recorded: t.recorded,
    present: parseTableNames(t.present, `${field}.present`),
    absent: parseTableNames(t.absent, `${field}.absent`),
  };
}

/** SHA-256 of bytes, in hex. */
export const sha256Hex = (bytes: Uint8Array | string): string =>
  createHash('sha256').update(bytes).digest('hex');

/**
 * A companion file of the promotion: null when absent (a model promoted before it was kept);
 * checked against promotion.json's digest when it lists one, then parsed.
 */
async function readCompanion<T>(
  dir: string,
  label: string,
  file: string,
  promotion: PromotionRecord,
  parse: (value: unknown, field: string) => T,
): Promise<T | null> {
  const path = join(dir, file);
  const expected = promotion.files?.[file];
  if (!existsSync(path)) {
    if (expected)
      throw new ValidationError(`${label}/${file}`, 'the file promotion.json lists (it is missing)');
    return null;
  }
  const bytes = await readFile(path);
  if (expected && sha256Hex(bytes) !== expected)
    throw new ValidationError(
      `${label}/${file}`,
      `the content promotion.json's digest names (sha256 ${expected.slice(0, 12)}…); the file was changed after promotion`,
    );
  return parse(parseJsonText(bytes.toString('utf8'), `${label}/${file}`), `${label}/${file}`);
}

/** The requested set, checked against the model; or the one set whose names are the model's. */
function resolveFeatureSet(model: string, featureNames: readonly string[], requested?: string): FeatureSet {
  const sets = Object.values(FEATURE_SETS) as FeatureSet[];
  if (requested !== undefined) {
    const set = sets.find((s) => s.name === requested);
    if (!set) {
      throw new ValidationError('featureSet', `one of ${sets.map((s) => s.name).join(', ')}`, requested);
    }
    checkFeatureSet(model, featureNames, set);
    return set;
  }
  for (const set of sets) {
    try {
      checkFeatureSet(model, featureNames, set);
      return set;
    } catch (error) {
      if (!(error instanceof FeatureSetMismatchError)) throw error;
    }
  }
  // None matches: report the difference from the closest set (fewest differing names).
  const closest = sets
    .map((set) => ({ set, shared: set.features.filter((f) => featureNames.includes(f.name)).length }))
    .sort((a, b) => b.shared - a.shared)[0]!.set;
  checkFeatureSet(model, featureNames, closest);
  throw new Error('unreachable: the closest set was checked above');
}

async function readText(path: string, name: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(
      'name',
      `a promoted model with ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      name,
    );
  }
}
