import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A lease on a Redis key (SET NX PX with a random token), renewed while held: one holder at a
 * time across every worker, and a holder that dies (kill -9) lets go after `ttlMs`. It is a
 * courtesy, not the guarantee: what must never happen twice is also refused by the state store.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly token: string,
    ttlMs: number,
  ) {
    this.timer = setInterval(
      () => {
        this.redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => undefined);
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  /** The lease, or null when someone else holds it. */
  static async acquire(redis: Redis, key: string, ttlMs: number): Promise<Lease | null> {
    const token = randomUUID();
    const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? new Lease(redis, key, token, ttlMs) : null;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
  }
}
