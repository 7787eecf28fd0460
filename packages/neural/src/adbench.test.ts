import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import {
  loadAdbench,
  meanStd,
  NEURAL_MODELS,
  PYOD_NAME,
  REPORT_SETS,
  readReference,
  runSplit,
  SELECTION_SETS,
} from './eval/adbench';

/**
 * The default AutoEncoder and VAE on the six ADBench sets (protocol of ./eval/adbench.ts, seeds
 * 1–3). Each floor comes from PyOD's reference alone, by one rule fixed before the defaults were
 * evaluated on the report sets: PyOD's mean minus max(3, 2 × PyOD's standard deviation over the
 * seeds), in ROC-AUC points, against our mean over the seeds. So a floor says "not clearly worse
 * than PyOD's defaults", on data the defaults were chosen on (selection sets) and on data they
 * were not (report sets) alike; it is never our own result minus a little.
 */
const DIR = sharedDataPath(import.meta.url, 'tabular');

/**
 * Where the defaults ARE clearly worse than PyOD's, by that rule: the test asserts the shortfall
 * (it fails once the shortfall is gone, and then becomes a plain floor like the others). On
 * vowels (a report set) the AutoEncoder has 84.58 ± 1.84 against PyOD's 92.49 ± 2.76 (floor
 * 86.97), the VAE 77.20 ± 5.47 against 90.80 ± 1.21 (floor 87.80): the deviations the selection
 * rule adopted on the selection sets (hidden [64, 32, 16, 8]; 10 epochs) cost it there, while
 * our port of PyOD's own defaults gets 93.72 and 88.93 (README, "Evidence").
 */
const KNOWN_SHORTFALLS = new Set(['ae|vowels', 'vae|vowels']);
const SEEDS = ['1', '2', '3'];

function floorOf(pyod: { mean: number; std: number }): number {
  return pyod.mean - Math.max(3, 2 * pyod.std);
}

describe("ADBench floors: PyOD 3.6.5's mean minus max(3, 2σ) points, per data set", async () => {
  const reference = await readReference(DIR);
  for (const model of NEURAL_MODELS) {
    for (const name of [...SELECTION_SETS, ...REPORT_SETS]) {
      const pyod = reference?.get(`${name}|${PYOD_NAME[model]}`);
      const shortfall = KNOWN_SHORTFALLS.has(`${model}|${name}`);
      const role = (REPORT_SETS as readonly string[]).includes(name) ? 'report' : 'selection';
      it(`${model} on ${name} (${role} set)${shortfall ? ': known shortfall, below the floor' : ''}`, async () => {
        expect(pyod).toBeDefined();
        const set = await loadAdbench(DIR, name);
        const aucs: number[] = [];
        for (const seed of SEEDS) aucs.push(100 * (await runSplit(set, seed, model)).roc_auc);
        const ours = meanStd(aucs);
        if (shortfall) expect(ours.mean).toBeLessThan(floorOf(pyod!));
        else expect(ours.mean).toBeGreaterThanOrEqual(floorOf(pyod!));
      }, 300_000);
    }
  }
});
