import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { createProgress } from '../progress';
import { runTraining } from './run';

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'anomalia-run-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('a training run that fails', () => {
  it('leaves no empty runs/<time>-<name>/ folder behind', async () => {
    const quiet = createProgress({ quiet: true });
    const missingData = parseConfig({
      name: 'no-data',
      dataset: { kind: 'tabular', path: join(cwd, 'missing.csv') },
      model: { type: 'isolation_forest' },
    });
    await expect(runTraining(missingData, quiet, { cwd })).rejects.toThrow(/missing\.csv/);
    const wrongKind = parseConfig({
      name: 'wrong-kind',
      dataset: { kind: 'tabular', path: join(cwd, 'missing.csv') },
      model: { type: 'ngram' },
    });
    await expect(runTraining(wrongKind, quiet, { cwd })).rejects.toThrow(/dataset\.kind/);
    const runs = join(cwd, 'runs');
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
  });
});
