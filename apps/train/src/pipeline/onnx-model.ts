import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ArtifactError,
  type LoadedArtifact,
  loadArtifact,
  MANIFEST_FILE,
  type MatrixDetector,
  ValidationError,
} from '@anomalia/core';
import { FEATURE_SETS } from '@anomalia/features';
import { loadOnnxDetector, OnnxDetector, type OnnxLoadOptions } from '@anomalia/onnx';
import { ConfigError } from '../config/load';
import type { OnnxModelConfig, TrainConfig } from '../config/schema';
import type { MatrixModel } from '../registry';

/** What the run evaluated: where the ONNX model came from and what validation found in it. */
export interface OnnxModelInfo {
  /** The file or artifact directory opened (resolved). */
  path: string;
  /** A bare `.onnx` file, or an "onnx" artifact directory (checksums verified). */
  form: 'file' | 'artifact';
  sha256: string;
  bytes: number;
  /** The Anomalia model kind it was exported from, or "external" (PyTorch, scikit-learn …). */
  source: string;
  producer: string;
  opset: number;
  irVersion: number;
  input: { name: string; type: string };
  scoreOutput: string;
  featureNames: string[];
  /** Whether the names came with the model or from `model.featureNames`. */
  featureNamesFrom: 'model' | 'config';
  scoresAreSeverities: boolean;
  /** The threshold and calibration the model carried when opened (before this run chose its own). */
  carried: { threshold: number | null; calibrator: string | null };
}

/** An ONNX model opened for evaluation: its registry entry (fresh sessions on the same bytes) and what it is. */
export interface OpenedOnnxModel {
  entry: MatrixModel;
  info: OnnxModelInfo;
  /** Throws a ConfigError naming the first feature where the data set differs from the model. */
  checkFeatures(datasetFeatures: readonly string[]): void;
  /** Releases the session opened to inspect the model. */
  close(): Promise<void>;
}

const SCORE_NAMES: Record<string, string> = {
  'energy-model': 'energy',
  autoencoder: 'reconstruction error',
  'variational-autoencoder': 'anomaly score',
};

/**
 * Opens `model.path` (validated before a session exists, checksums verified for an artifact) and
 * checks the run's settings against it: feature names, `threshold.strategy: model` and
 * `calibration: model` need a model that carries them. Every problem is a ConfigError naming the
 * key. The returned entry gives each use (the run, every fold, every split view) its own session
 * on the bytes read here, so the model cannot change under the run.
 */
export async function openOnnxModel(
  model: OnnxModelConfig,
  config: Pick<TrainConfig, 'threshold' | 'calibration' | 'dataset'>,
  cwd: string,
): Promise<OpenedOnnxModel> {
  const located = await locate(resolve(cwd, model.path), model.path);
  const featureNames =
    typeof model.featureNames === 'string'
      ? await readFeatureNames(resolve(cwd, model.featureNames), model.featureNames)
      : model.featureNames;
  const options: OnnxLoadOptions = {
    ...(featureNames ? { featureNames } : {}),
    ...(model.sha256 ? { sha256: model.sha256 } : {}),
    ...(model.scoreOutput ? { scoreOutput: model.scoreOutput } : {}),
    ...(model.batchSize ? { batchSize: model.batchSize } : {}),
    ...(model.maxBytes ? { maxBytes: model.maxBytes } : {}),
    ...(model.session ? { session: model.session } : {}),
  };
  const probe = await asConfigError(() => loadOnnxDetector(located.path, options), model.path);
  try {
    if (!probe.featureNames) {
      throw new ConfigError(
        'model.featureNames',
        `${model.path} carries no feature names: list the ${probe.inputDimension} columns it was trained on, in order, or name a file with one per line (such as a run's features.txt)`,
      );
    }
    if (config.threshold?.strategy === 'model' && !probe.threshold) {
      throw new ConfigError(
        'threshold.strategy',
        `"model" keeps the model's own threshold, and ${model.path} carries none: choose one (max-f1, target-fpr, …) or a fixed value`,
      );
    }
    if (config.calibration === 'model' && !probe.calibrator) {
      throw new ConfigError(
        'calibration',
        `"model" keeps the model's own calibrator, and ${model.path} carries none: use platt or isotonic`,
      );
    }
    const names = [...probe.featureNames];
    const from = featureNames ? 'config' : 'model';
    const known = knownFeatureNames(config.dataset);
    if (known) checkFeatures(names, known, from);
    // Fresh sessions read nothing from disk again: the artifact or the bytes validated above.
    const open = await reopener(located, options, probe);
    const source = probe.params.source;
    const scoresAreSeverities = model.scoresAreSeverities ?? source === 'energy-model';
    const info: OnnxModelInfo = {
      path: located.path,
      form: located.form,
      sha256: probe.model.sha256,
      bytes: probe.model.bytes,
      source,
      producer: `${probe.model.producer.name} ${probe.model.producer.version}`.trim(),
      opset: probe.model.opset,
      irVersion: probe.model.irVersion,
      input: { name: probe.model.input.name, type: probe.model.input.type },
      scoreOutput: probe.model.scoreOutput.name,
      featureNames: names,
      featureNamesFrom: from,
      scoresAreSeverities,
      carried: { threshold: probe.threshold?.value ?? null, calibrator: probe.calibrator?.method ?? null },
    };
    const entry: MatrixModel = {
      input: 'matrix',
      // A severity energy is evaluated (and gated) against graded targets, like a trained EBM.
      supervised: scoresAreSeverities,
      scoreName: scoresAreSeverities
        ? 'energy'
        : (SCORE_NAMES[source] ?? `score (ONNX output "${info.scoreOutput}")`),
      create: () => open(),
      load: (dir) => loadOnnxDetector(dir),
      pretrained: { backend: 'onnxruntime-node' },
    };
    return {
      entry,
      info,
      checkFeatures: (datasetFeatures) => checkFeatures(names, datasetFeatures, info.featureNamesFrom),
      close: () => probe.close(),
    };
  } catch (e) {
    await probe.close();
    throw e;
  }
}

interface Located {
  path: string;
  form: 'file' | 'artifact';
}

/**
 * A `.onnx` file; an "onnx" artifact directory; or a run / promoted model directory, whose
 * exported `onnx/` is taken, else its `model/` when that is ONNX.
 */
async function locate(path: string, given: string): Promise<Located> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new ConfigError(
      'model.path',
      `cannot read ${given} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (!isDir) return { path, form: 'file' };
  if (existsSync(join(path, MANIFEST_FILE))) return { path, form: 'artifact' };
  for (const sub of ['onnx', 'model']) {
    if (existsSync(join(path, sub, MANIFEST_FILE))) return { path: join(path, sub), form: 'artifact' };
  }
  throw new ConfigError(
    'model.path',
    `${given} is a directory without a model: expected a .onnx file, an onnx artifact (manifest.json + model.onnx), or a run or promoted model directory with onnx/ or model/`,
  );
}

/** One name per line; blank lines and surrounding spaces ignored. */
async function readFeatureNames(path: string, given: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      'model.featureNames',
      `cannot read ${given} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (names.length === 0) throw new ConfigError('model.featureNames', `${given} holds no feature names`);
  return names;
}

/** A function opening a new session on exactly what the probe validated. */
async function reopener(
  located: Located,
  options: OnnxLoadOptions,
  probe: OnnxDetector,
): Promise<() => Promise<MatrixDetector>> {
  if (located.form === 'artifact') {
    const artifact: LoadedArtifact = await loadArtifact(located.path);
    return () => OnnxDetector.fromArtifact(artifact, options);
  }
  const bytes = new Uint8Array(await readFile(located.path));
  // The probe validated these bytes' checksum: a file replaced since is refused, not evaluated.
  const pinned = { ...options, sha256: probe.model.sha256 };
  return () => OnnxDetector.fromBytes(bytes, pinned, located.path);
}

/** Runs a load, turning the onnx package's errors into errors naming the config key. */
async function asConfigError<T>(load: () => Promise<T>, given: string): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ValidationError && e.field.startsWith('options.')) {
      throw new ConfigError(`model.${e.field.slice('options.'.length)}`, e.message.slice(e.field.length + 2));
    }
    if (e instanceof ArtifactError) throw new ConfigError('model.path', `${given}: ${e.message}`);
    throw e;
  }
}

/**
 * The features a data set will have, when known before it is prepared (a Mosaiq feature set), so
 * a model that cannot be fed is refused before the sandbox is corrupted.
 */
export function knownFeatureNames(dataset: TrainConfig['dataset']): string[] | null {
  return dataset.kind === 'mosaiq' ? FEATURE_SETS[dataset.features].features.map((f) => f.name) : null;
}

/** The data set's features must be the model's, in the model's order: columns are fed by position. */
export function checkFeatures(
  model: readonly string[],
  dataset: readonly string[],
  from: 'model' | 'config',
): void {
  const whose = from === 'model' ? 'the model' : 'model.featureNames';
  if (model.length === dataset.length && model.every((n, i) => n === dataset[i])) return;
  const inModel = new Set(model);
  const inData = new Set(dataset);
  const lacking = model.filter((n) => !inData.has(n));
  const extra = dataset.filter((n) => !inModel.has(n));
  const list = (xs: string[]) =>
    xs.length > 5 ? `${xs.slice(0, 5).join(', ')} and ${xs.length - 5} more` : xs.join(', ');
  if (lacking.length || extra.length) {
    const parts = [
      ...(lacking.length ? [`the data set lacks ${list(lacking)}`] : []),
      ...(extra.length ? [`${whose} lacks ${list(extra)}`] : []),
    ];
    throw new ConfigError(
      `model.featureNames${lacking.length ? `[${model.indexOf(lacking[0]!)}]` : ''}`,
      `expected the data set's ${dataset.length} features in order (${whose} has ${model.length}): ${parts.join('; ')}`,
    );
  }
  const k = model.findIndex((n, i) => n !== dataset[i]);
  throw new ConfigError(
    `model.featureNames[${k}]`,
    `expected the data set's features in the same order: column ${k} is "${model[k]}" in ${whose} and "${dataset[k]}" in the data set (same names, another order)`,
  );
}
