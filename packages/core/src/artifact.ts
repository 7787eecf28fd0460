import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  ARTIFACT_KEY_ENV,
  ARTIFACT_KEY_FILE_ENV,
  type ArtifactKey,
  resolveArtifactKey,
} from './artifact-key';
import { CalibratorStateSchema } from './calibration';
import { ArtifactError, describeValue, ValidationError } from './errors';
import { ScalerStateSchema } from './scalers';
import { ThresholdSchema } from './thresholds';
import { parseWith } from './validation';

/**
 * A model artifact is a directory: `manifest.json` (validated, never evaluated) describing the
 * model, and the files it lists with their sha256, including `weights.bin`, where named typed
 * arrays are stored little-endian at 8-byte-aligned offsets. The manifest carries a digest of
 * itself, so an edit to any field (a threshold, a parameter, a checksum) is detected too; and,
 * when a key is configured (ArtifactKey), an HMAC of itself, so that an edit by someone who also
 * recomputed the digest is detected as well.
 */
export const ARTIFACT_FORMAT = 'anomalia-artifact';
/** 2: the manifest carries `digest`. Version 1 (no digest) is refused: save the model again. */
export const ARTIFACT_FORMAT_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.bin';

const DTYPES = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint8: Uint8Array,
  int8: Int8Array,
} as const;
export type DType = keyof typeof DTYPES;
export type TypedArray = InstanceType<(typeof DTYPES)[DType]>;

const TensorEntrySchema = z.object({
  dtype: z.enum(Object.keys(DTYPES) as [DType, ...DType[]]),
  shape: z.array(z.number().int().nonnegative()),
  /** Byte offset in weights.bin. */
  offset: z.number().int().nonnegative(),
});

const FileEntrySchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256'),
  bytes: z.number().int().nonnegative(),
});

const JsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ]),
);

export const ManifestSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  formatVersion: z.literal(ARTIFACT_FORMAT_VERSION),
  /** The detector type, e.g. "isolation-forest", "energy-model". */
  kind: z.string().min(1),
  createdAt: z.string(),
  params: z.record(z.string(), JsonValue),
  featureNames: z.array(z.string()).nullable(),
  scaler: ScalerStateSchema.nullable(),
  threshold: ThresholdSchema.nullable(),
  calibrator: CalibratorStateSchema.nullable(),
  metrics: z.record(z.string(), JsonValue),
  /** Small model-specific state (structure, sizes); bulk numbers go to tensors. */
  state: z.record(z.string(), JsonValue),
  tensors: z.record(z.string(), TensorEntrySchema),
  files: z.record(z.string(), FileEntrySchema),
  /** HMAC-SHA256 with the deployment's key (see `manifestSignature`); absent when saved without a key. */
  signature: z
    .strictObject({
      algorithm: z.literal('hmac-sha256'),
      /** `ArtifactKey.id` of the key that signed it. */
      keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a key id (16 lowercase hex digits)'),
      value: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex HMAC-SHA256'),
    })
    .optional(),
  /** sha256 of the manifest's compact JSON without this field (see `manifestDigest`). */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256'),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * The digest of a manifest: sha256 of `JSON.stringify` of every field but `digest`, in the
 * order they were written (JSON.parse keeps key order, so a reader recomputes it exactly).
 */
export function manifestDigest(manifest: Record<string, unknown>): string {
  const { digest: _, ...rest } = manifest;
  return sha256(new TextEncoder().encode(JSON.stringify(rest)));
}

/**
 * What a key signs: the compact JSON of every field but `signature` and `digest`, in the order
 * they were written. It covers the files too, through their sha256 in `files`.
 */
function signedBytes(manifest: Record<string, unknown>): Uint8Array {
  const { digest: _d, signature: _s, ...rest } = manifest;
  return new TextEncoder().encode(JSON.stringify(rest));
}

/** The signature of a manifest (without `signature` and `digest`) with `key`. */
export function manifestSignature(
  manifest: Record<string, unknown>,
  key: ArtifactKey,
): NonNullable<Manifest['signature']> {
  return { algorithm: 'hmac-sha256', keyId: key.id, value: key.sign(signedBytes(manifest)) };
}

/** Options of saveArtifact and loadArtifact. */
export interface ArtifactKeyOption {
  /**
   * The signing key: saved artifacts are signed with it, and loading accepts only artifacts it
   * signed. Default: the environment's (ANOMALIA_ARTIFACT_KEY or ANOMALIA_ARTIFACT_KEY_FILE);
   * null: no key even when the environment has one.
   */
  key?: ArtifactKey | null;
}

/** Checks a manifest's signature against the configured key (see ArtifactKeyOption). */
function verifySignature(raw: Record<string, unknown>, manifest: Manifest, key: ArtifactKey | null): void {
  const sig = manifest.signature;
  if (key === null) {
    if (sig) {
      throw new ArtifactError(
        MANIFEST_FILE,
        'signature',
        `the artifact is signed (key ${sig.keyId}) but no key is configured to verify it: set ${ARTIFACT_KEY_ENV} or ${ARTIFACT_KEY_FILE_ENV}`,
      );
    }
    return;
  }
  if (!sig) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'signature',
      `missing: a signing key is configured (${key.source}, key ${key.id}), so only artifacts signed with it are loaded; this one is unsigned (save the model again with the key configured)`,
    );
  }
  if (sig.keyId !== key.id) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'signature.keyId',
      `signed with key ${sig.keyId}, but the configured key (${key.source}) is ${key.id}`,
    );
  }
  if (!key.verify(signedBytes(raw), sig.value)) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'signature.value',
      'signature mismatch: the manifest (or a file it lists) was changed after it was signed, by someone without the key',
    );
  }
}

/**
 * `parseWith` for content read from (or written to) an artifact: a failure is an ArtifactError
 * naming the file and the field instead of a ValidationError.
 */
export function parseArtifactWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  file: string,
  root = '',
): z.output<S> {
  return readingArtifact(file, () => parseWith(schema, input, root));
}

/**
 * Runs `read` on content of an artifact file; a ValidationError it throws (bad content, not bad
 * user input) becomes an ArtifactError naming the file and the same field.
 */
export function readingArtifact<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const received = e.received === undefined ? '' : `, received ${describeValue(e.received)}`;
    throw new ArtifactError(file, e.field, `expected ${e.expected}${received}`);
  }
}

export interface ArtifactContent {
  kind: string;
  params: Record<string, unknown>;
  featureNames?: string[] | null;
  scaler?: Manifest['scaler'];
  threshold?: Manifest['threshold'];
  calibrator?: Manifest['calibrator'];
  metrics?: Record<string, unknown>;
  state?: Record<string, unknown>;
  /** Named arrays with their shape (default: 1-D). */
  tensors?: Record<string, { data: TypedArray; shape?: number[] }>;
  /** Extra files stored beside the manifest (e.g. an ONNX graph), checksummed like the weights. */
  files?: Record<string, Uint8Array | string>;
}

export interface LoadedArtifact extends Required<Omit<ArtifactContent, 'tensors' | 'files'>> {
  manifest: Manifest;
  tensors: Record<string, { data: TypedArray; shape: number[] }>;
  files: Record<string, Uint8Array>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function dtypeOf(a: TypedArray): DType {
  for (const [name, ctor] of Object.entries(DTYPES)) if (a instanceof ctor) return name as DType;
  throw new ArtifactError(
    WEIGHTS_FILE,
    'tensors',
    `unsupported array type ${(a as object).constructor.name}`,
  );
}

/** Writes an artifact directory. The manifest is written last, so a crash leaves no valid-looking artifact. */
export async function saveArtifact(
  dir: string,
  content: ArtifactContent,
  options: ArtifactKeyOption = {},
): Promise<Manifest> {
  const key = resolveArtifactKey(options.key);
  await mkdir(dir, { recursive: true });
  const tensors: Manifest['tensors'] = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { data, shape }] of Object.entries(content.tensors ?? {})) {
    const s = shape ?? [data.length];
    if (s.reduce((a, b) => a * b, 1) !== data.length) {
      throw new ArtifactError(
        WEIGHTS_FILE,
        `tensors.${name}.shape`,
        `shape [${s}] does not hold ${data.length} values`,
      );
    }
    const pad = (8 - (offset % 8)) % 8;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    tensors[name] = { dtype: dtypeOf(data), shape: s, offset };
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const files: Manifest['files'] = {};
  const write = async (name: string, bytes: Uint8Array) => {
    if (name === MANIFEST_FILE || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw new ArtifactError(name, 'files', 'a plain file name other than manifest.json');
    }
    await writeFile(join(dir, name), bytes);
    files[name] = { sha256: sha256(bytes), bytes: bytes.byteLength };
  };
  if (Object.keys(tensors).length) await write(WEIGHTS_FILE, concat(chunks, offset));
  for (const [name, body] of Object.entries(content.files ?? {})) {
    await write(name, typeof body === 'string' ? new TextEncoder().encode(body) : body);
  }
  const unsigned: Omit<Manifest, 'digest'> = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    kind: content.kind,
    createdAt: new Date().toISOString(),
    params: toJson(content.params) as Manifest['params'],
    featureNames: content.featureNames ?? null,
    scaler: content.scaler ?? null,
    threshold: content.threshold ?? null,
    calibrator: content.calibrator ?? null,
    metrics: toJson(content.metrics ?? {}) as Manifest['metrics'],
    state: toJson(content.state ?? {}) as Manifest['state'],
    tensors,
    files,
  };
  // Validated, but written as built: zod's output orders keys by the schema, not as digested.
  const signed = key ? { ...unsigned, signature: manifestSignature(unsigned, key) } : unsigned;
  const manifest: Manifest = { ...signed, digest: manifestDigest(signed) };
  parseArtifactWith(ManifestSchema, manifest, MANIFEST_FILE);
  const tmp = join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, join(dir, MANIFEST_FILE));
  return manifest;
}

/** JSON round trip that turns typed arrays into arrays and rejects non-finite numbers (JSON has none). */
function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new ArtifactError(MANIFEST_FILE, key, `non-finite number ${v} cannot be stored in JSON`);
      }
      return v;
    }),
  );
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Loads and verifies an artifact: the manifest against its schema, every listed file's size
 * and sha256, and every tensor's bounds. Pass `kind` to refuse an artifact of another model.
 */
export async function loadArtifact(
  dir: string,
  options: { kind?: string | readonly string[] } & ArtifactKeyOption = {},
): Promise<LoadedArtifact> {
  const key = resolveArtifactKey(options.key);
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    throw new ArtifactError(
      MANIFEST_FILE,
      '(file)',
      `cannot read ${join(dir, MANIFEST_FILE)}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(MANIFEST_FILE, '(json)', `not valid JSON: ${(e as Error).message}`);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version === 1) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'formatVersion',
      `expected ${ARTIFACT_FORMAT_VERSION}, found 1: an artifact saved by @anomalia/core 0.1, without a manifest digest: fit the model again and save it with this version`,
    );
  }
  const manifest = parseArtifactWith(ManifestSchema, raw, MANIFEST_FILE);
  if (manifestDigest(raw as Record<string, unknown>) !== manifest.digest) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'digest',
      'digest mismatch: the manifest was modified after it was saved',
    );
  }
  verifySignature(raw as Record<string, unknown>, manifest, key);
  const kinds = options.kind === undefined ? undefined : ([] as string[]).concat(options.kind);
  if (kinds && !kinds.includes(manifest.kind)) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'kind',
      `expected ${kinds.map((k) => `"${k}"`).join(' or ')}, found "${manifest.kind}"`,
    );
  }
  const files: Record<string, Uint8Array> = {};
  for (const [name, entry] of Object.entries(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw new ArtifactError(
        MANIFEST_FILE,
        `files.${name}`,
        'a plain file name inside the artifact directory',
      );
    }
    const path = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      throw new ArtifactError(
        name,
        '(file)',
        `listed in the manifest but cannot be read: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    if (bytes.byteLength !== entry.bytes) {
      throw new ArtifactError(
        name,
        `files.${name}.bytes`,
        `expected ${entry.bytes} bytes, found ${bytes.byteLength} (truncated or replaced)`,
      );
    }
    if (sha256(bytes) !== entry.sha256) {
      throw new ArtifactError(
        name,
        `files.${name}.sha256`,
        'checksum mismatch: the file was modified after it was saved',
      );
    }
    files[name] = bytes;
  }
  const tensors: LoadedArtifact['tensors'] = {};
  const entries = Object.entries(manifest.tensors);
  if (entries.length && !files[WEIGHTS_FILE]) {
    throw new ArtifactError(
      MANIFEST_FILE,
      `files.${WEIGHTS_FILE}`,
      'tensors are listed but weights.bin is not',
    );
  }
  for (const [name, t] of entries) {
    const weights = files[WEIGHTS_FILE]!;
    const Ctor = DTYPES[t.dtype];
    const count = t.shape.reduce((a, b) => a * b, 1);
    const end = t.offset + count * Ctor.BYTES_PER_ELEMENT;
    if (t.offset % Ctor.BYTES_PER_ELEMENT !== 0 || end > weights.byteLength) {
      throw new ArtifactError(
        WEIGHTS_FILE,
        `tensors.${name}`,
        `offset ${t.offset} + ${count} × ${t.dtype} is outside the file (${weights.byteLength} bytes)`,
      );
    }
    // Copy out so the tensor owns an aligned buffer independent of the file bytes.
    const data = new Ctor(
      (weights.buffer as ArrayBuffer).slice(weights.byteOffset + t.offset, weights.byteOffset + end),
    );
    tensors[name] = { data, shape: t.shape };
  }
  const extra = Object.fromEntries(Object.entries(files).filter(([n]) => n !== WEIGHTS_FILE));
  return {
    manifest,
    kind: manifest.kind,
    params: manifest.params,
    featureNames: manifest.featureNames,
    scaler: manifest.scaler,
    threshold: manifest.threshold,
    calibrator: manifest.calibrator,
    metrics: manifest.metrics,
    state: manifest.state,
    tensors,
    files: extra,
  };
}

/** A tensor an artifact must have, with the expected length: a clear error otherwise. */
export function requireTensor<D extends DType>(
  artifact: LoadedArtifact,
  name: string,
  dtype: D,
  length?: number,
): InstanceType<(typeof DTYPES)[D]> {
  const t = artifact.tensors[name];
  if (!t) throw new ArtifactError(WEIGHTS_FILE, `tensors.${name}`, 'missing from the artifact');
  if (!(t.data instanceof DTYPES[dtype])) {
    throw new ArtifactError(
      WEIGHTS_FILE,
      `tensors.${name}.dtype`,
      `expected ${dtype}, found ${dtypeOf(t.data)}`,
    );
  }
  if (length !== undefined && t.data.length !== length) {
    throw new ArtifactError(
      WEIGHTS_FILE,
      `tensors.${name}.shape`,
      `expected ${length} values, found ${t.data.length}`,
    );
  }
  return t.data as InstanceType<(typeof DTYPES)[D]>;
}

/** True when a directory holds an artifact manifest. */
export async function isArtifactDir(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks that an artifact holds exactly these tensors with exactly these shapes (what the model's
 * params and state imply): a missing, reshaped or extra tensor is an ArtifactError naming it.
 */
export function assertTensorShapes(
  artifact: LoadedArtifact,
  shapes: Readonly<Record<string, readonly number[]>>,
): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const t = artifact.tensors[name];
    if (!t) throw new ArtifactError(WEIGHTS_FILE, `tensors.${name}`, 'missing from the artifact');
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ArtifactError(
        WEIGHTS_FILE,
        `tensors.${name}.shape`,
        `expected [${shape.join(', ')}] (what the params and state imply), found [${t.shape.join(', ')}]`,
      );
    }
  }
  for (const name of Object.keys(artifact.tensors)) {
    if (!(name in shapes)) {
      throw new ArtifactError(
        WEIGHTS_FILE,
        `tensors.${name}`,
        `not a tensor of this model (it has ${Object.keys(shapes).join(', ') || 'none'}): params and weights do not match`,
      );
    }
  }
}

/**
 * `create(artifact.params).restore(artifact)` for a model's static `load`: a parameter or state the
 * model refuses is an ArtifactError naming manifest.json and the field (`manifest.json: params.nu:
 * expected a number ≤ 1, received 2`), not a ValidationError that reads like bad user input.
 */
export function restoreFromArtifact<D extends { restore(artifact: LoadedArtifact): D }>(
  artifact: LoadedArtifact,
  create: (params: Record<string, unknown>) => D,
): D {
  return readingArtifact(MANIFEST_FILE, () => create(artifact.params).restore(artifact));
}
