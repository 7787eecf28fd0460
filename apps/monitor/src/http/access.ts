import { ConfigError, resolveSecret } from '../config/load';
import { type HttpConfig, isLoopbackHost } from '../config/schema';

/** Where the dashboard listens. */
export interface Bind {
  /** As `listen()` takes it (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Reachable from this machine only. */
  readonly loopback: boolean;
}

/** An access token and the name the audit log records for whoever presents it. */
export interface TokenUser {
  readonly name: string;
  readonly token: string;
}

/** How requests are authenticated. No tokens and no proxy: anyone who can reach a loopback bind. */
export interface AccessPolicy {
  readonly bind: Bind;
  /** The setting the bind came from (`http.bind` or `--http`), for error messages. */
  readonly bindKey: string;
  readonly tokens: readonly TokenUser[];
  readonly proxy: { readonly header: string; readonly trusted: readonly string[] } | null;
}

/** The user name recorded for the config's single shared `token`. */
export const SHARED_TOKEN_USER = 'shared-token';
/** Tokens shorter than this are refused: a guessable token is no access control. */
export const MIN_TOKEN_LENGTH = 16;

/** `host:port` → host and port; `key` names the setting in errors (`http.bind`, `--http`). */
export function parseBind(text: string, key: string): Bind {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65_535)
    throw new ConfigError('config', key, `expected host:port such as 127.0.0.1:8080, received "${text}"`);
  const raw = m[1]!;
  return { host: raw.replace(/^\[(.*)\]$/, '$1'), port, loopback: isLoopbackHost(raw) };
}

/**
 * The dashboard's access policy from the `http` settings (and `--http`, which overrides the bind).
 * Refuses, naming the setting, a bind beyond loopback without a token or a trusted proxy header,
 * short tokens, and two users sharing one token (the audit log could not tell them apart).
 */
export function accessPolicy(
  http: HttpConfig,
  options: { bindOverride?: string; env?: NodeJS.ProcessEnv } = {},
): AccessPolicy {
  const bindKey = options.bindOverride === undefined ? 'http.bind' : '--http';
  const bind = parseBind(options.bindOverride ?? http.bind, bindKey);
  const tokens: TokenUser[] = [];
  if (http.token)
    tokens.push({ name: SHARED_TOKEN_USER, token: resolveSecret(http.token, 'http.token', options.env) });
  http.users?.forEach((u, i) => {
    tokens.push({ name: u.name, token: resolveSecret(u.token, `http.users[${i}].token`, options.env) });
  });
  const keyOf = (i: number) =>
    http.token ? (i === 0 ? 'http.token' : `http.users[${i - 1}].token`) : `http.users[${i}].token`;
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (t.token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(
        'config',
        keyOf(i),
        `expected a token of at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`,
      );
    if (seen.has(t.token))
      throw new ConfigError(
        'config',
        keyOf(i),
        `expected a token of its own (${keyOf(seen.get(t.token)!)} has the same)`,
      );
    seen.set(t.token, i);
  });
  const proxy = http.proxy ? { header: http.proxy.header.toLowerCase(), trusted: http.proxy.trusted } : null;
  if (!bind.loopback && tokens.length === 0 && !proxy)
    throw new ConfigError(
      'config',
      bindKey === '--http' ? '--http' : 'http.token',
      `binding the dashboard to ${bind.host}, beyond localhost, is refused without an access token: set http.token or http.users (or a trusted http.proxy header)`,
    );
  return { bind, bindKey, tokens, proxy };
}

/** Whether the policy asks for credentials (otherwise: local anonymous access). */
export const requiresCredentials = (p: AccessPolicy): boolean => p.tokens.length > 0 || p.proxy !== null;
