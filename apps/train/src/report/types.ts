import type { OnnxExportRecord } from '../pipeline/onnx-export';
import type { OnnxModelInfo } from '../pipeline/onnx-model';

/** Everything the report shows, collected by the pipeline; charts and tables are derived from it. */
export interface ReportData {
  title: string;
  runId: string;
  createdAt: string;
  modelType: string;
  datasetKind: string;
  /** What the score is called in this run: "energy" for the EBM, "anomaly score" otherwise. */
  scoreName: string;
  backend?: string;
  seconds: Record<string, number>;
  metrics: Record<string, number | undefined>;
  threshold: number | null;
  thresholdStrategy?: string;
  history?: Array<{ epoch: number } & Record<string, number>>;
  /** Test-split rows (score, 0/1 label, graded severity when known). */
  test: Array<{ score: number; label: 0 | 1; severity?: number }>;
  confusion?: { title: string; labels: string[]; counts: number[][] };
  roc?: { fpr: number[]; tpr: number[] };
  pr?: { precision: number[]; recall: number[] };
  severity?: {
    bands: Array<{ band: string; lower: number; upper: number; count: number; meanEnergy: number | null }>;
    checks: Array<{ name: string; value: number | null; target: string; pass: boolean | null }>;
    pass: boolean;
  };
  featureImportance?: Array<{ feature: string; importance: number }>;
  /** How the importance was computed (gradient saliency or permutation). */
  featureImportanceMethod?: string;
  detection?: Array<{
    mode: string;
    variant: string;
    severity: number;
    n: number;
    detected: number;
    rate: number;
    heldOut: boolean;
  }>;
  timeline?: Array<{ t: number; score: number; label?: 0 | 1 }>;
  timelineAxis?: string;
  promotion?: { promoted: boolean; destination: string; reasons: string[] };
  notes?: string[];
  /** How the main split was made. */
  split?: { by: 'random' | 'time'; description: string };
  /** k-fold cross-validation, when `evaluation.folds` is set. */
  crossValidation?: CrossValidationReport;
  /** The main split beside other splits of the same data (random vs prospective). */
  splitViews?: SplitViewReport[];
  /** The ONNX model evaluated without fitting, or the ONNX export written beside the model. */
  onnx?: { evaluated?: OnnxModelInfo; export?: OnnxExportRecord };
}

/** One metric (or calibration check) over the folds of a cross-validation. */
export interface FoldStatistic {
  name: string;
  /** Per fold; null where the fold could not compute it (e.g. a band with no example). */
  values: Array<number | null>;
  mean: number | null;
  /** Sample standard deviation over the folds that have a value. */
  sd: number | null;
  min: number | null;
  max: number | null;
  /** The pessimistic bound the gate uses (mean − sds·sd, the worst fold, or the mean); null with bound none. */
  bound: number | null;
  higherIsBetter: boolean;
}

export interface CrossValidationReport {
  folds: number;
  /** How the folds were made (stratified, grouped, blocked …). */
  scheme: string;
  bound: { kind: 'mean-sd' | 'worst-fold' | 'mean' | 'none'; sds: number; label: string };
  metrics: FoldStatistic[];
  /** Seed 001's calibration table over the folds. */
  severity?: {
    checks: Array<FoldStatistic & { target: number; comparison: '<' | '>'; pass: boolean | null }>;
    /** Mean energy per true severity band. */
    bands: FoldStatistic[];
  };
  /** The promotion gate applied to the bound (absent with bound none). */
  gate?: { promoted: boolean; reasons: string[] };
  seconds: number;
}

/** One split of the data (the main one or another view), evaluated with its own model. */
export interface SplitViewReport {
  name: string;
  description: string;
  /** The run's own split (its model is the one saved and gated). */
  main: boolean;
  metrics: Record<string, number | undefined>;
  severityPass?: boolean | null;
}
