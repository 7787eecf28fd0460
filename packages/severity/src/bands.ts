import { SeverityValidationError } from './errors';
import { assertSeverity, SCALE_MAX } from './validate';

/** The five bands of the 0–3 scale, least to most severe. */
export const BAND_IDS = ['normal', 'low', 'medium', 'high', 'critical'] as const;
export type SeverityBand = (typeof BAND_IDS)[number];

export interface BandDefinition {
  readonly id: SeverityBand;
  /** Inclusive lower bound. */
  readonly min: number;
  /** Upper bound: exclusive, except for `critical`, which includes 3.0. */
  readonly max: number;
  readonly maxInclusive: boolean;
  /**
   * The range seed 001 documents for the band. The documented ranges leave gaps
   * ((0.4, 0.5), (0.8, 1.0), (1.5, 1.8), (2.3, 2.5)); `min`/`max` close them.
   */
  readonly documented: { readonly min: number; readonly max: number };
  readonly description: string;
}

/**
 * normal < 0.4 ≤ low < 1.0 ≤ medium < 1.8 ≤ high < 2.5 ≤ critical ≤ 3.0.
 *
 * Each threshold is where seed 001's next, more severe range is taken to begin (0.4 is the
 * seed's "any energy > 0.4 indicates potential issues"; 1.0, 1.8 and 2.5 are documented lower
 * bounds). So a value in a gap between documented ranges is filed in the band below the gap,
 * except (0.4, 0.5), which is already an anomaly and so is low: 0.9 → low, 2.4 → high.
 */
export const SEVERITY_BANDS: readonly BandDefinition[] = Object.freeze([
  band('normal', 0, 0.4, false, [0, 0.4], 'Normal: no detected issue'),
  band('low', 0.4, 1.0, false, [0.5, 0.8], 'Low severity: data quality issue, minimal risk'),
  band('medium', 1.0, 1.8, false, [1.0, 1.5], 'Medium severity: data integrity or workflow issue, low risk'),
  band('high', 1.8, 2.5, false, [1.8, 2.3], 'High severity: delivery or record integrity compromised'),
  band(
    'critical',
    2.5,
    SCALE_MAX,
    true,
    [2.5, 3.0],
    'Critical severity: safety risk (wrong subject, position or dose), immediate intervention',
  ),
]);

function band(
  id: SeverityBand,
  min: number,
  max: number,
  maxInclusive: boolean,
  documented: [number, number],
  description: string,
): BandDefinition {
  return Object.freeze({
    id,
    min,
    max,
    maxInclusive,
    documented: Object.freeze({ min: documented[0], max: documented[1] }),
    description,
  });
}

/** The lower bound of each band above `normal`: 0.4, 1.0, 1.8, 2.5. */
export const BAND_THRESHOLDS = Object.freeze({ low: 0.4, medium: 1.0, high: 1.8, critical: 2.5 });

/** The band a severity or energy falls in. Throws on NaN, ±Infinity and values outside [0, 3]. */
export function categorize(value: number, field = 'value'): SeverityBand {
  assertSeverity(value, field);
  if (value < BAND_THRESHOLDS.low) return 'normal';
  if (value < BAND_THRESHOLDS.medium) return 'low';
  if (value < BAND_THRESHOLDS.high) return 'medium';
  if (value < BAND_THRESHOLDS.critical) return 'high';
  return 'critical';
}

/** The definition of a band (bounds, documented range, description). */
export function getBand(id: SeverityBand): BandDefinition {
  const found = SEVERITY_BANDS.find((b) => b.id === id);
  if (!found) throw new SeverityValidationError('band', `one of ${BAND_IDS.join(', ')}`, id);
  return found;
}

/** A one-line description of the band `value` falls in. */
export function describeSeverity(value: number): string {
  return getBand(categorize(value)).description;
}

/** True when `value` is an anomaly (≥ 0.4), the binary cut used by the calibration check. */
export function isAnomalous(value: number): boolean {
  return categorize(value) !== 'normal';
}

/**
 * True when `value` lies in one of the gaps between seed 001's documented ranges (e.g. 0.9 or
 * 2.4). Such values are still filed in a band by `categorize`; this only flags them for review.
 */
export function isInDocumentedGap(value: number): boolean {
  const b = getBand(categorize(value));
  return value < b.documented.min || value > b.documented.max;
}

/** Band order, for comparisons: normal = 0 … critical = 4. */
export function bandRank(id: SeverityBand): number {
  const rank = BAND_IDS.indexOf(id);
  if (rank < 0) throw new SeverityValidationError('band', `one of ${BAND_IDS.join(', ')}`, id);
  return rank;
}
