import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../config/load';
import { planDashboard, withDashboard } from '../http/attach';
import { createLogger } from '../log';
import type { ModelIdentity } from '../seam';
import { assembleMonitor } from '../service/assemble';
import { MemoryChangeSource } from './memory-source';

export interface TestDashboardOptions {
  /** The config's `http` section (bind defaults to 127.0.0.1:0). */
  readonly http?: Record<string, unknown>;
  readonly model?: ModelIdentity;
  readonly weights?: Readonly<Record<string, number>>;
  readonly pollInterval?: string;
  /** Sinks besides the JSONL file `file` (e.g. a webhook to a receiver that fails). */
  readonly extraSinks?: readonly Record<string, unknown>[];
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A whole monitor, as `anomalia-monitor run --http` assembles it, over the in-memory change
 * source and linear scorer: a real state store in a temp directory, the service loop running,
 * the dashboard listening on 127.0.0.1 (ephemeral port). `upsert` a record to make it arrive.
 */
export async function startTestDashboard(o: TestDashboardOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'anomalia-dashboard-'));
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c) => logs.push(String(c)));
  const logger = createLogger({ level: 'info', redactPatientIdentifiers: true }, stream);
  const config = parseConfig({
    source: { name: 'site-a', database: { type: 'sqlite', path: 'unused.sqlite' } },
    model: { dir: 'unused' },
    state: { path: join(dir, 'state.sqlite'), synchronous: 'normal' },
    poll: { interval: o.pollInterval ?? '100ms', batchSize: 500 },
    sinks: [{ name: 'file', type: 'jsonl', path: join(dir, 'alerts.jsonl') }, ...(o.extraSinks ?? [])],
    http: { bind: '127.0.0.1:0', ...o.http },
  });
  const plan = planDashboard(config, undefined, logger, o.env ?? {});
  if (!plan) throw new Error('no dashboard planned');
  const source = new MemoryChangeSource();
  const model = o.model ?? { name: 'linear', version: '1' };
  const scorer = source.linearScorer(model, o.weights ?? { mu_delta: 1, baseline: 1 });
  const assembled = assembleMonitor(config, { source, scorer }, { logger, events: plan.events });
  let monitor: Awaited<ReturnType<typeof withDashboard>>;
  try {
    monitor = await withDashboard(assembled, plan, logger);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw Object.assign(e as Error, { storeOpen: assembled.store.isOpen });
  }
  const controller = new AbortController();
  const loop = monitor.service.run(controller.signal);
  return {
    url: monitor.dashboard.url,
    source,
    store: monitor.store,
    monitor,
    labelsPath: plan.labelsPath,
    logs,
    dir,
    async stop(): Promise<void> {
      controller.abort();
      await loop;
      await monitor.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type TestDashboard = Awaited<ReturnType<typeof startTestDashboard>>;
