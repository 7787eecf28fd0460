import { CalibratorStateSchema, ThresholdSchema } from '@anomalia/core';
import { z } from 'zod';

/** onnxruntime session settings; unset ones keep onnxruntime's defaults (all cores for intra-op). */
export const OnnxSessionOptionsSchema = z.strictObject({
  /** Threads inside one operator (matrix products); 0 = onnxruntime's default. */
  intraOpNumThreads: z.number().int().min(0).max(1024).optional(),
  /** Threads across independent operators, with executionMode "parallel"; 0 = default. */
  interOpNumThreads: z.number().int().min(0).max(1024).optional(),
  executionMode: z.enum(['sequential', 'parallel']).optional(),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
});
export type OnnxSessionOptions = z.input<typeof OnnxSessionOptionsSchema>;

export const OnnxLoadOptionsSchema = z.strictObject({
  /**
   * Names of the input columns. Required for a model without Anomalia metadata whose input
   * width is symbolic; otherwise checked against the model (a mismatch is an error).
   */
  featureNames: z.array(z.string().min(1)).min(1).optional(),
  /** Decision threshold (score > threshold = anomalous): a number or a core Threshold. Overrides the model's. */
  threshold: z.union([z.number(), ThresholdSchema]).optional(),
  /** Calibrator state (Platt or isotonic) for predictProba. Overrides the model's. */
  calibrator: CalibratorStateSchema.optional(),
  /** The output holding the score; default: the one named "score", else the only output. */
  scoreOutput: z.string().min(1).optional(),
  /** Expected sha256 of the model file (lowercase hex): a different file is refused. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256')
    .optional(),
  /** Refuse model files above this many bytes (default 256 MiB). */
  maxBytes: z.number().int().positive().optional(),
  /** Rows per inference run: bounds memory on any data size. */
  batchSize: z.number().int().positive().default(65_536),
  session: OnnxSessionOptionsSchema.default({}),
});
export type OnnxLoadOptions = z.input<typeof OnnxLoadOptionsSchema>;
export type ParsedOnnxLoadOptions = z.output<typeof OnnxLoadOptionsSchema>;
