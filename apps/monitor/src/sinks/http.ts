import { SinkError } from './types';

export interface PostOptions {
  readonly sink: string;
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** POSTs `body`; any answer but 2xx, a network error or the timeout is a SinkError. */
export async function postJson(o: PostOptions): Promise<void> {
  let res: Response;
  try {
    res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'anomalia-monitor', ...o.headers },
      body: o.body,
      signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]),
      redirect: 'error',
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    const why =
      err.name === 'TimeoutError'
        ? `no answer within ${o.timeoutMs} ms`
        : err.name === 'AbortError'
          ? 'aborted'
          : (err.cause?.code ?? err.message);
    throw new SinkError(o.sink, `POST ${redactUrl(o.url)} failed: ${why}`);
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300)
    throw new SinkError(
      o.sink,
      `POST ${redactUrl(o.url)} answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      res.status,
    );
}

/** Incoming-webhook URLs carry their secret in the path: logs show the origin only. */
export function redactUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(invalid URL)';
  }
}
