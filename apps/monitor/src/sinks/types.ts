import type { SinkType } from '../config/schema';
import type { NotificationMessage } from '../message';

/**
 * Where notifications go. `send` resolves once the receiver has accepted the message and throws
 * otherwise; the outbox retries with backoff. A sink never deduplicates by itself: after a crash
 * between a send and its record the same message (same id) is sent again.
 */
export interface Sink {
  readonly name: string;
  readonly type: SinkType;
  send(message: NotificationMessage, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A failed send: names the sink and, for HTTP, the status. */
export class SinkError extends Error {
  override readonly name = 'SinkError';
  constructor(
    readonly sink: string,
    message: string,
    readonly status?: number,
  ) {
    super(`sink ${sink}: ${message}`);
  }
}
