/**
 * A monitor process for the crash test: a deterministic in-memory clinic (the same on every
 * start), a scorer slowed down so kills land mid-scoring too, the real state store and a webhook
 * sink. Usage: crash-child.ts <state.sqlite> <webhook url> <records>
 */
import { parseConfig } from '../config/load';
import { createLogger } from '../log';
import { assembleMonitor, runUntilSignalled } from '../service/assemble';
import { MemoryChangeSource } from './memory-source';

const [statePath, url, count] = process.argv.slice(2);
const records = Number(count);
const config = parseConfig({
  source: { name: 'crash', database: { type: 'sqlite', path: 'unused.sqlite' } },
  model: { dir: 'unused' },
  state: { path: statePath },
  poll: { interval: '20ms', batchSize: 25 },
  sinks: [{ name: 'hook', type: 'webhook', url, timeout: '5s', retry: { initial: '20ms', max: '200ms' } }],
  routing: {
    routes: [
      {
        name: 'all',
        bands: ['low', 'medium', 'high', 'critical'],
        sinks: ['hook'],
        groupWait: '0s',
        groupInterval: '0s',
      },
    ],
  },
  inhibit: [],
  log: { level: 'warn' },
});

const source = new MemoryChangeSource();
const SEVERITY = [0.6, 1.2, 2.0, 2.8];
for (let i = 1; i <= records; i++) {
  // One patient per record, so every alert is its own group and its own POST.
  source.upsert({
    id: String(i),
    patientId: `P${i}`,
    occurredAt: 1_767_600_000_000 + i * 1_000,
    features: { x: SEVERITY[i % 4]! },
  });
}
const fast = source.linearScorer({ name: 'linear', version: '1' }, { x: 1 });
const scorer = {
  model: fast.model,
  async score(ids: readonly string[]) {
    await new Promise((r) => setTimeout(r, 40));
    return fast.score(ids);
  },
};
const logger = createLogger(config.log);
const monitor = assembleMonitor(config, { source, scorer }, { logger });
await runUntilSignalled(monitor, logger);
