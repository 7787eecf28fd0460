/**
 * What goes wrong talking to SQL Server, sorted into what to retry and what to tell the user.
 * The driver's errors carry a `code` (ELOGIN, ESOCKET, ETIMEOUT, EREQUEST, ...) and, for errors
 * the server raised, its error `number`.
 */

interface DriverError {
  code?: string;
  number?: number;
  message?: string;
  originalError?: DriverError & { cause?: DriverError };
  cause?: DriverError;
  precedingErrors?: DriverError[];
}

/** Server error numbers worth another try: deadlock victim, lock or resource timeouts, failover. */
const TRANSIENT_NUMBERS = new Set([
  1205, // chosen as deadlock victim
  1222, // lock request time-out
  701, // insufficient memory
  8645, // timeout waiting for memory
  8651, // low memory
  40197,
  40501,
  40613,
  49918,
  49919,
  49920, // Azure SQL throttling and failover
  4221, // readable secondary: login waiting for redo
  976, // readable secondary not yet available
  983, // availability replica not in a readable state
]);
/** Driver codes of lost connections and timeouts. */
const TRANSIENT_CODES = new Set([
  'ETIMEOUT',
  'ESOCKET',
  'ECONNRESET',
  'ECONNCLOSED',
  'ENOCONN',
  'EPIPE',
  'ECONNREFUSED',
]);

function codes(e: DriverError | undefined, depth = 0): DriverError[] {
  if (!e || depth > 4) return [];
  return [e, ...codes(e.originalError, depth + 1), ...codes(e.cause, depth + 1)];
}

/** The server's error number, when the server raised the error. */
export function errorNumber(error: unknown): number | undefined {
  for (const e of codes(error as DriverError)) if (typeof e.number === 'number') return e.number;
  return undefined;
}

/** True for errors another attempt may not see: deadlocks, timeouts, dropped connections. */
export function isTransient(error: unknown): boolean {
  if (error instanceof QueryCancelledError) return false;
  for (const e of codes(error as DriverError)) {
    if (typeof e.number === 'number' && TRANSIENT_NUMBERS.has(e.number)) return true;
    if (e.code && TRANSIENT_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && /\bECONNRESET\b|socket hang up/i.test(e.message)) return true;
  }
  return false;
}

/** A query stopped by its AbortSignal. */
export class QueryCancelledError extends Error {
  override readonly name = 'QueryCancelledError';
  constructor(readonly target: string) {
    super(`${target}: the query was cancelled`);
  }
}

/** Connecting or logging in failed; `settings` names what to check. */
export class MssqlConnectionError extends Error {
  override readonly name = 'MssqlConnectionError';
  constructor(
    readonly target: string,
    readonly settings: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${message}; check ${settings.map((s) => `mssql.${s}`).join(', ')}`, options);
  }
}

/** A request the server or driver refused; carries the SQL Server error number when there is one. */
export class MssqlQueryError extends Error {
  override readonly name = 'MssqlQueryError';
  constructor(
    readonly target: string,
    readonly number: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${message}`, options);
  }
}

/**
 * The error a user sees for a failed connection: what happened and which setting to check. The
 * driver's message is kept (it never holds the password) and the original error is the cause.
 */
export function connectionError(
  target: string,
  passwordEnv: string,
  error: unknown,
  serverMessages: readonly { number: number; message: string }[] = [],
): MssqlConnectionError {
  const all = codes(error as DriverError);
  const first = serverMessages.find((m) => m.number !== 18456)?.message;
  const message =
    first ?? all.map((e) => e.message).find((m) => typeof m === 'string' && m !== '') ?? String(error);
  const code = all.map((e) => e.code).find(Boolean);
  const text = [...serverMessages.map((m) => m.message), ...all.map((e) => e.message ?? '')].join(' | ');
  const make = (settings: string[], what: string) =>
    new MssqlConnectionError(target, settings, `${what} (${message})`, { cause: error });
  if (/Cannot open database/i.test(text)) {
    return make(['database'], 'the database does not exist or this login may not open it');
  }
  if (code === 'ELOGIN' || /Login failed/i.test(text)) {
    return make(['user', `passwordEnv (the password in $${passwordEnv})`, 'authentication'], 'login failed');
  }
  if (/encrypt|certificate|ssl|tls|self[- ]signed/i.test(text)) {
    return make(['encrypt', 'trustServerCertificate'], 'the encrypted connection could not be set up');
  }
  if (code === 'EINSTLOOKUP') return make(['instanceName', 'server'], 'the named instance was not found');
  if (code === 'ETIMEOUT') {
    return make(['server', 'port', 'connectTimeoutMs'], 'no answer from the server in time');
  }
  if (code === 'ESOCKET' || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/i.test(text)) {
    return make(['server', 'port'], 'could not reach the server');
  }
  return make(['server', 'port', 'database'], 'could not connect');
}
