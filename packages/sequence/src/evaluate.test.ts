import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { bestF1, evaluateUnsupervised } from './evaluate';
import { readSequencesFile } from './io';
import { generateSyntheticSamples } from './synthetic';

// Read in place from the shared data folder.
const ADFA = `${sharedDataPath(import.meta.url, 'sequences', 'adfa_ld')}/`;

// The data set is part of ../shared, which CI always provides: a missing file fails the test.
describe('ADFA-LD evaluation (real system-call traces)', () => {
  it('reaches ROC-AUC ≥ 0.84 with the default language model', async () => {
    const [train, normal, anomalous] = await Promise.all(
      ['train_normal.txt', 'validation_normal.txt', 'attack.txt'].map((f) =>
        readSequencesFile(join(ADFA, f)),
      ),
    );
    const r = await evaluateUnsupervised({ train: train!, normal: normal!, anomalous: anomalous! });
    expect(r.n_train).toBe(833);
    expect(r.n_test).toBe(4372 - 2186 + 746);
    // Measured 0.849 (seed 42). The target of 0.93 (an LSTM ensemble's figure) is NOT met by
    // n-gram models on this data: see the README's evaluation section.
    expect(r.roc_auc).toBeGreaterThanOrEqual(0.84);
    expect(r.average_precision).toBeGreaterThan(0.6);
    expect(r.f1_at_fpr_1pct).toBeGreaterThan(0.2);
    expect(r.best_f1).toBeGreaterThanOrEqual(r.f1_at_fpr_1pct);
  });
});

describe('evaluateUnsupervised', () => {
  const data = generateSyntheticSamples(800, { seed: 2 });
  const normal = data.filter((s) => s.label === 0).map((s) => s.sequence);
  const anomalous = data.filter((s) => s.label === 1).map((s) => s.sequence);

  it('follows the protocol: train on train, threshold on the calibration half, test on the rest', async () => {
    const r = await evaluateUnsupervised({
      train: normal.slice(0, 300),
      normal: normal.slice(300),
      anomalous,
      params: { order: 3 },
    });
    const rest = normal.length - 300;
    expect(r.n_test).toBe(rest - Math.floor(rest / 2) + anomalous.length);
    expect(r.detector.threshold?.split).toBe('calibration');
    expect(r.roc_auc).toBeGreaterThan(0.9);
    // Same seed, same split, same numbers.
    const again = await evaluateUnsupervised({
      train: normal.slice(0, 300),
      normal: normal.slice(300),
      anomalous,
      params: { order: 3 },
    });
    expect(again.f1_at_fpr_1pct).toBe(r.f1_at_fpr_1pct);
  });

  it('rejects inputs it cannot evaluate, naming them', async () => {
    await expect(evaluateUnsupervised({ train: [], normal, anomalous })).rejects.toThrow(/train/);
    await expect(evaluateUnsupervised({ train: normal, normal: [['a']], anomalous })).rejects.toThrow(
      /normal/,
    );
    await expect(evaluateUnsupervised({ train: normal, normal, anomalous: [] })).rejects.toThrow(/anomalous/);
  });

  it('bestF1 is the best F1 over thresholds', () => {
    expect(bestF1([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(bestF1([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])).toBeCloseTo(0.8, 12);
  });
});

describe('readSequencesFile', () => {
  it('reads one sequence per line, skipping blank lines; empty or unreadable files are clear errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seq-io-'));
    const good = join(dir, 'good.txt');
    await writeFile(good, '6 6 63\n\n  1 2   3 \r\n');
    expect(await readSequencesFile(good)).toEqual([
      ['6', '6', '63'],
      ['1', '2', '3'],
    ]);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '\n  \n');
    await expect(readSequencesFile(empty, '--train')).rejects.toThrow(
      /--train: expected at least one sequence/,
    );
    await expect(readSequencesFile(join(dir, 'nope.txt'), '--normal')).rejects.toThrow(
      /--normal: expected a readable file.*ENOENT/,
    );
  });
});
