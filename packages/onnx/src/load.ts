import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  ArtifactError,
  isArtifactDir,
  loadArtifact,
  MANIFEST_FILE,
  type Manifest,
  parseWith,
} from '@anomalia/core';
import { ONNX_ARTIFACT_KIND, ONNX_MODEL_FILE, saveOnnxArtifact } from './artifact';
import { OnnxDetector } from './detector';
import { buildOnnxModel, EXPORTABLE_KINDS, type ExportOptions } from './export';
import { DEFAULT_MAX_BYTES, inspectOnnxModel, sha256Hex } from './inspect';
import { type OnnxLoadOptions, OnnxLoadOptionsSchema } from './options';

/**
 * The one loader for ONNX models, for every app that loads a model:
 * - a directory: an "onnx" artifact (manifest.json + model.onnx, checksums verified);
 * - a file: a bare .onnx model. An Anomalia export brings its feature names, threshold and
 *   calibrator in its metadata; a model made elsewhere (PyTorch, scikit-learn...) needs
 *   `featureNames` when its width is symbolic, and `threshold` to predict. Pass `sha256` to pin
 *   the file.
 * The file is validated (size, ModelProto, opset, input and output) before a session opens.
 */
export async function loadOnnxDetector(path: string, options: OnnxLoadOptions = {}): Promise<OnnxDetector> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    throw new ArtifactError(path, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const maxBytes = parseWith(OnnxLoadOptionsSchema, options, 'options').maxBytes ?? DEFAULT_MAX_BYTES;
  if (info.isDirectory()) {
    if (!(await isArtifactDir(path))) {
      throw new ArtifactError(
        join(path, MANIFEST_FILE),
        '(file)',
        'missing: a model directory is an artifact with a manifest.json',
      );
    }
    await checkSize(join(path, ONNX_MODEL_FILE), maxBytes);
    const artifact = await loadArtifact(path);
    if (artifact.kind !== ONNX_ARTIFACT_KIND) {
      const hint = (EXPORTABLE_KINDS as readonly string[]).includes(artifact.kind)
        ? ': export it to ONNX first (exportOnnx(dir, out))'
        : '';
      throw new ArtifactError(
        MANIFEST_FILE,
        'kind',
        `expected "${ONNX_ARTIFACT_KIND}", found "${artifact.kind}"${hint}`,
      );
    }
    return OnnxDetector.fromArtifact(artifact, options);
  }
  await checkSize(path, maxBytes);
  return OnnxDetector.fromBytes(new Uint8Array(await readFile(path)), options, path);
}

/** The size check before reading, so an oversized file is never loaded into memory. */
async function checkSize(file: string, maxBytes: number): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return; // a missing file is reported by the loader, with the manifest's view of it
  }
  if (size > maxBytes) {
    throw new ArtifactError(
      file,
      '(file)',
      `${size} bytes is above the size limit of ${maxBytes} bytes (maxBytes)`,
    );
  }
}

export interface ExportResult {
  /** The .onnx file, or the artifact directory. */
  path: string;
  /** sha256 of the ONNX bytes. */
  sha256: string;
  bytes: number;
  /** The manifest, when an artifact directory was written. */
  manifest: Manifest | null;
}

/**
 * Exports a saved EnergyModel, AutoEncoder or VariationalAutoEncoder artifact (checksums
 * verified on load) to ONNX. `out` ending in ".onnx" writes a bare model file (its metadata
 * carries the feature names, threshold and calibrator); any other path becomes an "onnx"
 * artifact directory (manifest.json + model.onnx), which keeps the checksums.
 */
export async function exportOnnx(
  artifactDir: string,
  out: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const artifact = await loadArtifact(artifactDir, { kind: EXPORTABLE_KINDS });
  const bytes = buildOnnxModel(artifact, options);
  const sha256 = sha256Hex(bytes);
  if (out.endsWith('.onnx')) {
    // Written under a temporary name first: a crash never leaves a truncated model at `out`.
    await mkdir(dirname(out), { recursive: true });
    const tmp = join(dirname(out), `.${basename(out)}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, out);
    return { path: out, sha256, bytes: bytes.byteLength, manifest: null };
  }
  const info = inspectOnnxModel(bytes, { file: ONNX_MODEL_FILE });
  const manifest = await saveOnnxArtifact(out, {
    bytes,
    info,
    nFeatures: info.features!,
    source: artifact.kind,
    featureNames: artifact.featureNames,
    threshold: artifact.threshold,
    calibrator: artifact.calibrator,
    metrics: artifact.metrics,
  });
  return { path: out, sha256, bytes: bytes.byteLength, manifest };
}
