import {
  isSandbox,
  type MssqlSettings,
  MssqlSettingsSchema,
  openSandboxWriter,
  openTreatmentReader,
  redactConnectionText,
} from '@anomalia/db-mssql';
import { MosaiqLoader, markAsSandbox } from '@anomalia/db-sqlite';
import { allTablesPresent, type SandboxRun } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { OpenSandbox, SourceType } from './types';

/** An environment variable that holds a value kept out of config files. */
const EnvRefSchema = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
});

/**
 * The settings of @anomalia/db-mssql as optional overrides of what the URL says: the same names
 * and checks, without their defaults (a default would override the URL's own value).
 */
const settingOverrides = Object.fromEntries(
  Object.entries(MssqlSettingsSchema.shape).map(([key, schema]) => {
    let inner: z.ZodType = schema as z.ZodType;
    while (['default', 'prefault'].includes(inner._zod.def.type))
      inner = (inner._zod.def as unknown as { innerType: z.ZodType }).innerType;
    return [key, inner.optional()];
  }),
) as { [K in keyof MssqlSettings]-?: z.ZodOptional<z.ZodType<MssqlSettings[K]>> };

export const MssqlSourceSchema = z.strictObject({
  type: z.literal('mssql'),
  /**
   * `mssql://user@host:1433/MOSAIQ?encrypt=true` (or a SQL Server connection string), or
   * `{ env: NAME }` to read it from the environment. The password comes from the URL or from
   * the variable `passwordEnv` names (default MSSQL_PASSWORD), never from the config file.
   */
  url: z.union([z.string().min(1), EnvRefSchema], {
    error: 'a database URL (mssql://user@host:1433/MOSAIQ, or a connection string) or { env: NAME }',
  }),
  ...settingOverrides,
});
export type MssqlSource = z.output<typeof MssqlSourceSchema>;

type Env = Readonly<Record<string, string | undefined>>;

/** The URL (read from the environment when given as `{ env }`) and the overrides, as db-mssql takes them. */
export function mssqlTargetInput(config: MssqlSource, env: Env = process.env): { url: string } {
  const { type: _type, url, ...overrides } = config;
  let text: string;
  if (typeof url === 'string') text = url;
  else {
    const value = env[url.env];
    if (!value)
      throw new Error(
        `source.url: the environment variable ${url.env} should hold the database URL (it is not set)`,
      );
    text = value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { url: text, ...defined };
}

/**
 * A Mosaiq on Microsoft SQL Server (@anomalia/db-mssql): read-only readers with the rowversion
 * change cursor; writes only to a database marked as a sandbox. Training does not copy a server
 * database: it writes the cohort's rows (every row behind the treatments it read) into a new
 * SQLite sandbox and corrupts that.
 */
/** The runs still applied to a sandbox (its ledger); a database without the sandbox marker has none. */
async function unrestoredRunsOf(input: ReturnType<typeof mssqlTargetInput>): Promise<SandboxRun[]> {
  if (!(await isSandbox(input))) return [];
  const writer = await openSandboxWriter(input);
  try {
    return (await writer.listRuns()).filter((r) => r.status === 'applied');
  } finally {
    await writer.close();
  }
}

export const mssqlSource: SourceType<MssqlSource> = {
  type: 'mssql',
  schema: MssqlSourceSchema,
  describe: (config) =>
    typeof config.url === 'string' ? redactConnectionText(config.url) : `mssql ($${config.url.env})`,
  resolvePaths: (config) => config,
  // A server database cannot be checked without connecting; opening it says what is wrong.
  exists: () => true,
  async openReader(config) {
    const input = mssqlTargetInput(config);
    const reader = await openTreatmentReader(input);
    return {
      name: reader.label,
      reader: Object.assign(reader, {
        tablePresence: () => allTablesPresent(),
        unrestoredRuns: () => unrestoredRunsOf(input),
      }),
      // A server database is not a file that can be swapped under an open connection.
      staleness: () => null,
      close: () => reader.close(),
    };
  },
  async openSandbox(config): Promise<OpenSandbox> {
    // The writer first: on a database without the sandbox marker it throws before any reader exists.
    const input = mssqlTargetInput(config);
    const writer = await openSandboxWriter(input);
    try {
      const reader = await openTreatmentReader(input);
      return {
        name: reader.label,
        reader: Object.assign(reader, {
          tablePresence: () => allTablesPresent(),
          unrestoredRuns: async () => (await writer.listRuns()).filter((r) => r.status === 'applied'),
        }),
        writer,
        staleness: () => null,
        async close() {
          await reader.close();
          await writer.close();
        },
      };
    } catch (error) {
      await writer.close();
      throw error;
    }
  },
  cloneToSqliteSandbox(_config, path, cohort) {
    const loader = MosaiqLoader.create(path);
    try {
      loader.load(cohort.rows);
      loader.finish();
    } catch (error) {
      loader.abort();
      throw error;
    }
    markAsSandbox(path, { confirm: true });
  },
};
