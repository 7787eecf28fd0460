import { Redis } from 'ioredis';
import { ConfigError } from '../config/load';

/** The URL without its password, for logs and messages. */
export function describeRedis(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Throws a ConfigError naming `queue.redis` unless `url` is a redis:// or rediss:// URL. */
export function checkRedisUrl(url: string): void {
  if (!/^rediss?:\/\/[^/]/.test(url))
    throw new ConfigError(
      'config',
      'queue.redis',
      `expected a redis:// or rediss:// URL (got ${describeRedis(url)})`,
    );
}

/**
 * A connection as BullMQ needs it: commands wait through disconnections instead of failing
 * (`maxRetriesPerRequest: null`), and reconnection goes on forever with a capped backoff, so a
 * worker survives a Redis restart.
 */
export function openRedis(url: string, name: string): Redis {
  checkRedisUrl(url);
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), 2_000),
  });
}

export interface RedisInfo {
  readonly version: string;
  readonly maxmemoryPolicy: string;
}

/** Fields of `INFO` (`key:value` lines). */
function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/**
 * Waits until Redis answers (up to `timeoutMs`), then checks what BullMQ needs: version ≥ 5 and
 * `maxmemory-policy noeviction` (any other policy lets Redis drop job keys under memory pressure,
 * silently losing work). Throws a ConfigError naming `queue.redis` otherwise.
 */
export async function checkRedis(client: Redis, url: string, timeoutMs: number): Promise<RedisInfo> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            'config',
            'queue.redis',
            `no answer from ${describeRedis(url)} within ${Math.round(timeoutMs / 1000)} s (is redis-server running there?)`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    const info = infoFields(await Promise.race([client.info(), timeout]));
    const version = info.get('redis_version') ?? '0';
    const policy = info.get('maxmemory_policy') ?? 'unknown';
    if (Number(version.split('.')[0]) < 5)
      throw new ConfigError(
        'config',
        'queue.redis',
        `Redis ${version} at ${describeRedis(url)} is too old: BullMQ needs 5 or later (6.2+ recommended)`,
      );
    if (policy !== 'noeviction')
      throw new ConfigError(
        'config',
        'queue.redis',
        `Redis at ${describeRedis(url)} has maxmemory-policy ${policy}; BullMQ needs noeviction, or Redis may evict job keys and lose work. ` +
          'Set `maxmemory-policy noeviction` in redis.conf (now: redis-cli CONFIG SET maxmemory-policy noeviction)',
      );
    return { version, maxmemoryPolicy: policy };
  } finally {
    clearTimeout(timer);
  }
}
