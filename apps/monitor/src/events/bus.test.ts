import { describe, expect, it } from 'vitest';
import { MonitorEventBus } from './bus';

describe('MonitorEventBus', () => {
  it('delivers to every listener, isolates a failing one, and unsubscribes', () => {
    const failures: string[] = [];
    const bus = new MonitorEventBus((e, type) => failures.push(`${type}: ${(e as Error).message}`));
    const seen: string[] = [];
    bus.on('pollFailed', () => {
      throw new Error('broken listener');
    });
    const off = bus.on('pollFailed', (e) => seen.push(e.error));
    const event = { at: 1, error: 'ECONNREFUSED', failures: 1 };
    bus.emit('pollFailed', event);
    expect(seen).toEqual(['ECONNREFUSED']);
    expect(failures).toEqual(['pollFailed: broken listener']);
    off();
    bus.emit('pollFailed', event);
    expect(seen).toHaveLength(1);
    expect(bus.listenerCount('pollFailed')).toBe(1);
    expect(bus.listenerCount('batch')).toBe(0);
  });
});
