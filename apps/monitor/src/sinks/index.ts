import { ConfigError, resolveSecret } from '../config/load';
import type { SinkConfig } from '../config/schema';
import { ConsoleSink } from './console';
import { EmailSink } from './email';
import { JsonlSink } from './jsonl';
import { SlackSink } from './slack';
import type { Sink } from './types';
import { WebhookSink } from './webhook';

/** Builds the sink a config entry describes; secrets are read here (`sinks[i].url` names a missing one). */
export function createSink(c: SinkConfig, index: number, env: NodeJS.ProcessEnv = process.env): Sink {
  const key = (k: string) => `sinks[${index}].${k}`;
  switch (c.type) {
    case 'jsonl':
      return new JsonlSink(c.name, c.path);
    case 'console':
      return new ConsoleSink(c.name, c.stream === 'stderr' ? process.stderr : process.stdout);
    case 'webhook':
      return new WebhookSink(c.name, {
        url: checkUrl(resolveSecret(c.url, key('url'), env), key('url')),
        ...(c.secret ? { secret: resolveSecret(c.secret, key('secret'), env) } : {}),
        timeoutMs: c.timeout,
        headers: c.headers,
      });
    case 'slack':
      return new SlackSink(c.name, checkUrl(resolveSecret(c.url, key('url'), env), key('url')), c.timeout);
    case 'email':
      return new EmailSink(c.name, {
        host: c.host,
        port: c.port,
        secure: c.secure,
        requireTls: c.requireTls,
        ...(c.auth
          ? { auth: { user: c.auth.user, pass: resolveSecret(c.auth.pass, key('auth.pass'), env) } }
          : {}),
        from: c.from,
        to: c.to,
        subjectPrefix: c.subjectPrefix,
        timeoutMs: c.timeout,
      });
  }
}

function checkUrl(url: string, key: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {}
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new ConfigError('config', key, 'expected an http(s) URL');
  return url;
}
