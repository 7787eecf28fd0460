import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureSetName } from '@anomalia/features';
import { EnergyModel } from '@anomalia/neural';
import {
  buildFeatureReference,
  MODEL_COMPANION_FILES,
  prepareTrainingSet,
  type SourceConfig,
  sha256Hex,
} from '@anomalia/qa-workflow';

export interface PromotedModelOptions {
  /** The training source (read-only; its cohort is corrupted in a sandbox copy). */
  readonly source: SourceConfig;
  /** Where `current/<name>` is written. */
  readonly modelsDir: string;
  readonly name?: string;
  readonly featureSet?: FeatureSetName;
  readonly normal?: number;
  readonly adversarial?: number;
  readonly epochs?: number;
  readonly seed?: number;
  /** Keep source_tables.json and reference.json with the model (as the train app does). */
  readonly companions?: boolean;
}

/**
 * A promoted energy model as `anomalia-train` leaves it (`current/<name>/model`, `promotion.json`
 * with the companions' digests, `source_tables.json`, `reference.json`), trained quickly through
 * the same workflow: a severity-balanced corruption plan on a sandbox copy of `source`. For tests
 * and benchmarks; the train app is the way to train a model for use.
 */
export async function trainPromotedModel(o: PromotedModelOptions): Promise<string> {
  const name = o.name ?? 'mosaiq-ebm';
  const dir = join(o.modelsDir, 'current', name);
  mkdirSync(dir, { recursive: true });
  const seed = o.seed ?? 42;
  const set = await prepareTrainingSet({
    source: o.source,
    recentDays: 3650,
    normal: o.normal ?? 1000,
    adversarial: o.adversarial ?? 1000,
    includeMalicious: false,
    seed,
    sandboxPath: join(o.modelsDir, `sandbox-${name}.sqlite`),
    featureSet: o.featureSet ?? 'qa74-cohort',
  });
  try {
    const severity = Float64Array.from(set.plan.examples, (e) => e.severity);
    const model = new EnergyModel({
      epochs: o.epochs ?? 40,
      learningRate: 0.001,
      batchSize: 64,
      scaler: 'minmax',
      seed,
    });
    await model.fit(set.features.X, { y: severity, featureNames: set.features.featureNames });
    await model.save(join(dir, 'model'));
    const normals = set.plan.examples.flatMap((e, i) => (e.severity < 0.4 ? [i] : []));
    const files: Record<string, string> = {};
    if (o.companions ?? true) {
      const write = (file: string, body: string) => {
        writeFileSync(join(dir, file), body);
        files[file] = sha256Hex(readFileSync(join(dir, file)));
      };
      write(MODEL_COMPANION_FILES.sourceTables, `${JSON.stringify(set.sourceTables)}\n`);
      write(
        MODEL_COMPANION_FILES.reference,
        `${JSON.stringify(
          buildFeatureReference(
            set.features.X.selectRows(normals),
            set.features.featureNames,
            set.featureSet.name,
            'training normals',
          ),
        )}\n`,
      );
    }
    writeFileSync(
      join(dir, 'promotion.json'),
      `${JSON.stringify({ runId: `test-${name}-${seed}`, promoted: true, reasons: [], metrics: {}, at: new Date().toISOString(), files })}\n`,
    );
  } finally {
    await set.finish();
  }
  return dir;
}
