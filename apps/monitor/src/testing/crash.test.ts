import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationMessage } from '../message';
import { startHttpReceiver } from './receivers';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RECORDS = 400;
const child = new URL('./crash-child.ts', import.meta.url).pathname;

function start(
  state: string,
  url: string,
): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, state, url, String(RECORDS)], {
    cwd: new URL('../..', import.meta.url).pathname,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (c) => {
    stderr += String(c);
  });
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { proc, exited };
}

describe('crash safety', () => {
  it('loses no alert and delivers none twice (by idempotency key) across kill -9 during scoring and delivery', async () => {
    const state = join(dir, 'state.sqlite');
    let current: ReturnType<typeof start> | null = null;
    // Kill points (request index → how): hang = the receiver got the POST but never answers.
    const kills = new Map<number, 'hang' | 'after-200'>([
      [15, 'hang'],
      [120, 'after-200'],
      [250, 'hang'],
    ]);
    const receiver = await startHttpReceiver((_, i) => {
      const how = kills.get(i);
      if (how === 'hang') {
        current?.proc.kill('SIGKILL');
        return 'hang';
      }
      if (how === 'after-200') setImmediate(() => current?.proc.kill('SIGKILL'));
      return 200;
    });
    const restarts: string[] = [];
    const watermarks: number[] = [];
    try {
      for (let run = 0; run <= kills.size; run++) {
        current = start(state, receiver.url);
        if (run < kills.size) {
          const { signal } = await current.exited;
          restarts.push(String(signal));
          const store = openMonitorStore(state);
          watermarks.push(Number(store.watermark('crash') ?? 0));
          store.close();
        }
      }
      // The last process runs until every alert has arrived, then is stopped gracefully.
      const unique = () => new Set(receiver.requests.map((r) => r.headers['idempotency-key'])).size;
      const deadline = Date.now() + 60_000;
      while (unique() < RECORDS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      current!.proc.kill('SIGTERM');
      const last = await current!.exited;
      expect(last.code, last.stderr).toBe(0);
    } finally {
      current?.proc.kill('SIGKILL');
      await receiver.close();
    }
    expect(restarts).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    // The first kill lands while records are still being scored (the scorer is slowed down).
    expect(watermarks[0]).toBeLessThan(RECORDS);

    // A receiver that dedupes by Idempotency-Key sees each notification once …
    const byId = new Map<string, NotificationMessage>();
    for (const r of receiver.requests) byId.set(r.headers['idempotency-key'] as string, JSON.parse(r.body));
    // … and each alert in exactly one notification: none lost, none delivered twice.
    const alertCounts = new Map<string, number>();
    for (const m of byId.values())
      for (const a of m.alerts)
        alertCounts.set(a.idempotencyKey, (alertCounts.get(a.idempotencyKey) ?? 0) + 1);
    expect(alertCounts.size).toBe(RECORDS);
    expect([...alertCounts.values()].every((c) => c === 1)).toBe(true);
    const rawDuplicates = receiver.requests.length - byId.size;
    // At most the one in-flight notification per kill can be resent; the hung ones must be.
    expect(rawDuplicates).toBeGreaterThanOrEqual(2);
    expect(rawDuplicates).toBeLessThanOrEqual(kills.size);
    console.log(
      JSON.stringify({
        name: 'crash-test',
        kills: kills.size,
        watermarksAtKill: watermarks,
        alerts: RECORDS,
        posts: receiver.requests.length,
        uniqueNotifications: byId.size,
        rawDuplicates,
      }),
    );

    const store = openMonitorStore(state);
    try {
      expect(store.counts()).toMatchObject({ scores: RECORDS, alerts: RECORDS });
      expect(store.backlog()).toEqual([]);
      expect(store.watermark('crash')).toBe(String(RECORDS));
    } finally {
      store.close();
    }
  }, 120_000);
});
