import { NotASandboxError } from '@anomalia/mosaiq';
import { describe, expect, it } from 'vitest';
import { type TargetDatabase, TargetSession } from './target';

function fakeTarget(log: string[]): TargetDatabase {
  return {
    name: 'fake',
    reader: {} as TargetDatabase['reader'],
    writer: {} as TargetDatabase['writer'],
    staleness: () => null,
    async close() {
      log.push('close');
    },
  };
}

describe('TargetSession', () => {
  it('does not cache a failed open, so a fixed database works on the next call', async () => {
    const log: string[] = [];
    let attempts = 0;
    const session = new TargetSession(async () => {
      attempts++;
      if (attempts === 1) throw new NotASandboxError('box.sqlite');
      return fakeTarget(log);
    });
    await expect(session.run(async (t) => t.name)).rejects.toThrow(/box\.sqlite: not a sandbox/);
    expect(await session.run(async (t) => t.name)).toBe('fake');
    expect(await session.run(async (t) => t.name)).toBe('fake');
    expect(attempts).toBe(2);
    await session.close();
    expect(log).toEqual(['close']);
    await expect(session.run(async () => 1)).rejects.toThrow(/closed/);
  });

  it('runs calls one at a time, in order, even when one fails', async () => {
    const session = new TargetSession(async () => fakeTarget([]));
    const order: string[] = [];
    const slow = session.run(async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('slow');
      throw new Error('boom');
    });
    const fast = session.run(async () => {
      order.push('fast');
      return 2;
    });
    await expect(slow).rejects.toThrow('boom');
    expect(await fast).toBe(2);
    expect(order).toEqual(['slow', 'fast']);
  });
});
