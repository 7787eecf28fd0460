import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactError } from '@anomalia/core';
import type { z } from 'zod';

/**
 * The single-file JSON format of this package's models: an envelope naming the format, the
 * model kind and the sha256 of the model body, so that any edit to the body is detected. Loading
 * parses JSON only (never evaluates anything) and validates the body with a zod schema.
 */
export const MODEL_FILE_FORMAT = 'anomalia-sequence-model';
export const MODEL_FILE_VERSION = 1;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The JSON text of a model file (the body is hashed as serialised). */
export function modelFileText(kind: string, model: unknown): string {
  const body = JSON.stringify(model);
  return (
    `{"format":"${MODEL_FILE_FORMAT}","formatVersion":${MODEL_FILE_VERSION},"kind":${JSON.stringify(kind)},` +
    `"createdAt":"${new Date().toISOString()}","sha256":"${sha256(body)}","model":${body}}\n`
  );
}

/** Writes atomically (temporary file + rename) so a crash never leaves half a model. */
export async function writeModelFile(path: string, kind: string, model: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  await writeFile(tmp, modelFileText(kind, model));
  await rename(tmp, path);
}

export async function readModelFile<S extends z.ZodType>(
  path: string,
  kind: string,
  schema: S,
): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ArtifactError(path, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return parseModelFile(text, kind, schema, path);
}

/** Parses and verifies a model file's text; errors name the file and the offending field. */
export function parseModelFile<S extends z.ZodType>(
  text: string,
  kind: string,
  schema: S,
  file = '(model)',
): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(file, '(json)', `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ArtifactError(file, '(root)', 'expected a JSON object');
  const env = raw as Record<string, unknown>;
  if (env.format !== MODEL_FILE_FORMAT)
    throw new ArtifactError(
      file,
      'format',
      `expected "${MODEL_FILE_FORMAT}", found ${JSON.stringify(env.format)}`,
    );
  if (env.formatVersion !== MODEL_FILE_VERSION)
    throw new ArtifactError(
      file,
      'formatVersion',
      `expected ${MODEL_FILE_VERSION}, found ${JSON.stringify(env.formatVersion)}`,
    );
  if (env.kind !== kind)
    throw new ArtifactError(file, 'kind', `expected "${kind}", found ${JSON.stringify(env.kind)}`);
  const parsed = schema.safeParse(env.model);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArtifactError(file, formatPath(['model', ...issue.path]), issue.message);
  }
  if (typeof env.sha256 !== 'string' || env.sha256 !== sha256(JSON.stringify(env.model))) {
    throw new ArtifactError(file, 'sha256', 'checksum mismatch: the model was modified after it was saved');
  }
  return parsed.data;
}

/** ['model', 'ngrams', 'count', 5] → "model.ngrams.count[5]". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}
