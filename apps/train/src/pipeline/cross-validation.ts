import type { TrainConfig } from '../config/schema';
import type { MatrixData, SequenceData } from '../data/types';
import type { Progress } from '../progress';
import type { MatrixModel, SequenceModel } from '../registry';
import type { CrossValidationReport, SplitViewReport } from '../report/types';
import { boundLabel, type FoldOutcome, summarizeFolds } from './fold-summary';
import { evaluateMatrixModel, fitMatrixModel, type MatrixEvaluation, release } from './matrix-fit';
import { applyGate, type GateKind, type GateResult } from './promote';
import { evaluateSequenceModel, fitSequenceModel } from './sequence-fit';

/** A fold's outcome from a matrix evaluation (metrics, and the calibration table of a severity model). */
function outcomeOf(e: MatrixEvaluation): FoldOutcome {
  const c = e.severity?.calibration;
  return {
    metrics: e.metrics,
    ...(c
      ? {
          severity: {
            checks: c.checks.map((x) => ({
              name: x.name,
              value: x.value,
              target: x.target,
              comparison: x.comparison,
            })),
            bands: Object.entries(c.perBand).map(([band, b]) => ({ band, meanEnergy: b.meanEnergy })),
          },
        }
      : {}),
  };
}

/** Whether every band separation of a calibration table met its target (null without one). */
export function separationsPass(
  checks: Array<{ name: string; pass: boolean | null }> | undefined,
): boolean | null {
  const separations = checks?.filter((c) => c.name.startsWith('separation.'));
  if (!separations?.length) return null;
  return separations.every((c) => c.pass === true);
}

/**
 * k-fold cross-validation of a matrix model: for every fold of the data set's own protocol, a new
 * model (seed + fold number) is fitted, thresholded and calibrated on that fold's train /
 * validation / calibration parts and evaluated on its test part. Nothing is saved.
 */
export async function crossValidateMatrix(
  config: TrainConfig,
  data: MatrixData,
  entry: MatrixModel,
  graded: boolean,
  k: number,
  progress: Progress,
): Promise<CrossValidationReport> {
  const t0 = performance.now();
  const plan = foldPlan(data, k);
  const outcomes: FoldOutcome[] = [];
  for (const [f, parts] of plan.folds.entries()) {
    progress.stage(
      `cross-validation: fold ${f + 1} of ${k} (${parts.train.X.rows} training rows, ${parts.test.X.rows} test rows)`,
    );
    const model = await fitMatrixModel(config, entry, parts, {
      graded,
      featureNames: data.featureNames,
      seed: config.seed + f + 1,
      onProgress: (e) => progress.step(`fold ${f + 1} epochs`, e.step, e.total),
    });
    try {
      outcomes.push(outcomeOf(await evaluateMatrixModel(model, parts, graded)));
    } finally {
      await release(model.detector);
    }
  }
  return report(config, k, plan.scheme, outcomes, t0);
}

/** k-fold cross-validation of a sequence model, as for matrix models. */
export async function crossValidateSequences(
  config: TrainConfig,
  data: SequenceData,
  entry: SequenceModel,
  params: Record<string, unknown>,
  k: number,
  progress: Progress,
): Promise<CrossValidationReport> {
  const t0 = performance.now();
  const plan = foldPlan(data, k);
  const outcomes: FoldOutcome[] = [];
  for (const [f, parts] of plan.folds.entries()) {
    progress.stage(`cross-validation: fold ${f + 1} of ${k} (${parts.test.sequences.length} test sequences)`);
    const model = await fitSequenceModel(config, entry, params, parts, config.seed + f + 1);
    outcomes.push({ metrics: (await evaluateSequenceModel(model, parts)).metrics });
  }
  return report(config, k, plan.scheme, outcomes, t0);
}

function foldPlan<P>(data: { folds?: (k: number) => { scheme: string; folds: P[] } }, k: number) {
  if (!data.folds) throw new Error('unreachable: every data set kind defines its folds');
  return data.folds(k);
}

function report(
  config: TrainConfig,
  k: number,
  scheme: string,
  outcomes: FoldOutcome[],
  t0: number,
): CrossValidationReport {
  const b = config.promotion.crossValidation;
  return {
    folds: k,
    scheme,
    bound: { kind: b.bound, sds: b.sds, label: boundLabel(b) },
    ...summarizeFolds(outcomes, b),
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The promotion gate applied to the cross-validation bound, so that one lucky split cannot
 * promote a model; undefined with bound `none`.
 */
export function crossValidationGate(
  cv: CrossValidationReport,
  kind: GateKind,
  promotion: TrainConfig['promotion'],
): GateResult | undefined {
  if (cv.bound.kind === 'none') return undefined;
  const bounds = Object.fromEntries(cv.metrics.map((m) => [m.name, m.bound ?? undefined]));
  const g = applyGate(kind, bounds, separationsPass(cv.severity?.checks), promotion);
  const prefix = `cross-validation (${cv.bound.label} over ${cv.folds} folds)`;
  return { promoted: g.promoted, reasons: g.reasons.map((r) => `${prefix}: ${r}`) };
}

/**
 * The data set's other splits (e.g. the random split beside a time split), each with a new model
 * fitted, thresholded and calibrated on its own parts and evaluated on its own test part.
 */
export async function evaluateViews(
  config: TrainConfig,
  data: MatrixData,
  entry: MatrixModel,
  graded: boolean,
  progress: Progress,
): Promise<SplitViewReport[]> {
  const out: SplitViewReport[] = [];
  for (const view of data.views ?? []) {
    progress.stage(`${view.name}: training a model for comparison (${view.parts.train.X.rows} rows)`);
    const model = await fitMatrixModel(config, entry, view.parts, {
      graded,
      featureNames: data.featureNames,
      seed: config.seed,
      onProgress: (e) => progress.step(`${view.name} epochs`, e.step, e.total),
    });
    try {
      const e = await evaluateMatrixModel(model, view.parts, graded);
      out.push({
        name: view.name,
        description: view.description,
        main: false,
        metrics: e.metrics,
        ...(e.severity ? { severityPass: e.severity.severity!.pass } : {}),
      });
    } finally {
      await release(model.detector);
    }
  }
  return out;
}
