import type { CalibrationMethod, Detector, Threshold } from '@anomalia/core';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';

/** One split in the detector's input type, with 0/1 labels when known. */
export interface LabelledPart<Input> {
  X: Input;
  y?: Float64Array;
}

export const bothClasses = (y?: Float64Array): y is Float64Array =>
  Boolean(y?.some((v) => v === 1) && y?.some((v) => v === 0));

/**
 * Sets the detector's threshold on a split that is never the test split:
 * - the configured strategy: contamination on train, target-fpr on calibration (else validation),
 *   max-f1 / midpoint on validation (else calibration);
 * - by default: max-f1 on a labelled validation split, else a 1 % false-positive rate on the
 *   calibration split's normal rows, else the detector's default threshold from `fit`.
 */
export async function chooseThreshold<Input>(
  detector: Detector<Input>,
  parts: { train: LabelledPart<Input>; validation?: LabelledPart<Input>; calibration?: LabelledPart<Input> },
  configured: TrainConfig['threshold'],
): Promise<Threshold | null> {
  const { train, validation, calibration } = parts;
  const labelled = [validation, calibration].filter((p): p is LabelledPart<Input> => bothClasses(p?.y));
  if (configured) {
    switch (configured.strategy) {
      case 'fixed':
        return detector.fitThreshold(configured, train.X, { split: 'none' });
      case 'contamination':
        return detector.fitThreshold(configured, train.X, { split: 'train' });
      case 'target-fpr': {
        const p = calibration ?? validation;
        if (!p) return detector.fitThreshold(configured, train.X, { split: 'train' });
        return detector.fitThreshold(configured, p.X, {
          y: p.y,
          split: p === calibration ? 'calibration' : 'validation',
        });
      }
      case 'model':
        if (!detector.threshold)
          throw new ConfigError('threshold.strategy', 'a model that carries a threshold');
        return detector.threshold;
      default: {
        const p = labelled[0];
        if (!p)
          throw new Error(
            `threshold.strategy "${configured.strategy}" needs a validation or calibration split with both classes`,
          );
        return detector.fitThreshold(configured, p.X, {
          y: p.y,
          split: p === validation ? 'validation' : 'calibration',
        });
      }
    }
  }
  if (validation && bothClasses(validation.y))
    return detector.fitThreshold({ strategy: 'max-f1' }, validation.X, {
      y: validation.y,
      split: 'validation',
    });
  if (calibration)
    return detector.fitThreshold({ strategy: 'target-fpr', fpr: 0.01 }, calibration.X, {
      y: calibration.y,
      split: 'calibration',
    });
  return detector.threshold;
}

/** The held-out split calibration is fitted on: calibration, else validation, the first with both classes. */
export function calibrationPart<Input>(parts: {
  validation?: LabelledPart<Input>;
  calibration?: LabelledPart<Input>;
}): (LabelledPart<Input> & { y: Float64Array }) | undefined {
  return [parts.calibration, parts.validation].find((p): p is LabelledPart<Input> & { y: Float64Array } =>
    bothClasses(p?.y),
  );
}

/** The calibration to fit on a held-out split, or null when the model's own calibrator is kept (`model`). */
export function calibrationMethod(configured: TrainConfig['calibration']): CalibrationMethod | null {
  return configured === 'model' ? null : configured;
}
