import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifierGate, promote, severityGate } from './promote';

const SEVERITY_GATE = {
  maxMae: 0.3,
  minCategoryAccuracy: 0.9,
  minBinaryAccuracy: 0.95,
  requireSeparations: true,
};

async function modelDir(root: string, content: string): Promise<string> {
  const dir = join(root, `model-${content}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), content);
  return dir;
}

describe('promotion', () => {
  it('applies the seed-001 targets to severity models, naming every miss', () => {
    const ok = severityGate(
      { severity_mae: 0.1, category_accuracy: 0.93, binary_accuracy: 0.96 },
      true,
      SEVERITY_GATE,
    );
    expect(ok).toEqual({ promoted: true, reasons: [] });
    const bad = severityGate(
      { severity_mae: 0.31, category_accuracy: 0.9, binary_accuracy: 0.96 },
      false,
      SEVERITY_GATE,
    );
    expect(bad.promoted).toBe(false);
    expect(bad.reasons).toEqual([
      'severity MAE 0.310 is not < 0.3',
      'category accuracy 0.900 is not > 0.9',
      'a band separation target is not met (see the calibration table)',
    ]);
  });

  it('needs calibrated probabilities and accuracy for classifiers', () => {
    const gate = { maxEce: 0.08, minAccuracy: 0.85 };
    expect(classifierGate({ ece: 0.05, accuracy: 0.9 }, gate).promoted).toBe(true);
    expect(classifierGate({ accuracy: 0.9 }, gate).reasons[0]).toMatch(/ECE cannot be checked/);
    expect(classifierGate({ ece: 0.09, accuracy: 0.8 }, gate).reasons).toEqual([
      'ECE 0.090 is not ≤ 0.08',
      'accuracy 0.800 is not ≥ 0.85',
    ]);
  });

  it('replaces current/<name> by renames and leaves no staging directory behind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'anomalia-promote-'));
    const models = join(root, 'models');
    const pass = { promoted: true, reasons: [] };
    const first = await promote(await modelDir(root, 'first'), 'ebm', 'run-1', models, pass, { mae: 0.2 });
    const second = await promote(await modelDir(root, 'second'), 'ebm', 'run-2', models, pass, { mae: 0.1 });
    expect(second).toBe(first);
    expect(await readFile(join(second, 'model', 'weights.bin'), 'utf8')).toBe('second');
    expect(JSON.parse(await readFile(join(second, 'promotion.json'), 'utf8'))).toMatchObject({
      runId: 'run-2',
      promoted: true,
      metrics: { mae: 0.1 },
    });
    expect(await readdir(join(models, 'current'))).toEqual(['ebm']);

    const candidate = await promote(
      await modelDir(root, 'third'),
      'ebm',
      'run-3',
      models,
      { promoted: false, reasons: ['x'] },
      {},
    );
    expect(candidate).toBe(join(models, 'candidates', 'run-3'));
    expect(await readFile(join(second, 'model', 'weights.bin'), 'utf8')).toBe('second');
    expect(existsSync(join(candidate, 'model', 'weights.bin'))).toBe(true);
  });

  it('keeps the companion files with the model, with their digests in promotion.json', async () => {
    const root = await mkdtemp(join(tmpdir(), 'anomalia-promote-'));
    const tables = join(root, 'source_tables.json');
    await writeFile(tables, '{"recorded":false,"present":["TrackTreatment"],"absent":[]}\n');
    const dir = await promote(
      await modelDir(root, 'm'),
      'ebm',
      'run-1',
      join(root, 'models'),
      {
        promoted: true,
        reasons: [],
      },
      {},
      [tables],
    );
    expect(await readFile(join(dir, 'source_tables.json'), 'utf8')).toBe(await readFile(tables, 'utf8'));
    const promotion = JSON.parse(await readFile(join(dir, 'promotion.json'), 'utf8'));
    expect(promotion.files).toEqual({
      'source_tables.json': createHash('sha256')
        .update(await readFile(tables))
        .digest('hex'),
    });
  });
});
