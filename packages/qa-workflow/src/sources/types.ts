import type {
  SandboxRun,
  SandboxWriter,
  TableName,
  TablePresence,
  TableRows,
  TreatmentReader,
} from '@anomalia/mosaiq';
import type { z } from 'zod';

/** The highest primary key of each table, so inserted rows and dangling ids avoid every existing row. */
export interface KeyCeilings {
  maxKeys(): Partial<Record<TableName, number | null>> | Promise<Partial<Record<TableName, number | null>>>;
}

/** Which tables the source holds (an imported extract may lack some; a live Mosaiq has all). */
export interface TablePresenceSource {
  tablePresence(): TablePresence | Promise<TablePresence>;
}

/** Runs of a sandbox that are still applied: its Mosaiq tables hold corrupted rows while any is. */
export interface UnrestoredRunsSource {
  unrestoredRuns(): SandboxRun[] | Promise<SandboxRun[]>;
}

/** What the workflow reads through: the adapter interface of @anomalia/mosaiq plus key ceilings, table presence and a sandbox's unrestored runs. */
export type SourceReader = TreatmentReader & KeyCeilings & TablePresenceSource & UnrestoredRunsSource;

/** A source opened read-only. */
export interface OpenSource {
  /** How to name the database in messages (a path, a server/database). */
  readonly name: string;
  readonly reader: SourceReader;
  /**
   * Why the open handles no longer reach the configured database (its file was replaced or
   * removed since it was opened), or null while they do. Checked before each use by long-lived
   * holders (the MCP server), which then reopen.
   */
  staleness(): string | null;
  close(): Promise<void>;
}

/** A sandbox opened for writing: its writer refuses any database that is not a marked sandbox. */
export interface OpenSandbox extends OpenSource {
  readonly writer: SandboxWriter;
}

/** The size and seed of a synthetic clinic created where a source is missing. */
export interface SyntheticClinic {
  readonly records: number;
  readonly seed: number;
}

/**
 * One kind of database (`type` in a config). Adding a kind (e.g. SQL Server) is one more
 * `SourceType` in `SOURCE_TYPES`: callers open sources through the registry and never name a type.
 */
export interface SourceType<C extends { readonly type: string } = { readonly type: string }> {
  readonly type: C['type'];
  /** A strict zod object with `type: z.literal(...)`: the config of this kind. */
  readonly schema: z.ZodType<C>;
  /** How to name the database in messages (no credentials). */
  describe(config: C): string;
  /** The config with relative paths resolved against `baseDir` (a config file's directory). */
  resolvePaths(config: C, baseDir: string): C;
  /** Whether the database exists (a missing one may be synthesised). */
  exists(config: C): boolean;
  /** Creates a synthetic clinic where the database is missing; absent for kinds that cannot. */
  synthesize?(config: C, clinic: SyntheticClinic): void;
  /** Opens the database read-only. */
  openReader(config: C): Promise<OpenSource>;
  /** Opens a marked sandbox for writing (throws NotASandboxError on any other database). */
  openSandbox(config: C): Promise<OpenSandbox>;
  /**
   * Copies the database into a new SQLite sandbox file at `path` (the training workflow corrupts
   * copies, never sources): the whole file (SQLite), or the rows behind the `cohort` the
   * workflow read (a server database); absent for kinds that cannot be copied.
   */
  cloneToSqliteSandbox?(config: C, path: string, cohort: { readonly rows: TableRows }): void | Promise<void>;
}
