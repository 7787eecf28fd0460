import { parseJsonText, parseWith } from '@anomalia/core';
import type { AlertState, MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import Fastify, { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { z } from 'zod';
import {
  AlertIdParam,
  AlertIdSchema,
  AlertNotFoundError,
  ReviewConflictError,
  Reviewer,
} from '../dashboard/actions';
import { LabelledSet } from '../dashboard/labels';
import { TimelineRenderer } from '../dashboard/timeline';
import { queueItem } from '../dashboard/view';
import type { MonitorEventBus } from '../events/bus';
import type { Logger } from '../log';
import { MonitorMetrics } from '../metrics/metrics';
import { collectDailyReport, dayRange } from '../report/data';
import { renderReportHtml } from '../report/render';
import type { HealthSummary } from '../service/health';
import type { AccessPolicy } from './access';
import { loadAssets } from './assets';
import {
  Authenticator,
  clearedSessionCookie,
  cookieValue,
  type Principal,
  SESSION_COOKIE,
  sessionCookie,
} from './auth';
import { loopbackHostOk, REPORT_CSP, SECURITY_HEADERS, sameOriginOk } from './guard';
import { EventStreamHub } from './sse';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** `public`: no credentials needed; `page`: HTML (unauthenticated → /login); default `api` (→ 401). */
    access?: 'public' | 'page' | 'api';
  }
}

export interface DashboardOptions {
  /** The running monitor's store and health (the service's). */
  readonly store: MonitorStore;
  readonly health: () => HealthSummary;
  readonly events: MonitorEventBus;
  readonly policy: AccessPolicy;
  readonly logger: Logger;
  /** The labelled set that false positives and resolutions are appended to (JSONL). */
  readonly labelsPath: string;
  /** Default days of the energy timeline. */
  readonly timelineDays: number;
  /** How often open pages get the health summary. */
  readonly healthIntervalMs?: number;
  readonly now?: () => number;
}

export interface Dashboard {
  /** `http://host:port` as bound (the real port when 0 was asked for). */
  readonly url: string;
  readonly metrics: MonitorMetrics;
  readonly authenticator: Authenticator;
  close(): Promise<void>;
}

/** A whole number in a query string, from `min` to `max`. */
const wholeNumber = (min: number, max: number, what: string) =>
  z
    .string()
    .refine(
      (s) => /^\d{1,6}$/.test(s) && Number(s) >= min && Number(s) <= max,
      `${what} from ${min} to ${max}`,
    )
    .transform(Number);
const QUEUE_VIEWS: Record<string, readonly AlertState[]> = {
  unresolved: ['open', 'acknowledged'],
  open: ['open'],
  acknowledged: ['acknowledged'],
  closed: ['resolved', 'false_positive'],
  resolved: ['resolved'],
  false_positive: ['false_positive'],
};
const QueueQuerySchema = z.strictObject({
  view: z.enum(Object.keys(QUEUE_VIEWS) as [string, ...string[]]).default('unresolved'),
  limit: wholeNumber(1, 5_000, 'a number of alerts').default(500),
});
const AlertParamSchema = z.strictObject({ id: AlertIdParam });
const TimelineQuerySchema = z.strictObject({
  days: wholeNumber(1, 90, 'a number of days').optional(),
  v: z.string().max(32).optional(),
});
const ReportQuerySchema = z.strictObject({
  day: z
    .string()
    .refine((d) => {
      try {
        dayRange(d);
        return true;
      } catch {
        return false;
      }
    }, 'a calendar day as YYYY-MM-DD')
    .optional(),
});
const LoginSchema = z.strictObject({ token: z.string().min(1).max(1_000) });

const localDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the dashboard: the alert queue page with live updates, review actions, the energy
 * timeline, health, the daily report, and `/metrics`. Refuses (before listening) an access policy
 * that would expose it beyond localhost without credentials; see `accessPolicy`.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const now = o.now ?? Date.now;
  const assets = loadAssets();
  const auth = new Authenticator(o.policy, now);
  const metrics = new MonitorMetrics({ events: o.events, health: o.health, store: o.store });
  const reviewer = new Reviewer(o.store, new LabelledSet(o.labelsPath), o.events, now);
  const timeline = new TimelineRenderer(o.store, now);
  const hub = new EventStreamHub();
  const log = o.logger.child({ component: 'dashboard' });
  // On a loopback bind without a proxy, requests must name a loopback host (DNS rebinding).
  const checkHost = o.policy.bind.loopback && o.policy.proxy === null;

  const app = Fastify({
    loggerInstance: log,
    // One line per request would drown the monitor's own log; refusals are counted in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    trustProxy: o.policy.proxy ? [...o.policy.proxy.trusted] : false,
    forceCloseConnections: true,
  });
  app.decorateRequest('principal', null);
  // Our own JSON parser: prototype keys are refused and errors name `body`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? {} : parseJsonText(body as string, 'body'));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  const refuse = (
    reply: FastifyReply,
    code: number,
    reason: 'credentials' | 'host' | 'origin' | 'csrf',
    error: string,
  ) => {
    metrics.countRefused(reason);
    return reply.code(code).send({ error });
  };

  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (checkHost && !loopbackHostOk(req.headers))
      return refuse(reply, 403, 'host', 'this dashboard answers to localhost names only');
    const access = req.routeOptions.config?.access ?? 'api';
    const principal = auth.authenticate(req.headers, req.socket.remoteAddress);
    req.principal = principal;
    if (!principal && access !== 'public') {
      if (access === 'page') {
        metrics.countRefused('credentials');
        return reply.redirect('/login', 303);
      }
      reply.header('www-authenticate', 'Bearer realm="anomalia-monitor"');
      return refuse(reply, 401, 'credentials', 'sign in: this dashboard needs an access token');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = sameOriginOk(req.headers, o.policy.proxy ? req.host : undefined);
      if (!origin.ok) return refuse(reply, 403, 'origin', `cross-site request refused (${origin.reason})`);
      const csrf = req.headers['x-csrf-token'];
      if (
        access !== 'public' &&
        principal!.via !== 'bearer' &&
        !auth.checkCsrf(principal!, typeof csrf === 'string' ? csrf : undefined)
      )
        return refuse(reply, 403, 'csrf', 'missing or wrong X-CSRF-Token: reload the page');
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => {
    if (error.name === 'ValidationError') return reply.code(400).send({ error: error.message });
    if (error instanceof AlertNotFoundError) return reply.code(404).send({ error: error.message });
    if (error instanceof ReviewConflictError) return reply.code(409).send({ error: error.message });
    if (error.statusCode && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message });
    log.error({ err: error.message, url: req.url.split('?')[0] }, 'dashboard request failed');
    return reply.code(500).send({ error: 'internal error (see the monitor log)' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  const identifiers = (req: FastifyRequest) => req.principal?.authenticated === true;

  // Pages and their static files.
  app.get('/', { config: { access: 'page' } }, (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(assets.page('index.html')),
  );
  app.get('/login', { config: { access: 'public' } }, (req, reply) => {
    if (!auth.credentialsRequired || req.principal) return reply.redirect('/', 303);
    return reply.type('text/html; charset=utf-8').send(assets.page('login.html'));
  });
  app.get('/assets/:file', { config: { access: 'public' } }, (req, reply) => {
    const { file } = req.params as { file: string };
    const asset = assets.file(file);
    if (!asset) return reply.code(404).send({ error: 'not found' });
    return reply.type(asset.type).send(asset.body);
  });

  // Sessions.
  app.post('/api/login', { config: { access: 'public' } }, async (req, reply) => {
    const { token } = parseWith(LoginSchema, req.body, 'body');
    const session = auth.signIn(token);
    if (!session) {
      await sleep(300); // slows guessing; tokens are long enough that it never finishes anyway
      return refuse(reply, 401, 'credentials', 'wrong token');
    }
    log.info({ user: session.user }, 'signed in');
    reply.header(
      'set-cookie',
      sessionCookie(session.sessionId, session.maxAgeSeconds, req.protocol === 'https'),
    );
    return { user: session.user };
  });
  app.post('/api/logout', async (req, reply) => {
    auth.signOut(cookieValue(req.headers.cookie, SESSION_COOKIE) ?? undefined);
    reply.header('set-cookie', clearedSessionCookie());
    return { user: null };
  });
  app.get('/api/session', (req) => {
    const p = req.principal!;
    return {
      user: p.user,
      via: p.via,
      authenticated: p.authenticated,
      identifiers: identifiers(req),
      credentialsRequired: auth.credentialsRequired,
      csrfToken: auth.csrfToken(p),
      timelineDays: o.timelineDays,
    };
  });

  // The queue and reviews.
  app.get('/api/queue', (req) => {
    const q = parseWith(QueueQuerySchema, req.query, 'query');
    const alerts = o.store.reviewQueue({ states: QUEUE_VIEWS[q.view]!, limit: q.limit });
    const counts: Record<string, Record<string, number>> = {};
    for (const c of o.store.alertCounts()) {
      const byBand = counts[c.state] ?? {};
      byBand[c.band] = c.alerts;
      counts[c.state] = byBand;
    }
    return { now: now(), view: q.view, alerts: alerts.map((a) => queueItem(a, identifiers(req))), counts };
  });
  app.get('/api/alerts/:id', (req) => {
    const { id } = parseWith(AlertParamSchema, req.params, 'params');
    const alert = o.store.alert(id);
    if (!alert) throw new AlertNotFoundError(`no alert with id ${id}`);
    return { alert: queueItem(alert, identifiers(req)), audit: o.store.auditLog({ alertId: id, limit: 50 }) };
  });
  app.post('/api/alerts/:id/:action', async (req) => {
    const { id, action } = parseWith(AlertIdSchema, req.params, 'params');
    const updated = await reviewer.review({ alertId: id, action, body: req.body, by: req.principal!.user });
    log.info({ alert: updated.key, state: updated.state, by: updated.stateBy }, 'alert reviewed');
    return { alert: queueItem(updated, identifiers(req)) };
  });

  // Health, live stream, plots, report, metrics.
  app.get('/api/health', () => o.health());
  app.get('/healthz', { config: { access: 'public' } }, () => ({ status: o.health().status }));
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    hub.add(reply.raw, SECURITY_HEADERS);
    reply.raw.write(`event: health\ndata: ${JSON.stringify(o.health())}\n\n`);
    req.raw.on('close', () => reply.raw.end());
  });
  app.get('/timeline.svg', async (req, reply) => {
    const q = parseWith(TimelineQuerySchema, req.query, 'query');
    const svg = await timeline.svg(q.days ?? o.timelineDays);
    return reply
      .type('image/svg+xml; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(svg);
  });
  app.get('/report', { config: { access: 'page' } }, async (req, reply) => {
    const q = parseWith(ReportQuerySchema, req.query, 'query');
    const data = collectDailyReport(o.store, q.day ?? localDay(now()), {
      trendDays: 7,
      identifiers: identifiers(req),
      now: now(),
    });
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', REPORT_CSP)
      .send(await renderReportHtml(data));
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await metrics.render();
    return reply.type(m.contentType).send(m.text);
  });

  // What open pages hear about.
  const offs = [
    o.events.on('batch', (e) => {
      const alerts =
        Object.values(e.alertsCreated).reduce((a, b) => a + b, 0) +
        Object.values(e.alertsEscalated).reduce((a, b) => a + b, 0);
      if (alerts > 0)
        hub.send('queue', { reason: 'alerts', created: e.alertsCreated, escalated: e.alertsEscalated });
      if (e.changed > 0) hub.send('timeline', { at: e.at });
    }),
    o.events.on('alertState', (e) =>
      hub.send('queue', { reason: 'review', alertId: e.alertId, state: e.to }),
    ),
  ];
  const healthTimer = setInterval(() => {
    if (hub.size > 0) hub.send('health', o.health());
  }, o.healthIntervalMs ?? 2_000);
  healthTimer.unref();
  app.addHook('preClose', async () => {
    clearInterval(healthTimer);
    hub.close();
  });

  await app.listen({ host: o.policy.bind.host, port: o.policy.bind.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.policy.bind.port;
  const host = o.policy.bind.host.includes(':') ? `[${o.policy.bind.host}]` : o.policy.bind.host;
  const url = `http://${host}:${port}`;
  log.info({ url, credentials: auth.credentialsRequired }, 'dashboard listening');
  return {
    url,
    metrics,
    authenticator: auth,
    async close() {
      for (const off of offs) off();
      await app.close();
      metrics.close();
    },
  };
}
