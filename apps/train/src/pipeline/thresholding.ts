import type { Detector, Threshold } from '@anomalia/core';
import type { TrainConfig } from '../config/schema';
import type { MatrixPart } from '../data/types';

const bothClasses = (y?: Float64Array) => Boolean(y?.some((v) => v === 1) && y?.some((v) => v === 0));

/**
 * Sets the detector's threshold on a split that is never the test split:
 * - the configured strategy: contamination on train, target-fpr on calibration (else validation),
 *   max-f1 / midpoint on validation (else calibration);
 * - by default: max-f1 on a labelled validation split, else a 1 % false-positive rate on the
 *   calibration split's normal rows, else the model's own contamination threshold.
 */
export async function chooseThreshold(
  detector: Detector,
  parts: { train: MatrixPart; validation?: MatrixPart; calibration?: MatrixPart },
  configured: TrainConfig['threshold'],
): Promise<Threshold | null> {
  const { train, validation, calibration } = parts;
  const labelled = [validation, calibration].filter((p): p is MatrixPart => bothClasses(p?.y));
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
