import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadOptions } from '@anomalia/mosaiq';
import sql from 'mssql';
import type { DeclaredColumn } from './column-types';
import type { MssqlTarget } from './config';
import { connectionError, isTransient, MssqlQueryError, QueryCancelledError } from './errors';
import type { ParamType, Statement } from './statement';

/** Who connects: readers default to ApplicationIntent=ReadOnly, writers need ReadWrite. */
export type ClientRole = 'reader' | 'writer';

export interface ClientOptions {
  role: ClientRole;
  /** Called with the text of every request sent (never its parameter values). */
  onQuery?: (sql: string) => void;
}

/** `signal` cancels the request (the driver sends an attention; the promise rejects with QueryCancelledError). */
export type RequestOptions = ReadOptions;

/** One result set: its columns as declared and its rows as arrays (driver values). */
export interface ResultSet {
  columns: DeclaredColumn[];
  rows: unknown[][];
}

export interface QueryResult {
  sets: ResultSet[];
  /** Rows affected (or returned) per statement, in order. */
  rowsAffected: number[];
}

export type Isolation = 'read-committed' | 'snapshot' | 'read-uncommitted' | 'serializable';

const ISOLATION: Record<Isolation, number> = {
  'read-uncommitted': sql.ISOLATION_LEVEL.READ_UNCOMMITTED,
  'read-committed': sql.ISOLATION_LEVEL.READ_COMMITTED,
  snapshot: sql.ISOLATION_LEVEL.SNAPSHOT,
  serializable: sql.ISOLATION_LEVEL.SERIALIZABLE,
};

/** The mssql type of a parameter. */
function driverType(p: ParamType): sql.ISqlType {
  const len = (n: number | undefined) => (n === undefined || n < 0 ? sql.MAX : n);
  switch (p.type) {
    case 'int':
      return sql.Int();
    case 'smallint':
      return sql.SmallInt();
    case 'tinyint':
      return sql.TinyInt();
    case 'bigint':
      return sql.BigInt();
    case 'bit':
      return sql.Bit();
    case 'decimal':
      return sql.Decimal(p.precision ?? 18, p.scale ?? 0);
    case 'float':
      return sql.Float();
    case 'real':
      return sql.Real();
    case 'datetime':
      return sql.DateTime();
    case 'varchar':
      return sql.VarChar(len(p.length));
    case 'char':
      return sql.Char(len(p.length));
    case 'nvarchar':
      return sql.NVarChar(len(p.length));
    case 'nchar':
      return sql.NChar(len(p.length));
    // binary(n) parameters go as varbinary: the driver's binary parameter writes its declared length whatever the value's.
    case 'binary':
    case 'timestamp':
      return sql.VarBinary(len(p.length ?? 8));
    case 'varbinary':
      return sql.VarBinary(len(p.length));
  }
}

function driverValue(v: unknown): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v))
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'bigint') return v.toString();
  return v;
}

interface DriverColumn {
  name: string;
  type: unknown;
  length?: number;
  precision?: number;
  scale?: number;
  identity?: boolean;
  readOnly?: boolean;
}

const TYPE_NAMES: [unknown, DeclaredColumn['type']][] = [
  [sql.Int, 'int'],
  [sql.SmallInt, 'smallint'],
  [sql.TinyInt, 'tinyint'],
  [sql.BigInt, 'bigint'],
  [sql.Bit, 'bit'],
  [sql.Decimal, 'decimal'],
  [sql.Numeric, 'decimal'],
  [sql.Float, 'float'],
  [sql.Real, 'real'],
  [sql.DateTime, 'datetime'],
  [sql.VarChar, 'varchar'],
  [sql.Char, 'char'],
  [sql.NVarChar, 'nvarchar'],
  [sql.NChar, 'nchar'],
  [sql.Binary, 'binary'],
  [sql.VarBinary, 'varbinary'],
];

/** A result column as declared; a type this package does not handle keeps its driver name. */
function declaredColumn(c: DriverColumn): DeclaredColumn {
  let type = TYPE_NAMES.find(([t]) => t === c.type)?.[1];
  // rowversion arrives as a read-only binary(8).
  if (type === 'binary' && c.length === 8 && c.readOnly) type = 'timestamp';
  const out: DeclaredColumn = {
    name: c.name,
    type: type ?? (String((c.type as { name?: string })?.name ?? 'unknown') as DeclaredColumn['type']),
  };
  if (
    c.length !== undefined &&
    ['varchar', 'char', 'nvarchar', 'nchar', 'binary', 'varbinary'].includes(out.type)
  ) {
    // The driver reports max as 65535 (0xFFFF) bytes for (n)varchar(max)/varbinary(max).
    out.length = c.length >= 0xffff ? -1 : out.type.startsWith('n') ? c.length / 2 : c.length;
  }
  if (out.type === 'decimal') {
    out.precision = c.precision;
    out.scale = c.scale;
  }
  if (c.identity) out.identity = true;
  if (c.readOnly) out.readOnly = true;
  return out;
}

/**
 * A pool of connections to one database, through `mssql`/`tedious`. Every request is a
 * parameterised `sp_executesql` call; transient failures (deadlock victim, timeouts, dropped
 * connections) are retried with exponential back-off and jitter; a request can be cancelled with
 * an AbortSignal. Datetimes are read and written as UTC wall-clock (Mosaiq's naive local times).
 */
export class MssqlClient {
  private constructor(
    private readonly pool: sql.ConnectionPool,
    readonly target: MssqlTarget,
    private readonly onQuery: ((sql: string) => void) | undefined,
  ) {}

  get label(): string {
    return this.target.label;
  }

  static async connect(target: MssqlTarget, options: ClientOptions): Promise<MssqlClient> {
    const s = target.settings;
    const intent = s.applicationIntent ?? (options.role === 'reader' ? 'ReadOnly' : 'ReadWrite');
    const config: sql.config = {
      server: s.server,
      database: s.database,
      user: s.user,
      password: target.password.reveal(),
      connectionTimeout: s.connectTimeoutMs,
      requestTimeout: s.requestTimeoutMs,
      arrayRowMode: true,
      pool: { max: s.pool.max, min: s.pool.min, idleTimeoutMillis: s.pool.idleTimeoutMs },
      options: {
        encrypt: s.encrypt,
        trustServerCertificate: s.trustServerCertificate,
        readOnlyIntent: intent === 'ReadOnly',
        appName: s.appName,
        useUTC: true,
        enableArithAbort: true,
        // A run fails as a whole: any error inside a writer's transaction rolls all of it back.
        abortTransactionOnError: options.role === 'writer',
        connectionIsolationLevel:
          ISOLATION[s.isolation === 'snapshot' || options.role === 'writer' ? 'read-committed' : s.isolation],
        ...(s.instanceName ? { instanceName: s.instanceName } : { port: s.port }),
      },
    };
    if (s.authentication === 'ntlm') config.domain = s.domain;
    // The server explains a failed login in several messages (4060 "Cannot open database", then
    // 18456 "Login failed"); the driver's error keeps only the last, so all are collected here.
    const loginMessages: { number: number; message: string }[] = [];
    config.beforeConnect = (conn) => {
      conn.on('errorMessage', (m: { number: number; message: string }) => loginMessages.push(m));
    };
    const pool = new sql.ConnectionPool(config);
    // An idle pooled connection that drops emits 'error'; the next request reconnects.
    pool.on('error', () => {});
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => {});
      throw connectionError(target.label, s.passwordEnv, error, loginMessages);
    }
    return new MssqlClient(pool, target, options.onQuery);
  }

  /** Runs one request outside a transaction, retrying transient failures. */
  async query(statement: Statement, options: RequestOptions = {}): Promise<QueryResult> {
    return this.retrying(() => this.send(statement, null, options.signal), options.signal);
  }

  /**
   * Runs `work` in one transaction and commits it; any error rolls it back. A transient failure
   * before the commit rolls back and runs `work` again from the start (it must only depend on
   * what it reads inside); a failure of the commit itself is not retried, as its outcome is unknown.
   */
  async transaction<T>(
    isolation: Isolation,
    work: (tx: Transaction) => Promise<T>,
    options: RequestOptions = {},
  ): Promise<T> {
    return this.retrying(async () => {
      const tx = new sql.Transaction(this.pool);
      await this.guard(() => tx.begin(ISOLATION[isolation]), options.signal);
      let result: T;
      try {
        result = await work({ query: (s, o = {}) => this.send(s, tx, o.signal ?? options.signal) });
      } catch (error) {
        await tx.rollback().catch(() => {}); // already rolled back by the server (XACT_ABORT) or the connection is gone
        throw error;
      }
      try {
        await tx.commit();
      } catch (error) {
        throw Object.assign(
          new MssqlQueryError(
            this.label,
            undefined,
            `the commit failed; its outcome is unknown (${(error as Error).message})`,
            {
              cause: error,
            },
          ),
          { noRetry: true },
        );
      }
      return result;
    }, options.signal);
  }

  private async send(
    statement: Statement,
    tx: sql.Transaction | null,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    signal?.throwIfAborted();
    const request = tx ? new sql.Request(tx) : this.pool.request();
    request.arrayRowMode = true;
    for (const p of statement.params) request.input(p.name, driverType(p.type), driverValue(p.value));
    this.onQuery?.(statement.sql);
    const result = await this.guard(
      () => request.query(statement.sql),
      signal,
      () => request.cancel(),
    );
    const columns = ((result as unknown as { columns?: DriverColumn[][] }).columns ?? []) as DriverColumn[][];
    const sets = ((result.recordsets ?? []) as unknown as unknown[][][]).map((rows, i) => ({
      columns: (columns[i] ?? []).map(declaredColumn),
      rows,
    }));
    return { sets, rowsAffected: result.rowsAffected ?? [] };
  }

  /** Runs `f`, turning an abort into QueryCancelledError (cancelling the request when it is running). */
  private async guard<T>(f: () => Promise<T>, signal?: AbortSignal, cancel?: () => void): Promise<T> {
    if (!signal) return f();
    signal.throwIfAborted();
    const onAbort = () => cancel?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await f();
    } catch (error) {
      if (signal.aborted) throw new QueryCancelledError(this.label);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async retrying<T>(f: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { attempts, minDelayMs, maxDelayMs } = this.target.settings.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await f();
      } catch (error) {
        const retry =
          attempt < attempts &&
          !signal?.aborted &&
          !(error as { noRetry?: boolean }).noRetry &&
          isTransient(error);
        if (!retry)
          throw error instanceof QueryCancelledError || signal?.aborted
            ? cancelled(this.label, error)
            : error;
        const backoff = Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1));
        // Full jitter: concurrent clients that failed together do not retry together.
        await sleep(Math.random() * backoff, undefined, signal ? { signal } : undefined).catch(() => {
          throw new QueryCancelledError(this.label);
        });
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function cancelled(label: string, error: unknown): unknown {
  return error instanceof QueryCancelledError ? error : new QueryCancelledError(label);
}

/** Requests inside one transaction. */
export interface Transaction {
  query(statement: Statement, options?: RequestOptions): Promise<QueryResult>;
}
