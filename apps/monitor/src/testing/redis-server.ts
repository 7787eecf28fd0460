import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * A private `redis-server` for tests: its own port (a free one, found by binding port 0), its own
 * temporary directory, no persistence unless asked (so a restart is Redis losing everything, the
 * harder case), `maxmemory-policy noeviction` as BullMQ requires.
 */

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  for (const p of [`/usr/bin/${name}`, `/usr/local/bin/${name}`, `/usr/sbin/${name}`])
    if (existsSync(p)) return p;
  return null;
}

/**
 * The redis-server binary: found on PATH, or installed with apt-get (Debian's `redis-server`)
 * when running as root. Null with the reason when neither works; in CI (`CI` set) that is an
 * error, not a skip.
 */
export function findRedisServer(): { path: string } | { path: null; reason: string } {
  let found = onPath('redis-server');
  if (found) return { path: found };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && onPath('apt-get')) {
    try {
      execFileSync('apt-get', ['install', '-y', '-q', 'redis-server'], { stdio: 'ignore', timeout: 300_000 });
    } catch {
      try {
        execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 });
        execFileSync('apt-get', ['install', '-y', '-q', 'redis-server'], {
          stdio: 'ignore',
          timeout: 300_000,
        });
      } catch {
        // reported below
      }
    }
    found = onPath('redis-server');
    if (found) return { path: found };
  }
  const reason = `redis-server is not installed and could not be installed${root ? ' with apt-get' : ' (not root)'}: apt-get install -y redis-server`;
  if (process.env.CI) throw new Error(`${reason} (CI must run the distributed tests; .ci/run installs it)`);
  return { path: null, reason };
}

/** The redis-server binary for tests, which must run: its absence is an error saying how to get one. */
export function requireRedisServer(): string {
  const found = findRedisServer();
  if (found.path === null) throw new Error(found.reason);
  return found.path;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM; without persistence it keeps nothing). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** stop() then start(): every client sees the connection drop. */
  restart(): Promise<void>;
}

export async function startRedis(
  binary: string,
  dir: string,
  options: { policy?: string; appendOnly?: boolean } = {},
): Promise<TestRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.appendOnly ? 'yes' : 'no',
      '--maxmemory-policy',
      options.policy ?? 'noeviction',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const p = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (c) => {
      stderr += String(c);
    });
    proc = p;
    exited = new Promise((resolve) => p.on('exit', () => resolve()));
    // Ready once it accepts a connection.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = new Socket();
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
        s.connect(port, '127.0.0.1');
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`redis-server did not listen on ${port} within 10 s: ${stderr}`);
  };
  const stop = async () => {
    proc?.kill('SIGTERM');
    await exited;
    proc = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
  };
}
