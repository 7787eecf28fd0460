import { inspect } from 'node:util';
import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * How to reach a SQL Server database: every setting, validated, with errors naming it
 * (`mssql.port: expected a number ≤ 65535`). Passwords are never settings: they come from the
 * environment variable `passwordEnv` names (or a URL's user info), are held in a `Secret` that
 * prints as `[redacted]`, and appear in no message.
 */
export const MssqlSettingsSchema = z.strictObject({
  /** Host name or address of the SQL Server. */
  server: z.string().min(1).max(255),
  /** TCP port (ignored when `instanceName` is set: the SQL Browser service resolves it). */
  port: z.number().int().min(1).max(65535).default(1433),
  /** A named instance (`host\\INSTANCE`), found through the SQL Browser service on UDP 1434. */
  instanceName: z.string().min(1).max(128).optional(),
  /** The database (Mosaiq's is usually `MOSAIQ`). */
  database: z.string().min(1).max(128),
  /** The schema of the Mosaiq tables. */
  schema: z.string().min(1).max(128).default('dbo'),
  /** `sql`: a SQL Server login; `ntlm`: a Windows domain account (with `domain`). */
  authentication: z.enum(['sql', 'ntlm']).default('sql'),
  /** The login (SQL) or account name (NTLM). */
  user: z.string().min(1).max(128),
  /** Windows domain, for `authentication: ntlm`. */
  domain: z.string().min(1).max(255).optional(),
  /** The environment variable holding the password. */
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('MSSQL_PASSWORD'),
  /** TLS for the whole connection (SQL Server's `Encrypt`). */
  encrypt: z.boolean().default(true),
  /** Accept any server certificate (self-signed test servers only). */
  trustServerCertificate: z.boolean().default(false),
  /**
   * `ReadOnly` routes to a readable secondary of an availability group (readers default to it);
   * writers need `ReadWrite` (their default).
   */
  applicationIntent: z.enum(['ReadOnly', 'ReadWrite']).optional(),
  /**
   * Isolation of reads. `read-committed` (default): each query sees committed rows and may wait
   * for a clinical write to finish; `snapshot`: each reader call sees one consistent snapshot and
   * never blocks writers (needs `ALLOW_SNAPSHOT_ISOLATION ON`); `read-uncommitted`: dirty reads
   * (what `WITH (NOLOCK)` does), only if you accept records that may never have been committed.
   */
  isolation: z.enum(['read-committed', 'snapshot', 'read-uncommitted']).default('read-committed'),
  /** Time to connect and log in. */
  connectTimeoutMs: z.number().int().min(1000).max(300_000).default(15_000),
  /** Time for one request; a longer one is cancelled (and retried, see `retry`). */
  requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
  pool: z
    .strictObject({
      /** Connections at most. */
      max: z.number().int().min(1).max(100).default(4),
      /** Connections kept open when idle. */
      min: z.number().int().min(0).max(100).default(0),
      /** An idle connection above `min` is closed after this long. */
      idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000),
    })
    .prefault({})
    .refine((p) => p.min <= p.max, { message: 'min ≤ max', path: ['min'] }),
  retry: z
    .strictObject({
      /** Tries of a request that fails transiently (deadlock 1205, timeout, connection reset). */
      attempts: z.number().int().min(1).max(10).default(4),
      /** First back-off; doubled each time (with jitter) up to `maxDelayMs`. */
      minDelayMs: z.number().int().min(0).max(60_000).default(200),
      maxDelayMs: z.number().int().min(0).max(600_000).default(5000),
    })
    .prefault({}),
  /** The program name SQL Server shows for the session (sys.dm_exec_sessions.program_name). */
  appName: z.string().min(1).max(128).default('anomalia'),
});
export type MssqlSettingsInput = z.input<typeof MssqlSettingsSchema>;
export type MssqlSettings = z.output<typeof MssqlSettingsSchema>;

/** A password: never printed, never serialised. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** Resolved settings plus the password, ready to connect. */
export interface MssqlTarget {
  readonly settings: MssqlSettings;
  readonly password: Secret;
  /** `server:port/database as user` (never the password), for messages. */
  readonly label: string;
}

export type MssqlTargetInput = string | MssqlSettingsInput | { url: string };

const ROOT = 'mssql';

const BOOL: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  '1': true,
  '0': false,
};

/** Query options of a URL and keys of a connection string that map onto a setting. */
type Setter = (out: Record<string, unknown>, value: string, field: string) => void;

const asBool =
  (key: string): Setter =>
  (out, value, field) => {
    const b = BOOL[value.toLowerCase()];
    if (b === undefined) throw new ValidationError(field, 'true or false', value);
    out[key] = b;
  };
const asInt =
  (key: string, scale = 1): Setter =>
  (out, value, field) => {
    if (!/^\d+$/.test(value)) throw new ValidationError(field, 'a whole number', value);
    out[key] = Number(value) * scale;
  };
const asText =
  (key: string): Setter =>
  (out, value) => {
    out[key] = value;
  };
const nested =
  (group: string, key: string): Setter =>
  (out, value, field) => {
    if (!/^\d+$/.test(value)) throw new ValidationError(field, 'a whole number', value);
    out[group] = { ...((out[group] as object) ?? {}), [key]: Number(value) };
  };
const intent: Setter = (out, value, field) => {
  const v = { readonly: 'ReadOnly', readwrite: 'ReadWrite' }[value.toLowerCase()];
  if (!v) throw new ValidationError(field, 'ReadOnly or ReadWrite', value);
  out.applicationIntent = v;
};
const encryptSetter: Setter = (out, value, field) => {
  // Connection strings also say mandatory/optional/strict for encryption.
  const v =
    { mandatory: true, strict: true, optional: false }[value.toLowerCase()] ?? BOOL[value.toLowerCase()];
  if (v === undefined) throw new ValidationError(field, 'true or false', value);
  out.encrypt = v;
};
const integrated: Setter = (_out, value, field) => {
  if (BOOL[value.toLowerCase()] === false) return;
  throw new ValidationError(
    field,
    'no integrated (Kerberos/SSPI) login: the tedious driver cannot use one; set authentication=ntlm with domain, user and passwordEnv instead',
    value,
  );
};

/** URL query options: the setting names themselves. */
const URL_OPTIONS: Record<string, Setter> = {
  instanceName: asText('instanceName'),
  schema: asText('schema'),
  authentication: asText('authentication'),
  domain: asText('domain'),
  passwordEnv: asText('passwordEnv'),
  encrypt: encryptSetter,
  trustServerCertificate: asBool('trustServerCertificate'),
  applicationIntent: intent,
  isolation: asText('isolation'),
  connectTimeoutMs: asInt('connectTimeoutMs'),
  requestTimeoutMs: asInt('requestTimeoutMs'),
  poolMax: nested('pool', 'max'),
  poolMin: nested('pool', 'min'),
  poolIdleTimeoutMs: nested('pool', 'idleTimeoutMs'),
  retryAttempts: nested('retry', 'attempts'),
  appName: asText('appName'),
};

/** Connection-string keys (case and spaces ignored), as SQL Server clients spell them. */
const CONNECTION_STRING_KEYS: Record<string, Setter> = {
  ...Object.fromEntries(Object.entries(URL_OPTIONS).map(([k, v]) => [k.toLowerCase(), v])),
  database: asText('database'),
  initialcatalog: asText('database'),
  userid: asText('user'),
  uid: asText('user'),
  user: asText('user'),
  applicationintent: intent,
  connecttimeout: asInt('connectTimeoutMs', 1000),
  connectiontimeout: asInt('connectTimeoutMs', 1000),
  commandtimeout: asInt('requestTimeoutMs', 1000),
  applicationname: asText('appName'),
  app: asText('appName'),
  integratedsecurity: integrated,
  trustedconnection: integrated,
  maxpoolsize: nested('pool', 'max'),
  minpoolsize: nested('pool', 'min'),
};

/** `host`, `host,port`, `tcp:host,port`, `host\INSTANCE` (connection-string style). */
function setServer(out: Record<string, unknown>, value: string, field: string): void {
  const m = /^(?:tcp:)?([^,\\]+)(?:\\([^,]+))?(?:,(\d+))?$/i.exec(value.trim());
  if (!m) throw new ValidationError(field, 'host, host,port or host\\instance', value);
  out.server = m[1];
  if (m[2]) out.instanceName = m[2];
  if (m[3]) out.port = Number(m[3]);
}

/** What a connection string or URL looks like with its password hidden (for messages). */
export function redactConnectionText(text: string): string {
  return text
    .replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@')
    .replace(/((?:^|;)\s*(?:password|pwd)\s*=)[^;]*/gi, '$1***');
}

function parseUrl(text: string): { input: Record<string, unknown>; password: string | null } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(
      `${ROOT}.url`,
      'mssql://user@host:port/database?options, or Server=...;Database=...',
      redactConnectionText(text),
    );
  }
  if (url.protocol !== 'mssql:' && url.protocol !== 'sqlserver:') {
    throw new ValidationError(`${ROOT}.url`, 'a URL starting with mssql:// or sqlserver://', url.protocol);
  }
  const input: Record<string, unknown> = {};
  if (url.hostname) input.server = decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '');
  if (url.port) input.port = Number(url.port);
  if (url.username) input.user = decodeURIComponent(url.username);
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw new ValidationError(`${ROOT}.url`, 'one path segment: the database', path);
  if (path) input.database = path;
  for (const [key, value] of url.searchParams) {
    const set = URL_OPTIONS[key];
    if (!set) {
      throw new ValidationError(
        `${ROOT}.url?${key}`,
        `one of the options ${Object.keys(URL_OPTIONS).join(', ')}`,
      );
    }
    set(input, value, `${ROOT}.url?${key}`);
  }
  return { input, password: url.password ? decodeURIComponent(url.password) : null };
}

function parseConnectionString(text: string): { input: Record<string, unknown>; password: string | null } {
  const input: Record<string, unknown> = {};
  let password: string | null = null;
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0)
      throw new ValidationError(`${ROOT}.connectionString`, 'key=value pairs separated by ;', '(hidden)');
    const rawKey = part.slice(0, eq).trim();
    const key = rawKey.toLowerCase().replace(/[\s_]/g, '');
    const value = part.slice(eq + 1).trim();
    const field = `${ROOT}.connectionString.${rawKey}`;
    if (key === 'password' || key === 'pwd') password = value;
    else if (['server', 'datasource', 'address', 'addr', 'networkaddress'].includes(key)) {
      setServer(input, value, field);
    } else {
      const set = CONNECTION_STRING_KEYS[key];
      if (!set) throw new ValidationError(field, 'a known connection-string key (see the README)');
      set(input, value, field);
    }
  }
  return { input, password };
}

/**
 * Settings and password from a URL (`mssql://user@host:1433/MOSAIQ?encrypt=true`), a SQL Server
 * connection string (`Server=host,1433;Database=MOSAIQ;User Id=...;Encrypt=True`), or an object
 * of settings (`{ url }` works too). The password comes from the URL or connection string when
 * one is there, else from `env[passwordEnv]`; a missing one is an error naming the variable.
 */
export function mssqlTarget(
  input: MssqlTargetInput,
  options: { env?: Readonly<Record<string, string | undefined>> } = {},
): MssqlTarget {
  const env = options.env ?? process.env;
  let raw: unknown = input;
  let password: string | null = null;
  if (typeof input === 'object' && input !== null && 'url' in input) {
    const { url, ...rest } = input as { url: unknown };
    if (typeof url !== 'string') throw new ValidationError(`${ROOT}.url`, 'a string', typeof url);
    const parsed = parseTargetText(url);
    raw = { ...parsed.input, ...rest };
    password = parsed.password;
  } else if (typeof input === 'string') {
    const parsed = parseTargetText(input);
    raw = parsed.input;
    password = parsed.password;
  }
  const settings = parseWith(MssqlSettingsSchema, raw, ROOT);
  if (settings.authentication === 'ntlm' && !settings.domain) {
    throw new ValidationError(`${ROOT}.domain`, 'the Windows domain of the account (authentication is ntlm)');
  }
  if (password === null) {
    const fromEnv = env[settings.passwordEnv];
    if (fromEnv === undefined || fromEnv === '') {
      throw new ValidationError(
        `${ROOT}.passwordEnv`,
        `the environment variable ${settings.passwordEnv} to hold the password of ${settings.user} (it is not set)`,
      );
    }
    password = fromEnv;
  }
  return { settings, password: new Secret(password), label: targetLabel(settings) };
}

function parseTargetText(text: string) {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim()) ? parseUrl(text.trim()) : parseConnectionString(text);
}

/** `host:1433/MOSAIQ as reader` (or `host\INSTANCE/...`). */
export function targetLabel(s: MssqlSettings): string {
  const where = s.instanceName ? `${s.server}\\${s.instanceName}` : `${s.server}:${s.port}`;
  return `${where}/${s.database} as ${s.authentication === 'ntlm' ? `${s.domain}\\` : ''}${s.user}`;
}
