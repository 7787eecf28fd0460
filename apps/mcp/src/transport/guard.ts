import { assertNoPrototypeKeys, ValidationError } from '@anomalia/core';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { toolError } from '../tool-result';

/** A request id of a message, when it has a usable one. */
export function requestIdOf(message: unknown): RequestId | undefined {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined;
}

/** A JSON-RPC error reply (without an id when none could be read from the message). */
export function errorReply(id: RequestId | undefined, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: '2.0', ...(id === undefined ? {} : { id }), error: { code, message } } as JSONRPCMessage;
}

/**
 * The reply to a message holding a `__proto__`, `prototype` or `constructor` key anywhere, or null
 * when it holds none. The SDK's schemas drop such keys silently (a `params` object with a
 * `__proto__` key reached a tool as `{}` and took the defaults), so they are refused here, before
 * the SDK parses anything: a tool call gets a tool error naming the argument, any other request a
 * JSON-RPC invalid-params error, and a notification (which gets no reply) is dropped.
 */
export function prototypeKeyRefusal(message: unknown): { reply: JSONRPCMessage | null; error: Error } | null {
  const m = message as { method?: unknown; params?: { arguments?: unknown } } | null;
  const id = requestIdOf(message);
  try {
    if (m?.method === 'tools/call' && m.params && typeof m.params === 'object') {
      // Named like the tool's arguments: `params.__proto__` is the `params` argument's key.
      assertNoPrototypeKeys(m.params.arguments, '');
      const { arguments: _, ...rest } = m.params;
      assertNoPrototypeKeys(rest, 'params');
    } else assertNoPrototypeKeys(message, '');
    return null;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    if (id === undefined) return { reply: null, error };
    const reply =
      m?.method === 'tools/call'
        ? ({ jsonrpc: '2.0', id, result: toolError(error) } as JSONRPCMessage)
        : errorReply(id, ErrorCode.InvalidParams, error.message);
    return { reply, error };
  }
}

/**
 * A transport that refuses messages with prototype keys (see prototypeKeyRefusal) before the
 * server sees them: every transport the server connects to is wrapped in one (the stdio transport
 * also checks lines itself, before the SDK's schemas could drop the keys).
 */
export class PrototypeKeyGuard implements Transport {
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  onmessage?: Transport['onmessage'];

  constructor(private readonly inner: Transport) {}

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  async start(): Promise<void> {
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onmessage = (message, extra) => {
      const refused = prototypeKeyRefusal(message);
      if (!refused) {
        this.onmessage?.(message, extra);
        return;
      }
      this.onerror?.(refused.error);
      if (refused.reply) this.inner.send(refused.reply).catch((e) => this.onerror?.(e as Error));
    };
    await this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
