import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseWith, ValidationError } from '@anomalia/core';
import { parse as parseYaml } from 'yaml';
import { type MonitorConfig, MonitorConfigSchema, type Secret } from './schema';

/** A configuration problem: names the file, the key and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${source}: ${key}: ${problem}`);
  }
}

/** Reads a YAML or JSON config file and validates it. */
export async function loadConfig(file: string): Promise<MonitorConfig> {
  const ext = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext))
    throw new ConfigError('--config', file, 'expected a .yaml, .yml or .json file');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      '--config',
      file,
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(
      file,
      '(file)',
      `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`,
    );
  }
  return parseConfig(raw, file);
}

/** Validates a parsed config; errors name `source` and the key (`sinks[1].url`). */
export function parseConfig(raw: unknown, source = 'config'): MonitorConfig {
  try {
    return parseWith(MonitorConfigSchema, raw ?? {}, '');
  } catch (e) {
    if (e instanceof ValidationError) {
      // A root-level unknown key comes back as `(input).key`: the file is the root here.
      const key = e.field.replace(/^\(input\)\./, '');
      throw new ConfigError(source, key, e.message.slice(e.field.length + 2));
    }
    throw e;
  }
}

/** The value of a secret, read from the environment when given as `{ env: NAME }`. */
export function resolveSecret(secret: Secret, key: string, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof secret === 'string') return secret;
  const value = env[secret.env];
  if (value === undefined || value === '')
    throw new ConfigError('environment', key, `expected the environment variable ${secret.env} to be set`);
  return value;
}
