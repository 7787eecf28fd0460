import {
  ArtifactError,
  Calibrator,
  type CalibratorState,
  parseJsonText,
  parseWith,
  type ScalerState,
  scalerFromJSON,
  type Threshold,
  ThresholdSchema,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';

/** The keys of ModelProto.metadata_props an Anomalia export writes (all values are strings). */
export const METADATA_KEYS = {
  format: 'anomalia.format',
  formatVersion: 'anomalia.format_version',
  version: 'anomalia.version',
  kind: 'anomalia.kind',
  featureNames: 'anomalia.feature_names',
  threshold: 'anomalia.threshold',
  calibrator: 'anomalia.calibrator',
  scaler: 'anomalia.scaler',
  score: 'anomalia.score',
  params: 'anomalia.params',
  sourceWeightsSha256: 'anomalia.source_weights_sha256',
} as const;

export const METADATA_FORMAT = 'anomalia-onnx';
export const METADATA_FORMAT_VERSION = '1';

/** What the score output means, per exported model kind. */
export const SCORE_MEANING = {
  'energy-model': 'energy',
  autoencoder: 'reconstruction-mse',
  'variational-autoencoder': 'vae-reconstruction-and-latent-distance',
} as const;

/** The Anomalia metadata of an ONNX model, parsed and validated. */
export interface AnomaliaMetadata {
  version: string;
  kind: string;
  featureNames: string[] | null;
  threshold: Threshold | null;
  calibrator: CalibratorState | null;
  /** The scaler the graph applies in its first nodes (informational: do not scale again). */
  scaler: ScalerState | null;
  score: string | null;
  params: Record<string, unknown> | null;
}

/**
 * Reads the Anomalia metadata from metadata_props, or null when the model carries none (a model
 * made elsewhere). A malformed value is an ArtifactError naming the file and the key.
 */
export function readAnomaliaMetadata(props: Record<string, string>, file: string): AnomaliaMetadata | null {
  const format = props[METADATA_KEYS.format];
  if (format === undefined) return null;
  const field = (key: string) => `metadata_props["${key}"]`;
  if (format !== METADATA_FORMAT) {
    throw new ArtifactError(
      file,
      field(METADATA_KEYS.format),
      `expected "${METADATA_FORMAT}", found "${format}"`,
    );
  }
  const fv = props[METADATA_KEYS.formatVersion];
  if (fv !== METADATA_FORMAT_VERSION) {
    throw new ArtifactError(
      file,
      field(METADATA_KEYS.formatVersion),
      `expected "${METADATA_FORMAT_VERSION}", found ${fv === undefined ? 'none' : `"${fv}"`}`,
    );
  }
  const json = <T>(key: string, parse: (value: unknown, field: string) => T): T | null => {
    const text = props[key];
    if (text === undefined) return null;
    try {
      return parse(parseJsonText(text, field(key)), field(key));
    } catch (e) {
      const message = e instanceof ValidationError ? e.message : (e as Error).message;
      throw new ArtifactError(file, field(key), message);
    }
  };
  const kind = props[METADATA_KEYS.kind];
  if (!kind) throw new ArtifactError(file, field(METADATA_KEYS.kind), 'missing: the exported model kind');
  return {
    version: props[METADATA_KEYS.version] ?? 'unknown',
    kind,
    featureNames: json(METADATA_KEYS.featureNames, schema(z.array(z.string()))),
    threshold: json(METADATA_KEYS.threshold, schema(ThresholdSchema)),
    // Through core's own readers: they check what a schema alone cannot (knots, array lengths).
    calibrator: json(METADATA_KEYS.calibrator, (v) => Calibrator.fromJSON(v).toJSON()),
    scaler: json(METADATA_KEYS.scaler, (v) => scalerFromJSON(v).toJSON()),
    score: props[METADATA_KEYS.score] ?? null,
    params: json(METADATA_KEYS.params, schema(z.record(z.string(), z.unknown()))),
  };
}

const schema =
  <T>(s: z.ZodType<T>) =>
  (value: unknown, field: string): T =>
    parseWith(s, value, field);
