import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type TrainConfig, TrainConfigSchema } from './schema';

/** A configuration problem, naming the key and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

/** Reads a YAML or JSON config file, applies `key=value` overrides, and validates the result. */
export async function loadConfig(file: string, overrides: string[] = []): Promise<TrainConfig> {
  const ext = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext))
    throw new ConfigError('--config', `expected a .yaml, .yml or .json file, got "${file}"`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      '--config',
      `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(file, `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  for (const o of overrides) raw = applyOverride(raw, o);
  return parseConfig(raw, file);
}

export function parseConfig(raw: unknown, source = 'config'): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      `${source}: ${issuePath(parsed.error.issues[0]!)}`,
      describeIssue(parsed.error.issues[0]!),
    );
  return parsed.data;
}

function issuePath(issue: z.core.$ZodIssue): string {
  const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  return keys.length ? keys.join('.') : '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key (remove it or check its spelling)`;
  if (issue.code === 'invalid_union' && 'errors' in issue) {
    // A discriminated union reports the allowed discriminators; a plain union its first branch's problem.
    const first = (issue.errors as z.core.$ZodIssue[][]).flat()[0];
    if (first) return `${first.message}${first.path.length ? ` (at ${first.path.join('.')})` : ''}`;
  }
  return issue.message;
}

/**
 * `a.b.c=value` sets a nested key. The value is read as YAML, so numbers, booleans, lists
 * (`[1, 2]`) and strings all work: `--set model.params.epochs=5 --set dataset.holdoutVariants=[x/y]`.
 */
export function applyOverride(raw: unknown, override: string): unknown {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError('--set', `expected key=value, got "${override}"`);
  const keys = override.slice(0, eq).trim().split('.');
  if (keys.some((k) => !/^[A-Za-z0-9_]+$/.test(k)))
    throw new ConfigError('--set', `bad key "${override.slice(0, eq)}"`);
  let value: unknown;
  try {
    value = parseYaml(override.slice(eq + 1));
  } catch {
    value = override.slice(eq + 1);
  }
  const root: Record<string, unknown> =
    raw && typeof raw === 'object' ? structuredClone(raw as Record<string, unknown>) : {};
  let node = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) node[k] = value;
    else {
      const next = node[k];
      node[k] = next && typeof next === 'object' && !Array.isArray(next) ? next : {};
      node = node[k] as Record<string, unknown>;
    }
  });
  return root;
}
