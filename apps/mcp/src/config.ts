import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValidationError } from '@anomalia/core';
import { z } from 'zod';

/** The environment variable naming the sandbox SQLite file when no config file is given. */
export const DB_ENV_VAR = 'ANOMALIA_MCP_DB';
/** The environment variable naming a config file (the `--config` flag wins over it). */
export const CONFIG_ENV_VAR = 'ANOMALIA_MCP_CONFIG';

/**
 * Where the server writes. Only SQLite exists today; the SQL Server adapter (`type: "mssql"`)
 * becomes one more member of this union, opened behind the same reader / writer interfaces.
 */
export const DatabaseConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sqlite'),
    /** The sandbox file (relative paths are resolved against the config file's directory). */
    path: z.string().min(1),
  }),
]);
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

function parseWith<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  let received: unknown = input;
  for (const p of path) {
    received =
      received && typeof received === 'object' ? (received as Record<string, unknown>)[p] : undefined;
  }
  throw new ValidationError([source, ...path].join('.'), issue.message, received);
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
  return {
    ...config,
    database: { ...config.database, path: resolve(dirname(file), config.database.path) },
  };
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
