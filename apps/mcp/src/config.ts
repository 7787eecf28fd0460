import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseWith, ValidationError } from '@anomalia/core';
import { resolveSource, SourceConfigSchema } from '@anomalia/qa-workflow';
import { z } from 'zod';

/** The environment variable naming the sandbox SQLite file when no config file is given. */
export const DB_ENV_VAR = 'ANOMALIA_MCP_DB';
/** The environment variable naming a config file (the `--config` flag wins over it). */
export const CONFIG_ENV_VAR = 'ANOMALIA_MCP_CONFIG';

/**
 * Where the server writes: a source of @anomalia/qa-workflow's registry (`{ type: "sqlite", path }`
 * today; a SQL Server source plugs in there, behind the same reader / writer interfaces).
 */
export const DatabaseConfigSchema = SourceConfigSchema;
export type DatabaseConfig = z.infer<typeof DatabaseConfigSchema>;

/** How much one call may do. */
export const LimitsSchema = z.strictObject({
  /** The most records one tool call may corrupt (`count` or `ttx_ids`). */
  maxTargets: z.number().int().min(1).max(10_000).default(100),
  /** The most candidate records examined when drawing `count` eligible ones at random. */
  maxCandidates: z.number().int().min(1).max(1_000_000).default(2000),
});
export type LimitsInput = z.input<typeof LimitsSchema>;

export const ServerConfigSchema = LimitsSchema.extend({ database: DatabaseConfigSchema });
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
export type ServerConfig = z.output<typeof ServerConfigSchema>;

/** Validates a config object; the first bad field is a ValidationError naming it (`config.database.path`). */
export function parseServerConfig(input: unknown, source = 'config'): ServerConfig {
  return parseWith(ServerConfigSchema, input, source);
}

/** Validates limits alone (when the target is opened by the caller). */
export function parseLimits(input: unknown, source = 'limits'): z.output<typeof LimitsSchema> {
  return parseWith(LimitsSchema, input, source);
}

/** Reads and validates a JSON config file; a relative database path is taken from the file's directory. */
export function loadConfigFile(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError('--config', `a readable JSON config file (${(error as Error).message})`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('--config', `valid JSON (${(error as Error).message})`, file);
  }
  const config = parseServerConfig(json, file);
  return { ...config, database: resolveSource(config.database, `${file}.database`, dirname(file)) };
}

export interface ConfigSources {
  /** The value of `--config`, if given. */
  configFile?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths in the environment are resolved against. */
  cwd: string;
}

/** The config from `--config`, else `ANOMALIA_MCP_CONFIG`, else `ANOMALIA_MCP_DB` (a SQLite path). */
export function resolveConfig(sources: ConfigSources): ServerConfig {
  const file = sources.configFile ?? nonEmpty(sources.env[CONFIG_ENV_VAR]);
  if (file !== undefined) return loadConfigFile(resolve(sources.cwd, file));
  const db = nonEmpty(sources.env[DB_ENV_VAR]);
  if (db !== undefined) {
    return parseServerConfig({ database: { type: 'sqlite', path: resolve(sources.cwd, db) } }, DB_ENV_VAR);
  }
  throw new ValidationError(
    'database',
    `a target database: --config <file.json>, or ${CONFIG_ENV_VAR}=<file.json>, or ${DB_ENV_VAR}=<sandbox.sqlite>`,
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
