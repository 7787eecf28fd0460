import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseWith, ValidationError } from '@anomalia/core';
import { parse as parseYaml } from 'yaml';
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

/**
 * Validates a config. The first bad key is a ConfigError naming the file, the key and what is
 * allowed (`configs/x.yaml: model.type: expected one of "ebm", …`).
 */
export function parseConfig(raw: unknown, source = 'config'): TrainConfig {
  try {
    return parseWith(TrainConfigSchema, raw);
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(source, error.message);
    throw error;
  }
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
