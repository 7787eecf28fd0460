import { BAND_IDS, categorize, type SeverityBand } from './bands';
import { SeverityValidationError } from './errors';
import { assertSeverities } from './validate';

export interface DailyReport {
  readonly total: number;
  /** Findings per band (every band present, 0 when none). */
  readonly counts: Readonly<Record<SeverityBand, number>>;
  readonly hasCritical: boolean;
}

/** Counts a day's energies per band. Energies must be in [0, 3]; clip model output with `clampToScale`. */
export function dailyReport(energies: ArrayLike<number>): DailyReport {
  assertSeverities(energies, 'energies');
  const counts = Object.fromEntries(BAND_IDS.map((b) => [b, 0])) as Record<SeverityBand, number>;
  for (let i = 0; i < energies.length; i++) counts[categorize(energies[i]!, `energies[${i}]`)]++;
  return { total: energies.length, counts, hasCritical: counts.critical > 0 };
}

export interface DailyReportTextOptions {
  /** Shown in the title, e.g. `2025-10-26`; a Date is printed as its UTC calendar day. */
  readonly date?: string | Date;
  readonly title?: string;
}

export const CRITICAL_ALERT_LINE = '**CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED**';

/**
 * The report as text, in seed 001's layout:
 *
 *     Daily QA Report (2025-10-26)
 *       Normal: 40
 *       …
 *       Critical: 1
 *
 *     **CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED**
 *
 * The last line appears only when there is at least one critical finding.
 */
export function formatDailyReport(report: DailyReport, options: DailyReportTextOptions = {}): string {
  const title = options.title ?? 'Daily QA Report';
  const date = formatDate(options.date);
  const lines = [date ? `${title} (${date})` : title, `  Total: ${report.total}`];
  for (const band of BAND_IDS)
    lines.push(`  ${band[0]!.toUpperCase()}${band.slice(1)}: ${report.counts[band]}`);
  if (report.counts.critical > 0) lines.push('', CRITICAL_ALERT_LINE);
  return lines.join('\n');
}

function formatDate(date: string | Date | undefined): string | undefined {
  if (date === undefined) return undefined;
  if (date instanceof Date) {
    if (Number.isNaN(date.getTime()))
      throw new SeverityValidationError('options.date', 'a valid Date', 'Invalid Date');
    return date.toISOString().slice(0, 10);
  }
  if (typeof date !== 'string' || date.length === 0) {
    throw new SeverityValidationError('options.date', 'a non-empty string or a Date', date);
  }
  return date;
}
