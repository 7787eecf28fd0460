import { type Dataset, loadCsvDataset, Matrix } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import { createCohort, planCorruption } from '@anomalia/failure-modes';
import { extractQa74 } from '@anomalia/features';
import { applyChanges, assembleRecords } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';

/** The ADBench data sets in ../shared/data/tabular. */
export const ADBENCH_SETS = ['breastw', 'cardio', 'pendigits', 'satellite', 'thyroid', 'vowels'] as const;

export async function adbench(name: string): Promise<Dataset & { y: Float64Array }> {
  const data = await loadCsvDataset(sharedDataPath(import.meta.url, 'tabular', `${name}.csv`), {
    labelColumn: 'label',
  });
  return data as Dataset & { y: Float64Array };
}

/**
 * The 74 QA features of a small synthetic clinic after a seeded, severity-balanced corruption
 * plan (in memory, as the train app does in a sandbox): corrupted records get their failure
 * mode's severity as target, clean ones 0.
 */
export function mosaiqClinic(records = 1500, examples = 600, seed = 3): Dataset & { y: Float64Array } {
  const clinic = generateRecords({ seed, records });
  const cohort = createCohort(clinic);
  const plan = planCorruption({ cohort, n: examples, seed });
  const corrupted = assembleRecords(applyChanges(cohort.rows, plan.changes));
  const byId = new Map(corrupted.map((r) => [r.treatment.TTX_ID, r]));
  const chosen = plan.examples.map((e) => byId.get(e.ttxId)!);
  const latest = Math.max(...clinic.map((r) => r.treatment.Create_DtTm?.getTime() ?? 0));
  const fm = extractQa74(chosen, { asOf: latest + 86_400_000 });
  return {
    X: new Matrix(fm.X.rows, fm.X.cols, fm.X.data),
    y: Float64Array.from(plan.examples, (e) => e.severity),
    featureNames: fm.featureNames,
  };
}
