import type { LongitudinalEvaluation } from '@anomalia/qa-workflow';

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
  /** Mosaiq with malicious modes: detection rate and delay of the longitudinal alarms per variant. */
  longitudinal?: LongitudinalEvaluation;
  timeline?: Array<{ t: number; score: number; label?: 0 | 1 }>;
  timelineAxis?: string;
  promotion?: { promoted: boolean; destination: string; reasons: string[] };
  notes?: string[];
}
