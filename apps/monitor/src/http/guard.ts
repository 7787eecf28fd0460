import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackHost } from '../config/schema';

/** Security headers of every response: nothing inline runs, nothing is framed, nothing is cached. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The daily report page: its own inline styles, no script at all. */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The host name of a `Host` header (`[::1]:8080` → `[::1]`, `localhost:80` → `localhost`). */
export function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
}

/**
 * On a loopback bind, a request must name a loopback host: a web page whose own domain was
 * re-pointed at 127.0.0.1 (DNS rebinding) gets nothing, not even read access to the queue.
 */
export function loopbackHostOk(headers: IncomingHttpHeaders): boolean {
  return typeof headers.host === 'string' && isLoopbackHost(hostName(headers.host.toLowerCase()));
}

/**
 * A state-changing request must come from the dashboard's own pages: its `Origin` (when sent)
 * must be this host, and `Sec-Fetch-Site` (when sent) `same-origin`. Browsers send at least one
 * of them on every POST, so a form or script on another site is refused here, before any body
 * is read; clients without them (curl, scripts) use bearer tokens or the CSRF token.
 * `forwardedHost`: the public host a trusted proxy reports.
 */
export function sameOriginOk(
  headers: IncomingHttpHeaders,
  forwardedHost?: string,
): { ok: true } | { ok: false; reason: string } {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin')
    return { ok: false, reason: `Sec-Fetch-Site is ${site}` };
  const origin = headers.origin;
  if (origin === undefined) return { ok: true };
  const host = (forwardedHost ?? headers.host ?? '').toLowerCase();
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return { ok: false, reason: `Origin ${origin} is not a URL` };
  }
  return originHost === host && host !== ''
    ? { ok: true }
    : { ok: false, reason: `Origin ${origin} is not this dashboard` };
}
