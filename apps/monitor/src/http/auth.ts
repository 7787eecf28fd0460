import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type AccessPolicy, requiresCredentials } from './access';

/** Who is asking, and how they proved it. */
export interface Principal {
  /** Recorded in the audit log: the token's name, the proxy's user header, or `anonymous@localhost`. */
  readonly user: string;
  /**
   * `bearer`: `Authorization: Bearer <token>` (scripts, Prometheus); `session`: the cookie a browser
   * got by signing in with a token; `proxy`: a trusted reverse proxy's header; `local`: nobody
   * asked (loopback bind without credentials).
   */
  readonly via: 'bearer' | 'session' | 'proxy' | 'local';
  /** Proved who they are: only these see patient identifiers. */
  readonly authenticated: boolean;
  readonly sessionId?: string;
}

export const SESSION_COOKIE = 'anomalia_session';
export const ANONYMOUS_USER = 'anonymous@localhost';
const SESSION_TTL_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1_000;
/** A proxy's user header: printable, no separators that could forge an audit line. */
const PROXY_USER = /^[\w.@+-]{1,200}$/;

interface Session {
  readonly user: string;
  readonly expiresAt: number;
}

/** The value of one cookie from a `Cookie` header (null when absent). */
export function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Constant-time comparison of two strings (hashed first, so lengths do not leak either). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/**
 * Authenticates requests under an access policy: bearer tokens, browser sessions (an opaque
 * random id in an HttpOnly, SameSite=Strict cookie, held in memory: a restart signs everyone out),
 * a trusted proxy's user header, or nobody on a loopback bind without credentials. It also issues
 * the CSRF token a browser must echo in `X-CSRF-Token` on every state-changing request.
 */
export class Authenticator {
  private readonly sessions = new Map<string, Session>();
  /** Per process: CSRF tokens are HMACs of the principal under it, so they die with the process. */
  private readonly key = randomBytes(32);

  constructor(
    readonly policy: AccessPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get credentialsRequired(): boolean {
    return requiresCredentials(this.policy);
  }

  /** The user a token belongs to (null: no such token). */
  userOfToken(token: string): string | null {
    let user: string | null = null;
    // Every token is compared, so timing does not tell which one nearly matched.
    for (const t of this.policy.tokens) if (sameSecret(t.token, token) && user === null) user = t.name;
    return user;
  }

  /** Who sent a request, or null when credentials are required and none valid was presented. */
  authenticate(headers: IncomingHttpHeaders, remoteAddress: string | undefined): Principal | null {
    const proxy = this.policy.proxy;
    if (proxy && remoteAddress && this.fromTrusted(remoteAddress, proxy.trusted)) {
      const name = headers[proxy.header];
      if (typeof name === 'string' && PROXY_USER.test(name))
        return { user: name, via: 'proxy', authenticated: true };
    }
    const authorization = headers.authorization;
    if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) {
      const user = this.userOfToken(authorization.slice(7).trim());
      return user === null ? null : { user, via: 'bearer', authenticated: true };
    }
    const sessionId = cookieValue(headers.cookie, SESSION_COOKIE);
    if (sessionId) {
      const s = this.sessions.get(sessionId);
      if (s && s.expiresAt > this.now())
        return { user: s.user, via: 'session', authenticated: true, sessionId };
      if (s) this.sessions.delete(sessionId);
    }
    if (!this.credentialsRequired) return { user: ANONYMOUS_USER, via: 'local', authenticated: false };
    return null;
  }

  private fromTrusted(address: string, trusted: readonly string[]): boolean {
    const plain = address.replace(/^::ffff:/, '');
    return trusted.includes(plain) || trusted.includes(address);
  }

  /** Signs a browser in with a token: the new session's id (null: wrong token). */
  signIn(token: string): { sessionId: string; user: string; maxAgeSeconds: number } | null {
    const user = this.userOfToken(token);
    if (user === null) return null;
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    // Oldest first (insertion order): a flood of sign-ins cannot grow memory without bound.
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const sessionId = randomBytes(32).toString('base64url');
    this.sessions.set(sessionId, { user, expiresAt: now + SESSION_TTL_MS });
    return { sessionId, user, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  signOut(sessionId: string | undefined): void {
    if (sessionId) this.sessions.delete(sessionId);
  }

  /** The CSRF token of a principal (bound to its session, if any). */
  csrfToken(p: Principal): string {
    return createHmac('sha256', this.key)
      .update(`${p.via}\n${p.user}\n${p.sessionId ?? ''}`)
      .digest('base64url');
  }

  checkCsrf(p: Principal, presented: string | undefined): boolean {
    return typeof presented === 'string' && sameSecret(presented, this.csrfToken(p));
  }
}

/** The `Set-Cookie` value of a session (HttpOnly, SameSite=Strict; Secure behind HTTPS). */
export function sessionCookie(sessionId: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}
