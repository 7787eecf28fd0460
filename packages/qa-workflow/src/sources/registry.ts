import { parseWith, ValidationError } from '@anomalia/core';
import type { TableRows } from '@anomalia/mosaiq';
import { z } from 'zod';
import { MssqlSourceSchema, mssqlSource } from './mssql';
import { SqliteSourceSchema, sqliteSource } from './sqlite';
import type { OpenSandbox, OpenSource, SourceType, SyntheticClinic } from './types';

/**
 * A source in a config: `{ type: 'sqlite', path }` or `{ type: 'mssql', url, ...settings }` (one
 * schema per entry of SOURCE_TYPES).
 */
const SOURCE_SCHEMAS = [SqliteSourceSchema, MssqlSourceSchema] as const;
export const SourceConfigSchema = z.discriminatedUnion('type', SOURCE_SCHEMAS, {
  error: `a source whose type is one of ${SOURCE_SCHEMAS.map((s) => `"${s.shape.type.value}"`).join(', ')}`,
});
export type SourceConfig = z.output<typeof SourceConfigSchema>;

/**
 * Every kind of source, by `type`: SQLite (`@anomalia/db-sqlite`) and SQL Server
 * (`@anomalia/db-mssql`). A new kind is one more entry here and one more member of
 * `SourceConfigSchema`; nothing that opens sources changes.
 */
export const SOURCE_TYPES: {
  readonly [K in SourceConfig['type']]: SourceType<Extract<SourceConfig, { type: K }>>;
} = Object.freeze({ sqlite: sqliteSource, mssql: mssqlSource });

/** A source as a config may write it: a typed object, or a plain path to an SQLite file. */
export const SourceInputSchema = z.union([z.string().min(1), SourceConfigSchema], {
  error: 'a path to an SQLite file, or a source such as { type: "sqlite", path } or { type: "mssql", url }',
});
export type SourceInput = z.input<typeof SourceInputSchema>;

/**
 * The typed config of a source. A plain string is a path to an SQLite file; relative paths are
 * resolved against `baseDir` (default: the working directory). A bad config is a
 * ValidationError naming `field` (e.g. `dataset.source.type`).
 */
export function resolveSource(input: unknown, field = 'source', baseDir = process.cwd()): SourceConfig {
  // An object is checked against its type's schema directly, so an error names the key at fault.
  const parsed =
    typeof input === 'object' && input !== null
      ? parseWith(SourceConfigSchema, input, field)
      : parseWith(SourceInputSchema, input, field);
  const config: SourceConfig = typeof parsed === 'string' ? { type: 'sqlite', path: parsed } : parsed;
  return sourceType(config).resolvePaths(config, baseDir);
}

function sourceType<C extends SourceConfig>(config: C): SourceType<C> {
  const type = (SOURCE_TYPES as unknown as Record<string, SourceType<C> | undefined>)[config?.type];
  if (!type) {
    throw new ValidationError('source.type', `one of ${Object.keys(SOURCE_TYPES).join(', ')}`, config?.type);
  }
  return type;
}

/** The source's name for messages: a path, a server/database (never credentials). */
export const describeSource = (config: SourceConfig): string => sourceType(config).describe(config);

export const sourceExists = (config: SourceConfig): boolean => sourceType(config).exists(config);

/** Opens a source read-only. */
export const openSource = (config: SourceConfig): Promise<OpenSource> =>
  sourceType(config).openReader(config);

/** Opens a marked sandbox for writing; any other database is refused (NotASandboxError). */
export const openSandbox = (config: SourceConfig): Promise<OpenSandbox> =>
  sourceType(config).openSandbox(config);

/**
 * Creates a synthetic clinic where the source is missing. A kind that cannot (a server
 * database) is a ValidationError naming `field`.
 */
export function synthesizeSource(config: SourceConfig, clinic: SyntheticClinic, field = 'source'): void {
  const type = sourceType(config);
  if (!type.synthesize) {
    throw new ValidationError(field, `an existing database (a ${config.type} source cannot be synthesised)`);
  }
  type.synthesize(config, clinic);
}

/**
 * Copies the source into a new SQLite sandbox file: a SQLite source whole, a server database as
 * the rows behind `cohort` (what the workflow read). A kind that cannot be copied is refused.
 */
export async function cloneToSqliteSandbox(
  config: SourceConfig,
  path: string,
  cohort: { readonly rows: TableRows },
  field = 'source',
): Promise<void> {
  const type = sourceType(config);
  if (!type.cloneToSqliteSandbox) {
    throw new ValidationError(field, `a source that can be copied into a sandbox (not ${config.type})`);
  }
  await type.cloneToSqliteSandbox(config, path, cohort);
}
