import { inspect } from 'node:util';
import { ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { mssqlTarget, redactConnectionText } from './config';

const env = { MSSQL_PASSWORD: 'S3cret;pass' };

describe('mssqlTarget', () => {
  it('reads a URL, fills the defaults and takes the password from MSSQL_PASSWORD', () => {
    const t = mssqlTarget('mssql://reader@mosaiq-db.hospital.org/MOSAIQ', { env });
    expect(t.settings).toEqual({
      server: 'mosaiq-db.hospital.org',
      port: 1433,
      database: 'MOSAIQ',
      schema: 'dbo',
      authentication: 'sql',
      user: 'reader',
      passwordEnv: 'MSSQL_PASSWORD',
      encrypt: true,
      trustServerCertificate: false,
      isolation: 'read-committed',
      connectTimeoutMs: 15000,
      requestTimeoutMs: 120000,
      pool: { max: 4, min: 0, idleTimeoutMs: 30000 },
      retry: { attempts: 4, minDelayMs: 200, maxDelayMs: 5000 },
      appName: 'anomalia',
    });
    expect(t.password.reveal()).toBe('S3cret;pass');
    expect(t.label).toBe('mosaiq-db.hospital.org:1433/MOSAIQ as reader');
  });

  it('maps every URL option onto its setting', () => {
    const t = mssqlTarget(
      'sqlserver://svc%40x@10.0.0.5:14330/MOSAIQ_COPY?encrypt=false&trustServerCertificate=true&applicationIntent=readonly' +
        '&isolation=snapshot&connectTimeoutMs=5000&requestTimeoutMs=60000&poolMax=8&poolMin=1&poolIdleTimeoutMs=10000' +
        '&retryAttempts=2&appName=qa&schema=mq&passwordEnv=MQ_PW&instanceName=CLINIC',
      { env: { MQ_PW: 'x' } },
    );
    expect(t.settings).toMatchObject({
      server: '10.0.0.5',
      port: 14330,
      user: 'svc@x',
      database: 'MOSAIQ_COPY',
      encrypt: false,
      trustServerCertificate: true,
      applicationIntent: 'ReadOnly',
      isolation: 'snapshot',
      connectTimeoutMs: 5000,
      requestTimeoutMs: 60000,
      pool: { max: 8, min: 1, idleTimeoutMs: 10000 },
      retry: { attempts: 2 },
      appName: 'qa',
      schema: 'mq',
      instanceName: 'CLINIC',
    });
    expect(t.label).toBe('10.0.0.5\\CLINIC/MOSAIQ_COPY as svc@x');
  });

  it('reads a SQL Server connection string, seconds and all', () => {
    const t = mssqlTarget(
      'Server=tcp:mosaiq-db,1434;Initial Catalog=MOSAIQ;User ID=reader;Password=p@ss;Encrypt=Mandatory;' +
        'TrustServerCertificate=False;ApplicationIntent=ReadOnly;Connect Timeout=30;Application Name=anomalia-monitor',
      { env: {} },
    );
    expect(t.settings).toMatchObject({
      server: 'mosaiq-db',
      port: 1434,
      database: 'MOSAIQ',
      user: 'reader',
      encrypt: true,
      applicationIntent: 'ReadOnly',
      connectTimeoutMs: 30000,
      appName: 'anomalia-monitor',
    });
    expect(t.password.reveal()).toBe('p@ss');
    expect(mssqlTarget('Data Source=db\\CLINIC;Database=M;UID=u', { env }).settings).toMatchObject({
      server: 'db',
      instanceName: 'CLINIC',
    });
  });

  it('takes an object of settings, or { url } with overrides', () => {
    const t = mssqlTarget({ server: 'db', database: 'MOSAIQ', user: 'r', pool: { max: 2 } }, { env });
    expect(t.settings.pool).toEqual({ max: 2, min: 0, idleTimeoutMs: 30000 });
    expect(
      mssqlTarget({ url: 'mssql://r@db/MOSAIQ', requestTimeoutMs: 5000 }, { env }).settings.requestTimeoutMs,
    ).toBe(5000);
  });

  it('names the setting of every bad value', () => {
    const cases: [unknown, RegExp][] = [
      ['mssql://r@db:70000/M', /^mssql\.url: expected mssql:\/\//],
      ['mssql://r@db/M?encrypt=maybe', /^mssql\.url\?encrypt: expected true or false, received "maybe"/],
      ['mssql://r@db/M?poolMax=0', /^mssql\.pool\.max: expected a number ≥ 1/],
      ['mssql://r@db/M?poolMax=2&poolMin=3', /^mssql\.pool\.min: expected min ≤ max/],
      [
        'mssql://r@db/M?isolation=nolock',
        /^mssql\.isolation: expected one of "read-committed", "snapshot", "read-uncommitted"/,
      ],
      [
        'mssql://r@db/M?applicationIntent=sometimes',
        /^mssql\.url\?applicationIntent: expected ReadOnly or ReadWrite/,
      ],
      ['mssql://r@db/M?timeout=5', /^mssql\.url\?timeout: expected one of the options instanceName, schema/],
      ['mssql://r@db/a/b', /^mssql\.url: expected one path segment: the database/],
      ['mssql://r@db', /^mssql\.database: expected a string/],
      ['mssql://db/M', /^mssql\.user: expected a string/],
      ['postgres://r@db/M', /^mssql\.url: expected a URL starting with mssql:\/\/ or sqlserver:\/\//],
      [
        'Server=db;Database=M;Frobnicate=1',
        /^mssql\.connectionString\.Frobnicate: expected a known connection-string key/,
      ],
      [
        'Server=db;Database=M;User Id=u;Integrated Security=SSPI',
        /^mssql\.connectionString\.Integrated Security: expected no integrated \(Kerberos\/SSPI\) login.*authentication=ntlm/,
      ],
      [
        { server: 'db', database: 'M', user: 'u', authentication: 'ntlm' },
        /^mssql\.domain: expected the Windows domain/,
      ],
      [{ server: 'db', database: 'M', user: 'u', port: '1433' }, /^mssql\.port: expected a number/],
      [{ server: 'db', database: 'M', user: 'u', passwort: 'x' }, /^mssql\.passwort: expected no such key/],
      [{ server: 'db', database: 'M', user: 'u', __proto__x: 1, ['__proto__']: { a: 1 } }, /^mssql\./],
    ];
    for (const [input, message] of cases) {
      expect(() => mssqlTarget(input as never, { env }), JSON.stringify(input)).toThrow(message);
    }
  });

  it('refuses prototype keys', () => {
    const input = JSON.parse('{"server":"db","database":"M","user":"u","pool":{"__proto__":{"max":9}}}');
    expect(() => mssqlTarget(input, { env })).toThrow(/^mssql\.pool\.__proto__: expected an ordinary key/);
  });

  it('says which variable should hold the password when it is unset', () => {
    expect(() => mssqlTarget('mssql://reader@db/MOSAIQ?passwordEnv=MOSAIQ_RO', { env: {} })).toThrow(
      'mssql.passwordEnv: expected the environment variable MOSAIQ_RO to hold the password of reader (it is not set)',
    );
  });

  it('never shows the password: not in errors, not when printed or serialised', () => {
    const secret = 'Zq9-unguessable';
    const url = `mssql://reader:${secret}@db:99999/M`;
    let error: unknown;
    try {
      mssqlTarget(url, { env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(String((error as Error).message)).not.toContain(secret);
    expect(redactConnectionText(url)).toBe('mssql://reader:***@db:99999/M');
    expect(redactConnectionText(`Server=db;Password=${secret};Database=M`)).toBe(
      'Server=db;Password=***;Database=M',
    );
    const t = mssqlTarget(`mssql://reader:${secret}@db/M`, { env });
    for (const shown of [JSON.stringify(t), inspect(t, { depth: 5 }), String(t.password), t.label]) {
      expect(shown).not.toContain(secret);
    }
    expect(JSON.stringify(t)).toContain('[redacted]');
    const cs = `Server=db;Database=M;User Id=u;Pwd=${secret};Frob=1`;
    expect(() => mssqlTarget(cs, { env })).toThrow(/Frob/);
    try {
      mssqlTarget(cs, { env });
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
    }
  });
});
