import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sharedDataPath } from '@anomalia/core/testing';
import { createClinicDatabase, tableChecksum } from '@anomalia/db-sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load';
import { runTraining } from './pipeline/run';
import { createProgress } from './progress';

/**
 * Every example config in configs/ runs end to end on small settings, on the real data in
 * ../shared/data, from the repository root (where the configs' relative paths start). Paths into
 * ../shared/data go through sharedDataPath, so ANOMALIA_SHARED_DIR moves them and a missing file
 * fails naming its path.
 */
const repoRoot = resolve(__dirname, '../../..');
const configsDir = join(repoRoot, 'configs');

const SHARED_DATA = '../shared/data/';

/** The config with every `../shared/data/…` path resolved by sharedDataPath. */
function withSharedData<T>(value: T): T {
  if (typeof value === 'string' && value.startsWith(SHARED_DATA)) {
    return sharedDataPath(import.meta.url, ...value.slice(SHARED_DATA.length).split('/')) as T;
  }
  if (Array.isArray(value)) return value.map(withSharedData) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSharedData(v)])) as T;
  }
  return value;
}

/**
 * Small settings per config, and the least test ROC-AUC it must still reach with them (for an
 * unlabelled series: the most its alarm rate on held-out normal data may be).
 */
const SMALL: Record<
  string,
  | { overrides: (tmp: string) => string[]; minRocAuc: number }
  | { overrides: () => string[]; maxAlarmRate: number }
> = {
  'mosaiq-ebm': {
    overrides: (tmp) => [
      `dataset.source=${join(tmp, 'clinic.sqlite')}`,
      'dataset.normal=600',
      'dataset.adversarial=600',
      'model.params.epochs=40',
    ],
    minRocAuc: 0.85,
  },
  'ims-isolation-forest': { overrides: () => ['model.params.nEstimators=50'], minRocAuc: 0.9 },
  'ims-lof': { overrides: () => [], minRocAuc: 0.9 },
  'ims-ocsvm': { overrides: () => [], minRocAuc: 0.9 },
  'ims-autoencoder': { overrides: () => ['model.params.epochs=20'], minRocAuc: 0.8 },
  'cardio-ocsvm': { overrides: () => [], minRocAuc: 0.9 },
  'adfa-ngram': { overrides: () => [], minRocAuc: 0.8 },
  'synthetic-ngram-classifier': {
    overrides: () => ['dataset.numSamples=800', 'model.params.epochs=5'],
    minRocAuc: 0.9,
  },
  'nab-vae': { overrides: () => ['model.params.epochs=5'], minRocAuc: 0.6 },
  'ims3-timeseries-vae': { overrides: () => ['model.params.epochs=10'], maxAlarmRate: 0.05 },
};

let tmp: string;
let clinicChecksum: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'anomalia-configs-'));
  process.chdir(repoRoot);
  createClinicDatabase(join(tmp, 'clinic.sqlite'), { seed: 7, records: 20_000 });
  clinicChecksum = tableChecksum(join(tmp, 'clinic.sqlite'));
});

describe('example configs', async () => {
  const files = (await readdir(configsDir)).filter((f) => f.endsWith('.yaml')).sort();

  it('has small settings for every config in configs/', () => {
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual(Object.keys(SMALL).sort());
  });

  for (const file of files) {
    const name = file.replace(/\.yaml$/, '');
    it(`${name} runs end to end and writes its run directory`, async () => {
      const small = SMALL[name];
      if (!small) throw new Error(`no small settings for configs/${file}`);
      const config = withSharedData(
        await loadConfig(join(configsDir, file), [
          ...small.overrides(tmp),
          `output.runsDir=${join(tmp, 'runs')}`,
          `promotion.modelsDir=${join(tmp, 'models')}`,
        ]),
      );
      const result = await runTraining(config, createProgress({ quiet: true }));

      if ('minRocAuc' in small) expect(result.metrics.roc_auc).toBeGreaterThan(small.minRocAuc);
      else expect(result.metrics.normal_alarm_rate).toBeLessThanOrEqual(small.maxAlarmRate);
      const run = JSON.parse(await readFile(join(result.runDir, 'run.json'), 'utf8'));
      expect(run.config.name).toBe(name);
      expect(run.metrics.roc_auc).toBe(result.metrics.roc_auc);
      expect(existsSync(result.reportPath)).toBe(true);
      expect(existsSync(result.promotion.destination)).toBe(true);
      const report = await readFile(result.reportPath, 'utf8');
      expect(report).toContain('<svg');

      if (config.dataset.kind === 'mosaiq') {
        // The source is only read; the sandbox was restored to its checksum and removed.
        expect(run.sandbox.restored).toBe(true);
        expect(existsSync(run.sandbox.path)).toBe(false);
        expect(tableChecksum(join(tmp, 'clinic.sqlite'))).toBe(clinicChecksum);
        const labels = await readFile(join(result.runDir, 'failure_mode_records.csv'), 'utf8');
        expect(labels.split('\n')[0]).toBe('ttx_id,mode,variant,severity,held_out');
        expect(run.detection.some((d: { heldOut: boolean }) => d.heldOut)).toBe(true);
      }
    });
  }
});
