import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MonitorStore, openMonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL_FIT_RECORD } from '../alerts';
import { parseConfig } from '../config/load';
import { resolveRoutes } from '../config/schema';
import { createLogger } from '../log';
import type { CommitJob } from './jobs';
import { commitScoredRange, type StoreSide } from './work';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-work-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MISMATCH: NonNullable<CommitJob['fit']> = {
  status: 'mismatch',
  reasons: ['features are distributed unlike the training normals'],
  window: 500,
  alertShare: 0.4,
  missingTables: [],
  shifted: [{ feature: 'gantry_range', psi: 1.2 }],
  features: 74,
  referenceRows: 2000,
};

function side(store: MonitorStore): StoreSide {
  const config = parseConfig({
    source: { name: 'alpha', database: { type: 'sqlite', path: join(dir, 'unused.sqlite') } },
    model: { dir: 'unused' },
    state: { path: join(dir, 'unused-state.sqlite') },
    sinks: [{ name: 'file', type: 'jsonl', path: join(dir, 'alerts.jsonl') }],
  });
  return {
    store,
    config,
    routes: resolveRoutes(config),
    logger: createLogger({ level: 'silent', redactPatientIdentifiers: true }),
    now: () => 1_000,
  };
}

function mismatchJob(rangeId: string): CommitJob {
  return {
    site: 'alpha',
    rangeId,
    model: { name: 'm', version: 'v1' },
    records: [{ recordId: '7', patientId: null, occurredAt: null, energy: 0.1 }],
    fit: MISMATCH,
    scoredAt: 1,
    scoredBy: 'w1',
  };
}

/** The store as a process sees it that is killed at `write` (nothing of that write lands). */
function dyingAt(store: MonitorStore, write: 'commitRange' | 'commitScored'): MonitorStore {
  return Object.create(store, {
    [write]: {
      value: () => {
        throw new Error(`killed at ${write}`);
      },
    },
  });
}

describe('committing a scored range on a site the model does not fit', () => {
  for (const write of ['commitRange', 'commitScored'] as const) {
    it(`stores the model-fit alert once, whichever write the process dies at (${write})`, () => {
      const store = openMonitorStore(join(dir, `state-${write}.sqlite`));
      try {
        store.planRange({
          id: 'r1',
          source: 'alpha',
          stream: 'changes',
          start: null,
          end: 'c1',
          ids: ['7'],
          at: 1,
        });
        const job = mismatchJob('r1');
        expect(() => commitScoredRange(side(dyingAt(store, write)), job)).toThrow(`killed at ${write}`);
        // The retried job commits the range, and a duplicate of it writes nothing more.
        expect(commitScoredRange(side(store), job).duplicate).toBe(false);
        expect(commitScoredRange(side(store), job).duplicate).toBe(true);
        const fitAlerts = store
          .alertsBetween(0, Number.MAX_SAFE_INTEGER)
          .filter((a) => a.recordId === MODEL_FIT_RECORD);
        expect(fitAlerts).toHaveLength(1);
        expect(fitAlerts[0]!.revision).toBe(1);
        expect(store.range('r1')?.committedAt).not.toBeNull();
      } finally {
        store.close();
      }
    });
  }
});
