import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { errorReply, prototypeKeyRefusal, requestIdOf } from './guard';

/** The longest line accepted (as the SDK's stdio transport). */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

/**
 * The id of a line that is not valid JSON, when its top-level object names one before it breaks
 * (`{"jsonrpc":"2.0","id":7,"method":…` cut short): found by scanning outside strings at depth 1.
 */
export function idOfBrokenLine(line: string): string | number | undefined {
  let depth = 0;
  let i = 0;
  const n = line.length;
  const readString = (from: number): [string, number] | null => {
    let j = from + 1;
    while (j < n && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
    if (j >= n) return null;
    try {
      return [JSON.parse(line.slice(from, j + 1)) as string, j + 1];
    } catch {
      return null;
    }
  };
  while (i < n) {
    const c = line[i]!;
    if (c === '"') {
      const s = readString(i);
      if (!s) return undefined;
      i = s[1];
      if (depth === 1 && s[0] === 'id') {
        const rest = /^\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")/.exec(line.slice(i));
        if (rest) {
          try {
            const id = JSON.parse(rest[1]!) as unknown;
            return typeof id === 'string' || typeof id === 'number' ? id : undefined;
          } catch {
            return undefined;
          }
        }
      }
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return undefined;
}

/**
 * The MCP stdio transport (one JSON-RPC message per line), answering what the SDK's own transport
 * leaves unanswered: a line that is not JSON gets a JSON-RPC parse error (-32700), and JSON that is
 * not a JSON-RPC message an invalid-request error (-32600), both with the line's id when one can
 * be read from it, so a client is not left waiting. Messages with prototype keys are refused (see
 * PrototypeKeyGuard). Everything else is handed to the server as with StdioServerTransport.
 */
export class JsonRpcStdioTransport implements Transport {
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  onmessage?: Transport['onmessage'];

  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Skipping the rest of a line that grew past MAX_LINE_BYTES. */
  private discarding = false;
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
  ) {}

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.push(chunk.subarray(start, nl));
      this.endLine();
      start = nl + 1;
    }
    if (start < chunk.length) this.push(chunk.subarray(start));
  };

  private readonly onStreamError = (error: Error) => this.onerror?.(error);

  private push(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    this.chunks.push(part);
    this.buffered += part.length;
    if (this.buffered > MAX_LINE_BYTES) {
      const head = Buffer.concat(this.chunks).toString('utf8', 0, 4096);
      this.chunks = [];
      this.buffered = 0;
      this.discarding = true;
      this.reply(
        errorReply(
          idOfBrokenLine(head),
          ErrorCode.ParseError,
          `Parse error: a message longer than ${MAX_LINE_BYTES} bytes`,
        ),
      );
    }
  }

  private endLine(): void {
    const line = Buffer.concat(this.chunks).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.buffered = 0;
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (line.trim() !== '') this.receive(line);
  }

  private receive(line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      this.onerror?.(error as Error);
      this.reply(
        errorReply(idOfBrokenLine(line), ErrorCode.ParseError, `Parse error: ${(error as Error).message}`),
      );
      return;
    }
    const refused = prototypeKeyRefusal(raw);
    if (refused) {
      this.onerror?.(refused.error);
      if (refused.reply) this.reply(refused.reply);
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = requestIdOf(raw);
      this.onerror?.(new Error(`not a JSON-RPC message: ${line.slice(0, 200)}`));
      // A response or notification gets no reply; anything else that carries an id does.
      const isResponse = raw !== null && typeof raw === 'object' && ('result' in raw || 'error' in raw);
      if (id !== undefined && !isResponse) {
        this.reply(
          errorReply(
            id,
            ErrorCode.InvalidRequest,
            'Invalid Request: not a JSON-RPC 2.0 request, notification or response',
          ),
        );
      }
      return;
    }
    this.onmessage?.(parsed.data);
  }

  private reply(message: JSONRPCMessage): void {
    this.send(message).catch((error) => this.onerror?.(error as Error));
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('JsonRpcStdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.buffered = 0;
    this.onclose?.();
  }
}
