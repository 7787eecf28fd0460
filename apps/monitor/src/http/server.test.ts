import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueItem } from '../dashboard/view';
import { startTestDashboard, type TestDashboard } from '../testing/dashboard';
import type { MemoryRecord } from '../testing/memory-source';
import { startHttpReceiver } from '../testing/receivers';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let n = 0;
const record = (severity: number, over: Partial<MemoryRecord> = {}): MemoryRecord => {
  n++;
  return {
    id: String(70_000 + n),
    patientId: `PAT-SECRET-${n}`,
    occurredAt: Date.now() - 60_000,
    features: { mu_delta: severity, baseline: 0.02 },
    labels: { machine: 'LA1', field: '2 RAO 30' },
    ...over,
  };
};

async function waitFor<T>(what: string, f: () => T | undefined | null | false, ms = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const call = (d: TestDashboard, path: string, init: RequestInit = {}) =>
  fetch(`${d.url}${path}`, { redirect: 'manual', ...init });
const post = (d: TestDashboard, path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(d, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A raw request, for headers fetch will not let a caller set (Host). */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function queue(
  d: TestDashboard,
  headers: Record<string, string>,
  view = 'unresolved',
): Promise<QueueItem[]> {
  const res = await call(d, `/api/queue?view=${view}`, { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { alerts: QueueItem[] }).alerts;
}

const family = (families: ParsedFamily[], name: string) => {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no metric family ${name}`);
  return f;
};

describe('dashboard with per-user tokens', () => {
  let d: TestDashboard;
  let receiver: Awaited<ReturnType<typeof startHttpReceiver>>;
  beforeAll(async () => {
    receiver = await startHttpReceiver(() => 503);
    d = await startTestDashboard({
      http: {
        users: [
          { name: 'alice', token: ALICE },
          { name: 'bob', token: { env: 'BOB_TOKEN' } },
        ],
      },
      env: { BOB_TOKEN: BOB },
      extraSinks: [
        { name: 'pager', type: 'webhook', url: receiver.url, retry: { initial: '50ms', max: '100ms' } },
      ],
    });
  });
  afterAll(async () => {
    await d.stop();
    await receiver.close();
  });

  it('refuses every request without a valid token and sends pages to sign-in', async () => {
    for (const path of [
      '/api/queue',
      '/api/health',
      '/api/session',
      '/metrics',
      '/api/events',
      '/timeline.svg',
    ]) {
      const res = await call(d, path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="anomalia-monitor"');
      expect(await res.json()).toEqual({ error: 'sign in: this dashboard needs an access token' });
      expect((await call(d, path, { headers: bearer(`${ALICE}x`) })).status, path).toBe(401);
    }
    for (const path of ['/', '/report']) {
      const res = await call(d, path);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/login');
    }
    const login = await call(d, '/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await login.text()).toContain('Access token');
    expect((await call(d, '/healthz')).status).toBe(200);
    expect((await call(d, '/assets/app.js')).headers.get('content-type')).toContain('text/javascript');
    // Only shipped files are served: no path reaches the file system.
    expect((await call(d, '/assets/..%2Fpackage.json')).status).toBe(404);
    expect((await call(d, '/api/queue', { headers: bearer(BOB) })).status).toBe(200);
  });

  it('shows identifiers to a signed-in user, records who reviewed, and refuses cross-site requests', async () => {
    const r = record(2.8);
    d.source.upsert(r);
    const item = await waitFor('the alert', () => d.store.reviewQueue().find((a) => a.recordId === r.id));
    const [shown] = (await queue(d, bearer(ALICE))).filter((a) => a.recordId === r.id);
    expect(shown).toMatchObject({
      band: 'critical',
      patientId: r.patientId,
      identifiersHidden: false,
      labels: { machine: 'LA1', field: '2 RAO 30' },
      action: 'page',
      saliency: [{ feature: 'mu_delta', value: 2.8, contribution: 2.8 }, { feature: 'baseline' }],
    });
    expect(shown!.steps.length).toBeGreaterThan(0);

    // A browser signs in: an HttpOnly, SameSite=Strict session cookie.
    const origin = d.url;
    const signIn = await post(d, '/api/login', { token: ALICE }, { origin });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(
      /^anomalia_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    const cookie = setCookie.split(';')[0]!;
    expect((await post(d, '/api/login', { token: 'x'.repeat(30) }, { origin })).status).toBe(401);
    // Login CSRF: a sign-in posted from another site is refused too.
    expect((await post(d, '/api/login', { token: ALICE }, { origin: 'http://127.0.0.1:1' })).status).toBe(
      403,
    );
    const session = (await (await call(d, '/api/session', { headers: { cookie } })).json()) as {
      user: string;
      csrfToken: string;
      identifiers: boolean;
    };
    expect(session).toMatchObject({ user: 'alice', identifiers: true });

    const ack = `/api/alerts/${item.id}/acknowledge`;
    const refused: Record<string, string>[] = [
      // Another origin (a page on another port of this machine is same-site, not same-origin).
      { origin: 'http://127.0.0.1:1', cookie, 'x-csrf-token': session.csrfToken },
      { origin: 'null', cookie, 'x-csrf-token': session.csrfToken },
      { 'sec-fetch-site': 'cross-site', cookie, 'x-csrf-token': session.csrfToken },
      // The right origin without the CSRF token, or with a wrong one.
      { origin, cookie },
      { origin, cookie, 'x-csrf-token': `${session.csrfToken.slice(1)}A` },
    ];
    for (const headers of refused) {
      const res = await post(d, ack, {}, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(
        /cross-site request refused|X-CSRF-Token/,
      );
    }
    expect(d.store.alert(item.id)!.state).toBe('open');
    expect(d.store.auditLog({ alertId: item.id })).toEqual([]);

    const res = await post(d, ack, {}, { origin, cookie, 'x-csrf-token': session.csrfToken });
    expect(res.status).toBe(200);
    expect(d.store.alert(item.id)).toMatchObject({ state: 'acknowledged', stateBy: 'alice' });
    const [entry] = d.store.auditLog({ alertId: item.id });
    expect(entry).toMatchObject({
      actor: 'alice',
      action: 'state:acknowledged',
      detail: { from: 'open', note: null },
    });
    expect(Math.abs(entry!.at - Date.now())).toBeLessThan(5_000);

    // A script with a bearer token needs no CSRF token (no ambient credential to abuse).
    const resolved = await post(
      d,
      `/api/alerts/${item.id}/resolve`,
      { note: 'MU re-entered from the plan' },
      bearer(BOB),
    );
    expect(resolved.status).toBe(200);
    expect(d.store.alert(item.id)).toMatchObject({
      state: 'resolved',
      stateBy: 'bob',
      stateNote: 'MU re-entered from the plan',
    });

    // Signed out: the cookie no longer works.
    expect(
      (await post(d, '/api/logout', {}, { origin, cookie, 'x-csrf-token': session.csrfToken })).status,
    ).toBe(200);
    expect((await call(d, '/api/session', { headers: { cookie } })).status).toBe(401);
  });

  it('validates inputs, naming the field, and refuses actions that do not apply', async () => {
    const r = record(1.2);
    d.source.upsert(r);
    const a = await waitFor('the alert', () => d.store.reviewQueue().find((x) => x.recordId === r.id));
    const h = bearer(ALICE);
    const cases: [string, unknown, number, RegExp][] = [
      [`/api/alerts/${a.id}/resolve`, {}, 400, /^body.note: expected a note saying what was done/],
      [
        `/api/alerts/${a.id}/resolve`,
        { note: '   ' },
        400,
        /^body.note: expected a note saying what was done/,
      ],
      [`/api/alerts/${a.id}/acknowledge`, { note: 'x'.repeat(2_001) }, 400, /^body.note: expected/],
      [`/api/alerts/${a.id}/acknowledge`, { extra: 1 }, 400, /^body.extra: expected no such key/],
      [
        `/api/alerts/${a.id}/acknowledge`,
        '{"__proto__": {"polluted": true}}',
        400,
        /^body.__proto__: expected an ordinary key/,
      ],
      [
        `/api/alerts/${a.id}/acknowledge`,
        '{"constructor": {}}',
        400,
        /^body.constructor: expected an ordinary key/,
      ],
      [`/api/alerts/${a.id}/acknowledge`, '{not json', 400, /^body: expected valid JSON/],
      [`/api/alerts/abc/acknowledge`, {}, 400, /^params.id: expected an alert id/],
      [
        `/api/alerts/${a.id}/delete`,
        {},
        400,
        /^params.action: expected one of "acknowledge", "resolve", "false-positive"/,
      ],
      [`/api/alerts/99999999/acknowledge`, {}, 404, /^no alert with id 99999999$/],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await post(d, path, body, h);
      expect(res.status, `${path} ${String(body)}`).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await call(d, '/api/queue?view=everything', { headers: h })).status).toBe(400);
    expect((await call(d, '/timeline.svg?days=500', { headers: h })).status).toBe(400);
    expect((await call(d, '/report?day=2026-02-30', { headers: h })).status).toBe(400);
    expect((await post(d, `/api/alerts/${a.id}/acknowledge`, {}, h)).status).toBe(200);
    const again = await post(d, `/api/alerts/${a.id}/acknowledge`, {}, h);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe(
      `alert ${a.id} is acknowledged (by alice): acknowledge applies to open alerts`,
    );
    expect(d.store.auditLog({ alertId: a.id })).toHaveLength(1);
  });

  it('appends false positives and resolutions to the labelled set, without patient identifiers', async () => {
    const fp = record(1.9, { malicious: { probability: 0.2, indicators: [] } });
    const real = record(2.2);
    d.source.upsert(fp);
    d.source.upsert(real);
    const [a, b] = await waitFor('both alerts', () => {
      const q = d.store.reviewQueue();
      const x = q.find((y) => y.recordId === fp.id);
      const z = q.find((y) => y.recordId === real.id);
      return x && z ? [x, z] : null;
    });
    const h = bearer(BOB);
    expect((await post(d, `/api/alerts/${a.id}/false-positive`, { note: 'planned re-plan' }, h)).status).toBe(
      200,
    );
    expect(
      (await post(d, `/api/alerts/${b.id}/resolve`, { note: 'leaf bank re-calibrated' }, h)).status,
    ).toBe(200);
    const lines = readFileSync(d.labelsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => [fp.id, real.id].includes(l.recordId));
    expect(mine).toEqual([
      {
        schema: 'anomalia.label/v1',
        at: expect.any(String),
        by: 'bob',
        label: 'normal',
        reason: 'false_positive',
        note: 'planned re-plan',
        alertKey: a.key,
        revision: 1,
        source: 'site-a',
        recordId: fp.id,
        model: { name: 'linear', version: '1' },
        energy: a.energy,
        band: 'high',
        features: { mu_delta: 1.9, baseline: 0.02 },
      },
      expect.objectContaining({ recordId: real.id, label: 'anomalous', reason: 'resolved', by: 'bob' }),
    ]);
    expect(readFileSync(d.labelsPath, 'utf8')).not.toContain('PAT-SECRET');
    expect(d.store.alert(a.id)).toMatchObject({ state: 'false_positive', stateBy: 'bob' });
    expect((await queue(d, h, 'closed')).map((x) => x.recordId)).toEqual(
      expect.arrayContaining([fp.id, real.id]),
    );
    expect((await queue(d, h)).map((x) => x.recordId)).not.toContain(fp.id);
  });

  it('streams server-sent events: health at once, then a notice when alerts arrive (no identifiers)', async () => {
    const res = await call(d, '/api/events', { headers: bearer(ALICE) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('event: health\n');
    const r = record(2.75);
    d.source.upsert(r);
    await readUntil('event: queue\n');
    const queueEvent = text.slice(text.indexOf('event: queue\n')).split('\n')[1]!;
    expect(JSON.parse(queueEvent.replace(/^data: /, ''))).toEqual({
      reason: 'alerts',
      created: { critical: 1 },
      escalated: {},
    });
    expect(text).not.toContain(r.patientId!);
    await reader.cancel();
  });

  it('refuses to start on a port in use, naming the setting, and closes what it opened', async () => {
    const port = new URL(d.url).port;
    const e = await startTestDashboard({ http: { bind: `127.0.0.1:${port}` } }).then(
      () => null,
      (error: Error & { storeOpen?: boolean }) => error,
    );
    expect(e?.message).toBe(`config: http.bind: cannot listen on 127.0.0.1:${port} (the port is in use)`);
    expect(e?.storeOpen).toBe(false);
  });

  it('serves /metrics in the Prometheus text format, with what the monitor did', async () => {
    d.source.failNext(1);
    await waitFor('a failed poll', () => d.monitor.service.health().source.consecutiveFailures === 1);
    await waitFor('a failed send to the pager', () =>
      d.store.sinkStates().find((s) => s.sink === 'pager' && s.consecutiveFailures > 0),
    );
    const res = await call(d, '/metrics', { headers: bearer(ALICE) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusTextFormat(await res.text());
    const sum = (f: ParsedFamily, where: Record<string, string> = {}) =>
      f.metrics
        .filter((m) => Object.entries(where).every(([k, v]) => m.labels?.[k] === v))
        .reduce((s, m) => s + Number(m.value), 0);

    const scored = family(families, 'anomalia_monitor_records_scored_total');
    expect(scored.type).toBe('COUNTER');
    expect(sum(scored)).toBe(d.store.counts().scores);
    const raised = family(families, 'anomalia_monitor_alerts_raised_total');
    expect(sum(raised, { kind: 'created' })).toBe(d.store.counts().alerts);
    const byBandState = family(families, 'anomalia_monitor_alerts');
    for (const c of d.store.alertCounts())
      expect(sum(byBandState, { band: c.band, state: c.state })).toBe(c.alerts);
    expect(
      sum(family(families, 'anomalia_monitor_notifications_total'), { sink: 'pager', outcome: 'failed' }),
    ).toBeGreaterThan(0);
    expect(
      sum(family(families, 'anomalia_monitor_sink_consecutive_failures'), { sink: 'pager' }),
    ).toBeGreaterThan(0);
    const backlog = family(families, 'anomalia_monitor_backlog');
    expect(backlog.metrics.map((m) => `${m.labels!.sink}/${m.labels!.stage}`)).toEqual(
      expect.arrayContaining(['file/queued', 'pager/pending', 'pager/dead']),
    );
    expect(sum(backlog, { sink: 'pager', stage: 'pending' })).toBeGreaterThan(0);
    const lag = family(families, 'anomalia_monitor_lag_seconds');
    expect(Number(lag.metrics[0]!.value)).toBeGreaterThanOrEqual(0);
    expect(Number(lag.metrics[0]!.value)).toBeLessThan(30);
    const scoring = family(families, 'anomalia_monitor_scoring_duration_seconds');
    expect(scoring.type).toBe('HISTOGRAM');
    expect(Number(scoring.metrics[0]!.count)).toBeGreaterThan(0);
    expect(Object.keys(scoring.metrics[0]!.buckets!)).toContain('+Inf');
    expect(
      sum(family(families, 'anomalia_monitor_alert_reviews_total'), { state: 'acknowledged' }),
    ).toBeGreaterThan(0);
    expect(sum(family(families, 'anomalia_monitor_http_refused_total'), { reason: 'csrf' })).toBeGreaterThan(
      0,
    );
    expect(family(families, 'anomalia_monitor_model_info').metrics[0]!.labels).toEqual({
      model: 'linear',
      version: '1',
    });
    expect(families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true);
    const polls = family(families, 'anomalia_monitor_polls_total');
    expect(sum(polls, { outcome: 'failed' })).toBe(1);
    expect(sum(polls, { outcome: 'ok' })).toBeGreaterThan(1);
    // The parser is strict: a malformed exposition throws.
    expect(() => parsePrometheusTextFormat('anomalia_monitor_lag_seconds{band=} 1\n')).toThrow(
      /invalid line/i,
    );
  });

  it('renders the timeline (Vega-Lite SVG) and the daily report, identifiers only when signed in', async () => {
    const svg = await call(d, '/timeline.svg?days=2', { headers: bearer(ALICE) });
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    const text = await svg.text();
    expect(text).toMatch(/^<svg/);
    expect(text).toContain('Energy per band, last 2 days');
    expect(
      (text.match(/<path[^>]*class="[^"]*"/g) ?? []).length + (text.match(/mark-symbol/g) ?? []).length,
    ).toBeGreaterThan(0);
    const report = await call(d, '/report', { headers: bearer(ALICE) });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(report.headers.get('content-security-policy')).not.toContain('script-src');
    const html = await report.text();
    expect(html).toContain('Daily QA Report');
    expect(html).toContain('PAT-SECRET');
  });
});

describe('dashboard on localhost without credentials', () => {
  let d: TestDashboard;
  beforeAll(async () => {
    d = await startTestDashboard();
  });
  afterAll(() => d.stop());

  it('lets local users in anonymously, hides patient identifiers and still needs the CSRF token', async () => {
    const r = record(2.7);
    d.source.upsert(r);
    const a = await waitFor('the alert', () => d.store.reviewQueue().find((x) => x.recordId === r.id));
    const [shown] = await queue(d, {});
    expect(shown).toMatchObject({ recordId: r.id, patientId: null, identifiersHidden: true });
    expect(JSON.stringify(await (await call(d, `/api/alerts/${a.id}`)).json())).not.toContain('PAT-SECRET');
    expect(await (await call(d, '/report')).text()).not.toContain('PAT-SECRET');
    expect((await call(d, '/login')).status).toBe(303);
    const session = (await (await call(d, '/api/session')).json()) as { user: string; csrfToken: string };
    expect(session.user).toBe('anonymous@localhost');
    expect((await post(d, `/api/alerts/${a.id}/acknowledge`, {})).status).toBe(403);
    const ok = await post(
      d,
      `/api/alerts/${a.id}/acknowledge`,
      {},
      { 'x-csrf-token': session.csrfToken, origin: d.url },
    );
    expect(ok.status).toBe(200);
    expect(d.store.alert(a.id)).toMatchObject({ state: 'acknowledged', stateBy: 'anonymous@localhost' });
  });

  it('answers only to loopback host names (a rebound DNS name gets nothing)', async () => {
    expect(await rawGet(d.url, '/api/queue', { host: 'localhost' })).toBe(200);
    expect(await rawGet(d.url, '/api/queue', { host: 'evil.example:8080' })).toBe(403);
    expect(await rawGet(d.url, '/', { host: 'evil.example' })).toBe(403);
  });

  it('stops cleanly: the labelled set stays where it was and the store closes', async () => {
    expect(existsSync(d.labelsPath)).toBe(false);
  });
});

describe('shutdown', () => {
  it('ends open live streams and stops, with a page still connected', async () => {
    const d = await startTestDashboard();
    const res = await call(d, '/api/events');
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await d.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    for (;;) if ((await reader.read()).done) break;
    expect(d.store.isOpen).toBe(false);
  });
});

describe('dashboard behind a trusted reverse proxy', () => {
  let d: TestDashboard;
  beforeAll(async () => {
    d = await startTestDashboard({ http: { proxy: { header: 'X-Remote-User', trusted: ['127.0.0.1'] } } });
  });
  afterAll(() => d.stop());

  it("takes the proxy's user header as who, and refuses requests without it", async () => {
    const r = record(2.9);
    d.source.upsert(r);
    const a = await waitFor('the alert', () => d.store.reviewQueue().find((x) => x.recordId === r.id));
    expect((await call(d, '/api/queue')).status).toBe(401);
    const carol = { 'x-remote-user': 'carol' };
    const session = (await (await call(d, '/api/session', { headers: carol })).json()) as {
      csrfToken: string;
      identifiers: boolean;
    };
    expect(session.identifiers).toBe(true);
    expect((await post(d, `/api/alerts/${a.id}/acknowledge`, {}, carol)).status).toBe(403);
    expect(
      (await post(d, `/api/alerts/${a.id}/acknowledge`, {}, { ...carol, 'x-csrf-token': session.csrfToken }))
        .status,
    ).toBe(200);
    expect(d.store.auditLog({ alertId: a.id })[0]).toMatchObject({ actor: 'carol' });
  });
});
