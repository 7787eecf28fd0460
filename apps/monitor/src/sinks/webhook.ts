import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotificationMessage } from '../message';
import { postJson } from './http';
import type { Sink } from './types';

export const SIGNATURE_HEADER = 'x-anomalia-signature';
export const TIMESTAMP_HEADER = 'x-anomalia-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: the signature matches (constant-time compare) and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`, so a captured request cannot be replayed later.
 */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookOptions {
  readonly url: string;
  readonly secret?: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * POSTs the message as JSON. Every attempt of one notification sends the same body and the same
 * `Idempotency-Key` (the notification id); the signature covers a fresh timestamp and the body.
 */
export class WebhookSink implements Sink {
  readonly type = 'webhook' as const;

  constructor(
    readonly name: string,
    private readonly options: WebhookOptions,
  ) {}

  async send(message: NotificationMessage, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(message);
    const headers: Record<string, string> = { ...this.options.headers, [IDEMPOTENCY_HEADER]: message.id };
    if (this.options.secret) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = signBody(this.options.secret, timestamp, body);
    }
    await postJson({
      sink: this.name,
      url: this.options.url,
      body,
      headers,
      timeoutMs: this.options.timeoutMs,
      signal,
    });
  }

  async close(): Promise<void> {}
}
