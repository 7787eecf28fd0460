import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ValidationError } from './errors';

/** The environment variable holding the artifact signing key itself. */
export const ARTIFACT_KEY_ENV = 'ANOMALIA_ARTIFACT_KEY';
/** The environment variable naming a file that holds the key (e.g. a mounted secret). */
export const ARTIFACT_KEY_FILE_ENV = 'ANOMALIA_ARTIFACT_KEY_FILE';
/** Fewer bytes than an HMAC-SHA256 key should have are refused (`openssl rand -hex 32` gives 64). */
export const ARTIFACT_KEY_MIN_BYTES = 32;

/**
 * A secret key that signs artifact manifests (HMAC-SHA256). The digest of a manifest catches
 * accidental edits; only a key the editor does not have catches deliberate ones. The key never
 * appears in any output: `String(key)`, `JSON.stringify(key)` and `util.inspect(key)` show its id
 * only (the first 16 hex digits of a hash of it, recorded in signed manifests to tell keys apart).
 */
export class ArtifactKey {
  readonly #secret: Buffer;
  /** Identifies the key without revealing it. */
  readonly id: string;

  private constructor(
    bytes: Buffer,
    /** Where the key came from (an environment variable, a file), for messages. */
    readonly source: string,
  ) {
    this.#secret = bytes;
    this.id = createHash('sha256').update('anomalia-artifact-key\0').update(bytes).digest('hex').slice(0, 16);
  }

  /** A key from its bytes (or text, as UTF-8); `source` names where it came from in errors. */
  static from(secret: string | Uint8Array, source = 'key'): ArtifactKey {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (bytes.length < ARTIFACT_KEY_MIN_BYTES) {
      // The value is never echoed, not even its length.
      throw new ValidationError(
        source,
        `a key of at least ${ARTIFACT_KEY_MIN_BYTES} bytes (e.g. the output of \`openssl rand -hex 32\`)`,
      );
    }
    return new ArtifactKey(bytes, source);
  }

  /** The key in a file (one trailing newline ignored), e.g. a mounted secret. */
  static fromFile(path: string, source = ARTIFACT_KEY_FILE_ENV): ArtifactKey {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ValidationError(
        source,
        `a readable key file (${(e as NodeJS.ErrnoException).code ?? e})`,
        path,
      );
    }
    return ArtifactKey.from(text.replace(/\r?\n$/, ''), `${source} (${path})`);
  }

  /**
   * The key configured in the environment: `ANOMALIA_ARTIFACT_KEY` (the key) or
   * `ANOMALIA_ARTIFACT_KEY_FILE` (a file holding it); null when neither is set. Both set is an error.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ArtifactKey | null {
    const inline = env[ARTIFACT_KEY_ENV];
    const file = env[ARTIFACT_KEY_FILE_ENV];
    if (inline && file) {
      throw new ValidationError(
        ARTIFACT_KEY_ENV,
        `to be unset when ${ARTIFACT_KEY_FILE_ENV} is set (one key source)`,
      );
    }
    if (file) return ArtifactKey.fromFile(file);
    if (inline) return ArtifactKey.from(inline, ARTIFACT_KEY_ENV);
    return null;
  }

  /** HMAC-SHA256 of `message`, hex. */
  sign(message: Uint8Array): string {
    return createHmac('sha256', this.#secret).update(message).digest('hex');
  }

  /** Whether `signature` (hex) is this key's HMAC of `message`, compared in constant time. */
  verify(message: Uint8Array, signature: string): boolean {
    const expected = Buffer.from(this.sign(message), 'hex');
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  toString(): string {
    return `ArtifactKey(${this.id})`;
  }

  toJSON(): { keyId: string; source: string } {
    return { keyId: this.id, source: this.source };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * The key to use: `option` when given (null: none, even if the environment has one), otherwise
 * the environment's (see `ArtifactKey.fromEnv`).
 */
export function resolveArtifactKey(option: ArtifactKey | null | undefined): ArtifactKey | null {
  return option === undefined ? ArtifactKey.fromEnv() : option;
}
