import type { Matrix } from '@anomalia/core';
import type { Sequence } from '@anomalia/sequence';

/** Per-row provenance for Mosaiq examples (which failure mode made the row, if any). */
export interface RowMeta {
  ttxId: number;
  mode: string | null;
  variant: string | null;
  severity: number;
  heldOut: boolean;
}

/** One split of a matrix data set. `y` is 0/1 when known; `target` is the graded target (severity) when known. */
export interface MatrixPart {
  X: Matrix;
  y?: Float64Array;
  target?: Float64Array;
  meta?: RowMeta[];
}

export type SplitName = 'train' | 'validation' | 'calibration' | 'test';

export interface MatrixParts {
  train: MatrixPart;
  validation?: MatrixPart;
  calibration?: MatrixPart;
  test: MatrixPart;
  /** Examples of held-out (mode, variant) pairs: never trained on, evaluated apart from the test split. */
  heldOut?: MatrixPart;
  /** Normal rows used neither for fitting nor for the threshold: their alarm rate is measured. */
  normalHoldout?: MatrixPart;
}

/** How the main split was made, shown in the report. */
export interface SplitInfo {
  /** `random` (stratified) or `time` (prospective: tested on the most recent rows). */
  by: 'random' | 'time';
  description: string;
}

/** The parts of every fold of a k-fold cross-validation, and how the folds were made. */
export interface FoldPlan<Parts> {
  scheme: string;
  folds: Parts[];
}

/** Another split of the same data, evaluated with a fresh model beside the main split. */
export interface SplitView<Parts> {
  name: string;
  description: string;
  parts: Parts;
}

export interface MatrixData {
  kind: 'matrix';
  featureNames: string[];
  parts: MatrixParts;
  split?: SplitInfo;
  /** The k folds of this data set's protocol (each with its own train / validation / calibration). */
  folds?: (k: number) => FoldPlan<MatrixParts>;
  /** E.g. the random split beside a time split. */
  views?: SplitView<MatrixParts>[];
  /** True when parts carry graded targets (severity 0–3) for supervised models. */
  graded: boolean;
  /** A whole series in time order, scored for the report's timeline (time series and IMS-style tabular). */
  timeline?: { X: Matrix; t: number[]; axis: string; y?: Float64Array };
  notes: string[];
  /** Extra files to write into the run directory (e.g. failure_mode_records.csv). */
  files?: Record<string, string>;
  /** Cleanup to run after training and evaluation (e.g. restore the sandbox). */
  finish?: () => Promise<Record<string, unknown>>;
}

export interface SequencePart {
  sequences: readonly Sequence[];
  y?: Float64Array;
}

export interface SequenceParts {
  train: SequencePart;
  validation?: SequencePart;
  calibration?: SequencePart;
  test: SequencePart;
}

export interface SequenceData {
  kind: 'sequences';
  parts: SequenceParts;
  split?: SplitInfo;
  folds?: (k: number) => FoldPlan<SequenceParts>;
  /** True when train holds both classes (supervised classifier), false for normal-only training. */
  labelledTrain: boolean;
  notes: string[];
  files?: Record<string, string>;
  finish?: () => Promise<Record<string, unknown>>;
}

export type PreparedData = MatrixData | SequenceData;
