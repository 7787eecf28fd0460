import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/load';
import { MonitorConfigSchema } from '../config/schema';
import { buildMessage, type NotificationMessage } from '../message';
import { startHttpReceiver, startSmtpReceiver } from '../testing/receivers';
import { ConsoleSink } from './console';
import { EmailSink, messageIdOf } from './email';
import { createSink } from './index';
import { JsonlSink } from './jsonl';
import { SlackSink } from './slack';
import { SinkError } from './types';
import {
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
  WebhookSink,
} from './webhook';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-sinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const signal = new AbortController().signal;

function storedAlert(over: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id: 1,
    key: 'site-a/1001/ebm@3',
    source: 'site-a',
    recordId: '1001',
    model: { name: 'ebm', version: '3' },
    subject: 'PAT-42',
    energy: 2.83,
    severity: 2.83,
    band: 'critical',
    bandRank: 4,
    action: 'page',
    tier: 'middle',
    maliciousProbability: null,
    responseLabel: '15–30 min',
    deadlineAt: Date.UTC(2026, 0, 5, 9, 30),
    occurredAt: Date.UTC(2026, 0, 5, 8, 50),
    detectedAt: Date.UTC(2026, 0, 5, 9, 0),
    updatedAt: Date.UTC(2026, 0, 5, 9, 0),
    revision: 1,
    labels: { patient: 'PAT-42', band: 'critical', machine: 'LA1' },
    detail: {
      energy: 2.83,
      uncertainty: null,
      responseTime: { label: '15–30 min', maxMinutes: 30 },
      steps: ['Stop pending treatments', 'Page the physicist'],
      saliency: [{ feature: 'mu_delta', value: 41, contribution: 2.1 }],
      malicious: null,
    },
    state: 'open',
    stateAt: null,
    stateBy: null,
    stateNote: null,
    ...over,
  };
}

function message(patientIdentifiers: 'omit' | 'include' = 'omit', id = 'n-1'): NotificationMessage {
  return buildMessage(
    [storedAlert()],
    {
      id,
      sink: 's',
      route: 'critical',
      groupKey: 'patient="PAT-42"',
      groupLabels: { patient: 'PAT-42' },
      kind: 'firing',
      createdAt: Date.UTC(2026, 0, 5, 9, 0),
    },
    { patientIdentifiers },
  );
}

describe('message', () => {
  it('omits the patient identifier unless the sink includes it', () => {
    const omitted = message('omit');
    expect(JSON.stringify(omitted)).not.toContain('PAT-42');
    expect(omitted.group.labels).toEqual({ patient: '[redacted]' });
    expect(omitted.summary.title).toBe('CRITICAL: 1 alert for patient [redacted] (page; respond 15–30 min)');
    expect(omitted.alerts[0]).toMatchObject({
      idempotencyKey: 'site-a/1001/ebm@3#1',
      deadline: '2026-01-05T09:30:00.000Z',
      labels: { band: 'critical', machine: 'LA1' },
    });
    const included = message('include');
    expect(included.alerts[0]!.patientId).toBe('PAT-42');
    expect(included.group.labels.patient).toBe('PAT-42');
    // The group id is a digest of the key, so it carries no identifier itself.
    expect(included.group.id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('JsonlSink', () => {
  it('appends one JSON line per notification and creates the directory', async () => {
    const path = join(dir, 'nested', 'alerts.jsonl');
    const sink = new JsonlSink('file', path);
    await sink.send(message('omit', 'a'));
    await sink.send(message('omit', 'b'));
    await sink.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(['a', 'b']);
    expect(lines[0].schema).toBe('anomalia.notification/v1');
  });

  it('fails with the path when it cannot write', async () => {
    const sink = new JsonlSink('file', join(dir, 'alerts.jsonl', 'x', 'y.jsonl'));
    await new JsonlSink('f', join(dir, 'alerts.jsonl')).send(message());
    await expect(sink.send(message())).rejects.toThrow(/sink file: cannot append to .*y\.jsonl \(ENOTDIR\)/);
  });
});

describe('ConsoleSink', () => {
  it('writes the message as text', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c) => chunks.push(String(c)));
    await new ConsoleSink('console', stream).send(message());
    const text = chunks.join('');
    expect(text).toContain('CRITICAL: 1 alert for patient [redacted]');
    expect(text).toContain('features: mu_delta=41 (2.10)');
    expect(text).toContain('id n-1 · firing · route critical');
  });
});

describe('WebhookSink', () => {
  it('POSTs the JSON with an idempotency key and a verifiable HMAC-SHA256 signature', async () => {
    const receiver = await startHttpReceiver();
    try {
      const sink = new WebhookSink('hook', {
        url: receiver.url,
        secret: 's3cret',
        timeoutMs: 5_000,
        headers: { 'x-site': 'a' },
      });
      const m = message();
      await sink.send(m, signal);
      const [req] = receiver.requests;
      expect(req!.method).toBe('POST');
      expect(req!.headers['content-type']).toBe('application/json');
      expect(req!.headers[IDEMPOTENCY_HEADER]).toBe('n-1');
      expect(req!.headers['x-site']).toBe('a');
      expect(JSON.parse(req!.body)).toEqual(m);
      const headers = {
        signature: req!.headers[SIGNATURE_HEADER] as string,
        timestamp: req!.headers[TIMESTAMP_HEADER] as string,
      };
      expect(verifySignature('s3cret', headers, req!.body)).toBe(true);
      expect(verifySignature('wrong', headers, req!.body)).toBe(false);
      expect(verifySignature('s3cret', headers, req!.body.replace('2.83', '0.83'))).toBe(false);
      // A replay long after the timestamp is refused.
      expect(verifySignature('s3cret', headers, req!.body, Number(headers.timestamp) + 3600)).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('fails on a non-2xx answer (naming the status) and on a timeout', async () => {
    const receiver = await startHttpReceiver((_, i) => (i === 0 ? 503 : 'hang'));
    try {
      const sink = new WebhookSink('hook', { url: receiver.url, timeoutMs: 300 });
      const error = await sink.send(message(), signal).catch((e) => e);
      expect(error).toBeInstanceOf(SinkError);
      expect(error).toMatchObject({ status: 503 });
      expect(error.message).toMatch(/sink hook: POST http:\/\/127\.0\.0\.1:\d+\/… answered HTTP 503: nope/);
      const started = Date.now();
      await expect(sink.send(message(), signal)).rejects.toThrow(/no answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await receiver.close();
    }
  });

  it('fails when nothing listens', async () => {
    const receiver = await startHttpReceiver();
    const url = receiver.url;
    await receiver.close();
    await expect(new WebhookSink('hook', { url, timeoutMs: 2_000 }).send(message(), signal)).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

describe('SlackSink', () => {
  it('POSTs {text} with the title in bold and the notification id', async () => {
    const receiver = await startHttpReceiver();
    try {
      await new SlackSink('slack', receiver.url, 5_000).send(message(), signal);
      const body = JSON.parse(receiver.requests[0]!.body);
      expect(Object.keys(body)).toEqual(['text']);
      expect(body.text).toMatch(
        /^\*CRITICAL: 1 alert for patient \[redacted\] \(page; respond 15–30 min\)\*\n/,
      );
      expect(body.text).toContain('id n-1');
    } finally {
      await receiver.close();
    }
  });
});

describe('EmailSink', () => {
  it('sends over SMTP with a Message-ID derived from the notification id', async () => {
    const smtp = await startSmtpReceiver();
    const sink = new EmailSink('mail', {
      host: smtp.host,
      port: smtp.port,
      secure: false,
      requireTls: false,
      from: 'monitor@clinic.example',
      to: ['physics@clinic.example', 'oncall@clinic.example'],
      subjectPrefix: '[anomalia]',
      timeoutMs: 5_000,
    });
    try {
      await sink.send(message(), signal);
      expect(smtp.messages).toHaveLength(1);
      const [mail] = smtp.messages;
      expect(mail!.from).toBe('monitor@clinic.example');
      expect(mail!.to).toEqual(['physics@clinic.example', 'oncall@clinic.example']);
      const parsed = await simpleParser(mail!.raw);
      expect(parsed.messageId).toBe(messageIdOf('n-1'));
      expect(parsed.headers.get('x-anomalia-idempotency-key')).toBe('n-1');
      expect(parsed.subject).toBe(
        '[anomalia] CRITICAL: 1 alert for patient [redacted] (page; respond 15–30 min)',
      );
      expect(parsed.text).toContain(
        '- CRITICAL 2.83 · record 1001 (site-a) · page, 15–30 min (by 2026-01-05T09:30:00.000Z)',
      );
      expect(parsed.attachments.map((a) => a.filename)).toEqual(['notification.json']);
      expect(JSON.parse(parsed.attachments[0]!.content.toString('utf8'))).toEqual(message());
      expect(`${parsed.text}${parsed.attachments[0]!.content}`).not.toContain('PAT-42');
    } finally {
      await sink.close();
      await smtp.close();
    }
  });

  it('fails when the server refuses the message', async () => {
    const smtp = await startSmtpReceiver({ reject: () => true });
    const sink = new EmailSink('mail', {
      host: smtp.host,
      port: smtp.port,
      secure: false,
      requireTls: false,
      from: 'monitor@clinic.example',
      to: ['physics@clinic.example'],
      subjectPrefix: '',
      timeoutMs: 5_000,
    });
    try {
      await expect(sink.send(message(), signal)).rejects.toThrow(
        /sink mail: SMTP 127\.0\.0\.1:\d+ failed: .*451/,
      );
      expect(smtp.messages).toHaveLength(0);
    } finally {
      await sink.close();
      await smtp.close();
    }
  });
});

describe('createSink', () => {
  it('reads secrets from the environment and names the key of a missing one', () => {
    const config = MonitorConfigSchema.parse({
      source: { database: { type: 'sqlite', path: 'x.sqlite' } },
      model: { dir: 'm' },
      sinks: [
        { name: 'hook', type: 'webhook', url: { env: 'HOOK_URL' }, secret: { env: 'HOOK_SECRET' } },
        { name: 'slack', type: 'slack', url: 'ftp://nope' },
      ],
    });
    expect(() => createSink(config.sinks[0]!, 0, {})).toThrow(ConfigError);
    expect(() => createSink(config.sinks[0]!, 0, { HOOK_URL: 'http://127.0.0.1:1/x' })).toThrow(
      'environment: sinks[0].secret: expected the environment variable HOOK_SECRET to be set',
    );
    const sink = createSink(config.sinks[0]!, 0, { HOOK_URL: 'http://127.0.0.1:1/x', HOOK_SECRET: 'k' });
    expect(sink).toMatchObject({ name: 'hook', type: 'webhook' });
    expect(() => createSink(config.sinks[1]!, 1, {})).toThrow(
      'config: sinks[1].url: expected an http(s) URL',
    );
  });
});
