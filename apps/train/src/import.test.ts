import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openTreatmentReader, runImportCli } from '@anomalia/db-sqlite';
import { QA_EXTENDED_FEATURES, unobservedFeatures } from '@anomalia/features';
import { emptyTableRows, formatMosaiqCsv, TABLE_NAMES } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load';
import { runTraining } from './pipeline/run';
import { createProgress } from './progress';

/**
 * anomalia-train on a database made by anomalia-import from a pymedphys-format extract that, like
 * many real ones, has no Dose_Hst and no Offset table, control points for only some fields, and
 * a Staff row repeated.
 */
const repoRoot = resolve(__dirname, '../../..');
let tmp: string;
let database: string;
/** Staff rows in the extract, one of them a repeated row. */
let staffRows: number;
let importOutput: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'anomalia-import-train-'));
  const rows = emptyTableRows();
  for (const batch of generateClinic({ seed: 11, records: 8000 }))
    for (const t of TABLE_NAMES) for (const r of batch.rows[t]) (rows[t] as unknown[]).push(r);
  const extract = join(tmp, 'extract');
  await mkdir(extract);
  // Every 20th field's control points were not extracted.
  const skipped = new Set(rows.TxField.filter((_, i) => i % 20 === 0).map((f) => f.FLD_ID));
  rows.TxFieldPoint = rows.TxFieldPoint.filter((p) => p.FLD_ID === null || !skipped.has(p.FLD_ID));
  rows.Staff = [...rows.Staff, rows.Staff[0]!];
  staffRows = rows.Staff.length;
  for (const t of TABLE_NAMES) {
    if (t === 'Dose_Hst' || t === 'Offset') continue;
    await writeFile(join(extract, `${t}.csv`), formatMosaiqCsv(t, rows[t]));
  }
  database = join(tmp, 'clinic.sqlite');
  let out = '';
  const code = await runImportCli([extract, '--out', database, '--quiet'], {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
  });
  importOutput = out;
  expect(code, out).toBe(0);
}, 120_000);

afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('anomalia-train on an imported extract', () => {
  it('records the absent tables and trains without learning that every record lacks them', async () => {
    expect(importOutput).toMatch(
      new RegExp(`^Staff +Staff\\.csv +${staffRows} +${staffRows - 1} +1 +1 identical duplicate`, 'm'),
    );
    expect(importOutput).toContain('Absent tables (recorded as absent, not empty): Dose_Hst, Offset.');
    const reader = openTreatmentReader(database);
    expect(reader.tablePresence().absent).toEqual(['Dose_Hst', 'Offset']);
    reader.closeSync();

    process.chdir(repoRoot);
    const config = await loadConfig(join(repoRoot, 'configs', 'mosaiq-ebm.yaml'), [
      `dataset.source=${database}`,
      'dataset.recentDays=3650',
      'dataset.normal=300',
      'dataset.adversarial=300',
      'dataset.holdoutVariants=[]',
      'model.params.epochs=25',
      `output.runsDir=${join(tmp, 'runs')}`,
      `promotion.modelsDir=${join(tmp, 'models')}`,
    ]);
    const result = await runTraining(config, createProgress({ quiet: true }));
    expect(result.metrics.roc_auc).toBeGreaterThan(0.8);
    const run = JSON.parse(await readFile(join(result.runDir, 'run.json'), 'utf8'));
    expect(run.sourceTables).toEqual({
      recorded: true,
      present: TABLE_NAMES.filter((t) => t !== 'Dose_Hst' && t !== 'Offset'),
      absent: ['Dose_Hst', 'Offset'],
    });
    // Unobserved features were constant in training (at their documented value): the model
    // cannot have learnt anything from the absence of offsets and dose records.
    const names = (await readFile(join(result.runDir, 'features.txt'), 'utf8')).trim().split('\n');
    const unobserved = unobservedFeatures(names, ['Dose_Hst', 'Offset']);
    expect(unobserved).toHaveLength(16);
    const scaler = JSON.parse(await readFile(join(result.runDir, 'scaler.json'), 'utf8'));
    for (const name of unobserved) {
      const j = names.indexOf(name);
      expect(scaler.constantColumns, name).toContain(j);
      expect(scaler.center[j], name).toBe(QA_EXTENDED_FEATURES[j]!.missingValue);
    }
    // Observed features of the offset-free extract still vary.
    expect(scaler.constantColumns).not.toContain(names.indexOf('mu_planned'));
    expect(run.notes.join('\n')).toContain(
      "The source's extract has no Dose_Hst, Offset: 16 features from them are unobserved (constant)",
    );
    expect(JSON.parse(await readFile(join(result.runDir, 'source_tables.json'), 'utf8'))).toEqual(
      run.sourceTables,
    );
    expect(existsSync(result.reportPath)).toBe(true);
  }, 300_000);
});
