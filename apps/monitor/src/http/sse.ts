import type { ServerResponse } from 'node:http';

/**
 * The dashboard's live stream (server-sent events): one long response per open page; events are
 * tiny notices (`queue`, `timeline`) or the health summary, never patient identifiers.
 */
export class EventStreamHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(keepAliveMs = 15_000) {
    // A comment line keeps proxies and browsers from closing an idle stream.
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.keepAlive.unref();
  }

  /** Starts the stream on `res` (headers already chosen by the caller) and keeps it until it closes. */
  add(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The browser reconnects after 2 s if the stream drops (a restart of the monitor).
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** Sends an event to every open page. `data` is JSON-encoded (one line: no newline can split it). */
  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (!res.writableEnded) res.write(chunk);
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Ends every stream (the server can then close). */
  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
