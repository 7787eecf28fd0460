import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { assertNoPrototypeKeys, PROTOTYPE_KEYS, parseWith, ValidationError } from '@anomalia/core';
import { parse as parseYaml } from 'yaml';
import { REGISTRY } from '../registry';
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
    // YAML keeps a `__proto__` key as an own key: refused here, before any override merges into it.
    assertNoPrototypeKeys(raw, '');
  } catch (e) {
    if (e instanceof ValidationError && e.expected.startsWith('an ordinary key'))
      throw new ConfigError(file, e.message.replace(/^\./, ''));
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
  let config: TrainConfig;
  try {
    config = parseWith(TrainConfigSchema, raw);
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(source, error.message);
    throw error;
  }
  checkModelParams(config, source);
  return config;
}

/**
 * Model parameters are validated by the model's own schema: done here, by creating the detector
 * once, so a bad one is a config error naming the file and the key (`model.params.nu`), before a
 * run directory exists.
 */
function checkModelParams(config: TrainConfig, source: string): void {
  const model = config.model;
  // An ONNX model has no params: its keys are checked by the config schema and when it is opened.
  if (model.type === 'onnx') return;
  try {
    REGISTRY[model.type].create(model.params ?? {}, config.seed);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const field = error.field.startsWith('params') ? `model.${error.field}` : `model.params.${error.field}`;
    throw new ConfigError(source, new ValidationError(field, error.expected, error.received).message);
  }
}

/**
 * `a.b.c=value` sets a nested key. The value is read as YAML, so numbers, booleans, lists
 * (`[1, 2]`) and strings all work: `--set model.params.epochs=5 --set dataset.holdoutVariants=[x/y]`.
 */
export function applyOverride(raw: unknown, override: string): unknown {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError('--set', `expected key=value, got "${override}"`);
  const path = override.slice(0, eq).trim();
  const keys = path.split('.');
  if (keys.some((k) => !/^[A-Za-z0-9_]+$/.test(k))) throw new ConfigError('--set', `bad key "${path}"`);
  // Refused before anything is built: `__proto__.toString=1` would otherwise write to Object.prototype.
  const bad = keys.find((k) => PROTOTYPE_KEYS.has(k));
  if (bad !== undefined) {
    throw new ConfigError(
      `--set ${path}`,
      `"${bad}" is not a config key (__proto__, prototype and constructor are refused)`,
    );
  }
  let value: unknown;
  try {
    value = parseYaml(override.slice(eq + 1));
  } catch {
    value = override.slice(eq + 1);
  }
  try {
    assertNoPrototypeKeys(value, path);
  } catch (e) {
    throw new ConfigError(`--set ${path}`, (e as Error).message);
  }
  const root: Record<string, unknown> =
    raw && typeof raw === 'object' && !Array.isArray(raw)
      ? structuredClone(raw as Record<string, unknown>)
      : {};
  let node = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) node[k] = value;
    else {
      // Own keys only: an inherited property is never walked into.
      const next = Object.hasOwn(node, k) ? node[k] : undefined;
      node[k] = next && typeof next === 'object' && !Array.isArray(next) ? next : {};
      node = node[k] as Record<string, unknown>;
    }
  });
  return root;
}
