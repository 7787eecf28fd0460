import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/load';
import { main } from '../main';
import { type AccessPolicy, accessPolicy, parseBind } from './access';
import { Authenticator } from './auth';
import { loopbackHostOk, sameOriginOk } from './guard';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'alice-token-0123456789';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return null;
};

describe('accessPolicy', () => {
  it('parses binds and knows loopback from the rest', () => {
    expect(parseBind('127.0.0.1:8080', 'http.bind')).toEqual({
      host: '127.0.0.1',
      port: 8080,
      loopback: true,
    });
    expect(parseBind('[::1]:0', 'http.bind')).toEqual({ host: '::1', port: 0, loopback: true });
    expect(parseBind('localhost:9', 'http.bind').loopback).toBe(true);
    expect(parseBind('127.0.0.2:9', 'http.bind').loopback).toBe(true);
    for (const bind of ['0.0.0.0:8080', '[::]:8080', '10.1.2.3:80', 'monitor.clinic.example:443'])
      expect(parseBind(bind, 'http.bind').loopback, bind).toBe(false);
    expect(refusal(() => parseBind('8080', '--http'))?.message).toBe(
      'config: --http: expected host:port such as 127.0.0.1:8080, received "8080"',
    );
    expect(refusal(() => parseBind('127.0.0.1:70000', '--http'))).toBeInstanceOf(ConfigError);
  });

  it('refuses a bind beyond localhost without a token or a trusted proxy, naming the setting', () => {
    for (const bind of ['0.0.0.0:8080', '[::]:8080', '192.168.1.20:8080']) {
      const e = refusal(() =>
        accessPolicy({ bind: '127.0.0.1:8080', timelineDays: 7 }, { bindOverride: bind }),
      );
      expect(e).toBeInstanceOf(ConfigError);
      expect(e!.message).toMatch(
        /^config: --http: binding the dashboard to .*, beyond localhost, is refused without an access token/,
      );
    }
    expect(accessPolicy({ bind: '0.0.0.0:8080', token: TOKEN, timelineDays: 7 }).tokens).toEqual([
      { name: 'shared-token', token: TOKEN },
    ]);
    expect(
      accessPolicy({
        bind: '0.0.0.0:8080',
        proxy: { header: 'X-Forwarded-User', trusted: ['10.0.0.1'] },
        timelineDays: 7,
      }).proxy,
    ).toEqual({ header: 'x-forwarded-user', trusted: ['10.0.0.1'] });
    // Loopback: anonymous local access is allowed.
    expect(accessPolicy({ bind: '127.0.0.1:8080', timelineDays: 7 }).tokens).toEqual([]);
  });

  it('refuses short tokens, shared tokens and unset environment variables', () => {
    expect(refusal(() => accessPolicy({ bind: '0.0.0.0:1', token: 'short', timelineDays: 7 }))?.message).toBe(
      'config: http.token: expected a token of at least 16 characters (e.g. `openssl rand -hex 24`)',
    );
    expect(
      refusal(() =>
        accessPolicy({
          bind: '0.0.0.0:1',
          users: [
            { name: 'alice', token: TOKEN },
            { name: 'bob', token: TOKEN },
          ],
          timelineDays: 7,
        }),
      )?.message,
    ).toBe('config: http.users[1].token: expected a token of its own (http.users[0].token has the same)');
    expect(
      refusal(() =>
        accessPolicy(
          { bind: '0.0.0.0:1', users: [{ name: 'alice', token: { env: 'NOT_SET_X' } }], timelineDays: 7 },
          { env: {} },
        ),
      )?.message,
    ).toBe('environment: http.users[0].token: expected the environment variable NOT_SET_X to be set');
    expect(
      accessPolicy(
        { bind: '0.0.0.0:1', users: [{ name: 'alice', token: { env: 'ALICE' } }], timelineDays: 7 },
        { env: { ALICE: TOKEN } },
      ).tokens,
    ).toEqual([{ name: 'alice', token: TOKEN }]);
  });

  it('anomalia-monitor run --http 0.0.0.0:… without a token refuses to start before touching the source', async () => {
    const file = join(dir, 'monitor.yaml');
    writeFileSync(
      file,
      `source: { database: { type: sqlite, path: ${join(dir, 'src.sqlite')} } }\nmodel: { dir: ${dir} }\nstate: { path: ${join(dir, 'state.sqlite')} }\n`,
    );
    const err = new PassThrough();
    let text = '';
    err.on('data', (c) => {
      text += String(c);
    });
    let partsCreated = false;
    const code = await main(['run', '--config', file, '--http', '0.0.0.0:0'], {
      stderr: err,
      createParts: async () => {
        partsCreated = true;
        throw new Error('unreachable');
      },
    });
    expect(code).toBe(2);
    expect(partsCreated).toBe(false);
    expect(text).toContain(
      'error: config: --http: binding the dashboard to 0.0.0.0, beyond localhost, is refused',
    );
    // The config file's own http section is checked when it is parsed.
    expect(
      refusal(() =>
        parseConfig({
          source: { database: { type: 'sqlite', path: 'x' } },
          model: { dir: 'm' },
          http: { bind: '0.0.0.0:8080' },
        }),
      ),
    ).toBeInstanceOf(ConfigError);
  });
});

describe('Authenticator and request guards', () => {
  const policy = (over: Partial<AccessPolicy> = {}): AccessPolicy => ({
    bind: { host: '127.0.0.1', port: 0, loopback: true },
    bindKey: 'http.bind',
    tokens: [{ name: 'alice', token: TOKEN }],
    proxy: null,
    ...over,
  });

  it('knows bearer tokens, sessions and trusted proxy users; nobody else when credentials are required', () => {
    let now = 1_000;
    const auth = new Authenticator(
      policy({ proxy: { header: 'x-remote-user', trusted: ['127.0.0.1'] } }),
      () => now,
    );
    expect(auth.authenticate({}, '127.0.0.1')).toBeNull();
    expect(auth.authenticate({ authorization: `Bearer ${TOKEN}` }, '10.0.0.9')).toEqual({
      user: 'alice',
      via: 'bearer',
      authenticated: true,
    });
    expect(auth.authenticate({ authorization: `Bearer ${TOKEN}x` }, '10.0.0.9')).toBeNull();
    expect(auth.authenticate({ 'x-remote-user': 'carol' }, '::ffff:127.0.0.1')).toMatchObject({
      user: 'carol',
      via: 'proxy',
    });
    // The header counts only from the proxy's address, and only as a plain user name.
    expect(auth.authenticate({ 'x-remote-user': 'carol' }, '10.0.0.9')).toBeNull();
    expect(auth.authenticate({ 'x-remote-user': 'carol\nforged' }, '127.0.0.1')).toBeNull();
    expect(auth.signIn('wrong-token-0123456789')).toBeNull();
    const session = auth.signIn(TOKEN)!;
    const cookie = { cookie: `other=1; anomalia_session=${session.sessionId}` };
    const p = auth.authenticate(cookie, '10.0.0.9')!;
    expect(p).toMatchObject({ user: 'alice', via: 'session', authenticated: true });
    // CSRF tokens are bound to the session: another session's token does not pass.
    const other = auth.authenticate({ cookie: `anomalia_session=${auth.signIn(TOKEN)!.sessionId}` }, '')!;
    expect(auth.checkCsrf(p, auth.csrfToken(p))).toBe(true);
    expect(auth.checkCsrf(p, auth.csrfToken(other))).toBe(false);
    expect(auth.checkCsrf(p, undefined)).toBe(false);
    now += 13 * 3_600_000; // sessions expire after 12 h
    expect(auth.authenticate(cookie, '10.0.0.9')).toBeNull();
  });

  it('lets anyone on a loopback bind without credentials in, unauthenticated (identifiers hidden)', () => {
    const auth = new Authenticator(policy({ tokens: [] }));
    expect(auth.authenticate({}, '127.0.0.1')).toEqual({
      user: 'anonymous@localhost',
      via: 'local',
      authenticated: false,
    });
  });

  it('refuses other hosts on loopback (DNS rebinding) and cross-site state changes', () => {
    expect(loopbackHostOk({ host: '127.0.0.1:8080' })).toBe(true);
    expect(loopbackHostOk({ host: 'localhost:8080' })).toBe(true);
    expect(loopbackHostOk({ host: '[::1]:8080' })).toBe(true);
    expect(loopbackHostOk({ host: 'evil.example:8080' })).toBe(false);
    expect(loopbackHostOk({})).toBe(false);
    const host = '127.0.0.1:8080';
    expect(sameOriginOk({ host, origin: 'http://127.0.0.1:8080' })).toEqual({ ok: true });
    expect(sameOriginOk({ host })).toEqual({ ok: true });
    expect(sameOriginOk({ host, origin: 'http://127.0.0.1:9999' })).toMatchObject({ ok: false });
    expect(sameOriginOk({ host, origin: 'null' })).toMatchObject({ ok: false });
    expect(sameOriginOk({ host, 'sec-fetch-site': 'same-site' })).toEqual({
      ok: false,
      reason: 'Sec-Fetch-Site is same-site',
    });
    expect(
      sameOriginOk({ host: 'internal:8080', origin: 'https://monitor.example' }, 'monitor.example'),
    ).toEqual({ ok: true });
  });
});
