/**
 * Errors that name what was wrong and what was expected, so a user can fix their input
 * without reading our source.
 */

/** Bad input: a config key, a parameter, a file column, a matrix shape. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    /** Dotted path of the offending field, e.g. `model.params.nu` or `X.cols`. */
    readonly field: string,
    /** What was expected, in words a user understands. */
    readonly expected: string,
    /** What was received, when it helps. */
    readonly received?: unknown,
  ) {
    super(
      `${field}: expected ${expected}` +
        (received === undefined ? '' : `, received ${describeValue(received)}`),
    );
  }
}

/** `score` / `predict` called before `fit`, or `predictProba` before calibration. */
export class NotFittedError extends Error {
  override readonly name = 'NotFittedError';
  constructor(
    readonly kind: string,
    readonly missing: string,
  ) {
    super(`${kind}: ${missing}`);
  }
}

/** A model artifact that is missing, truncated, tampered with or of the wrong kind. */
export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  constructor(
    /** The file inside the artifact directory (e.g. `manifest.json`, `weights.bin`). */
    readonly file: string,
    /** The manifest field or property that failed (e.g. `files.weights.bin.sha256`). */
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of length ${(value as Uint8Array).length}`;
  return typeof value;
}
