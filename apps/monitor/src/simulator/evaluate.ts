import type { LedgerEntry } from './ledger';

/** The monitor's alerts and scores as the evaluation reads them (from the state store). */
export interface MonitorOutcome {
  /** Record id → band of its alert (absent: no alert). */
  readonly alerts: ReadonlyMap<string, string>;
  /** Record id → stored band of its score (`not_judged` for unjudged records). */
  readonly scores: ReadonlyMap<string, string>;
}

/** How the monitor did against the simulator's ledger. */
export interface Evaluation {
  /** Corruptions injected into a new delivery that the monitor has scored (K). */
  readonly injected: number;
  /** … of which alerted at all, and in the band of their (mode, variant). */
  readonly alerted: number;
  readonly rightBand: number;
  readonly rightBandFraction: number | null;
  readonly alertedFraction: number | null;
  /** Alerted one band away from the catalogue's band. */
  readonly adjacentBand: number;
  /** Clean deliveries the monitor scored, and how many it alerted on. */
  readonly clean: number;
  readonly falseAlerts: number;
  /** The false alerts by band (a page is `critical`). */
  readonly falseAlertsByBand: Readonly<Record<string, number>>;
  readonly falseAlertRate: number | null;
  /** Injected corruptions not yet scored (still in flight). */
  readonly pending: number;
  /** Their records and variants. */
  readonly pendingRecords: readonly { record: number; variant: string }[];
  /** Per (mode/variant): injected, right band, alerted. */
  readonly byVariant: Readonly<
    Record<string, { injected: number; rightBand: number; alerted: number; band: string }>
  >;
  /** Injected records the monitor missed or banded wrongly: record, expected band, got. */
  readonly misses: readonly { record: number; variant: string; expected: string; got: string | null }[];
}

const ORDER = ['normal', 'low', 'medium', 'high', 'critical'];

/**
 * Scores the monitor against the ledger: of the K corruptions injected into new deliveries and
 * scored, the share alerted in the catalogue's band of their (mode, variant); and of the clean
 * deliveries scored, the share alerted on (false alerts). Records whose truth is another role
 * (affected, context, inherited) count in neither.
 */
export function evaluate(ledger: readonly LedgerEntry[], outcome: MonitorOutcome): Evaluation {
  let injected = 0;
  let alerted = 0;
  let rightBand = 0;
  let adjacentBand = 0;
  let clean = 0;
  let falseAlerts = 0;
  const falseAlertsByBand: Record<string, number> = {};
  let pending = 0;
  const pendingRecords: { record: number; variant: string }[] = [];
  const byVariant: Record<string, { injected: number; rightBand: number; alerted: number; band: string }> =
    {};
  const misses: { record: number; variant: string; expected: string; got: string | null }[] = [];
  for (const e of ledger) {
    if (e.type !== 'treatment' || !e.delivery) continue;
    const id = String(e.ttxId);
    const scored = outcome.scores.get(id);
    const got = outcome.alerts.get(id) ?? null;
    if (e.truth === null) {
      if (scored === undefined) continue;
      clean++;
      if (got !== null) {
        falseAlerts++;
        falseAlertsByBand[got] = (falseAlertsByBand[got] ?? 0) + 1;
      }
      continue;
    }
    if (e.truth.role !== 'injected') continue;
    const key = `${e.truth.mode}/${e.truth.variant}`;
    if (scored === undefined) {
      pending++;
      pendingRecords.push({ record: e.ttxId, variant: key });
      continue;
    }
    byVariant[key] ??= { injected: 0, rightBand: 0, alerted: 0, band: e.truth.band };
    const v = byVariant[key];
    injected++;
    v.injected++;
    if (got !== null) {
      alerted++;
      v.alerted++;
    }
    if (got === e.truth.band) {
      rightBand++;
      v.rightBand++;
    } else {
      if (got !== null && Math.abs(ORDER.indexOf(got) - ORDER.indexOf(e.truth.band)) === 1) adjacentBand++;
      misses.push({ record: e.ttxId, variant: key, expected: e.truth.band, got });
    }
  }
  return {
    injected,
    alerted,
    rightBand,
    rightBandFraction: injected ? rightBand / injected : null,
    alertedFraction: injected ? alerted / injected : null,
    adjacentBand,
    clean,
    falseAlerts,
    falseAlertsByBand,
    falseAlertRate: clean ? falseAlerts / clean : null,
    pending,
    pendingRecords,
    byVariant,
    misses,
  };
}

/** A few lines for a person: K, right band, detected, false alerts. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)} %`);
  return [
    `injected corruptions scored: ${e.injected} (${e.pending} still in flight)`,
    `  alerted in the catalogue's band: ${e.rightBand} (${pct(e.rightBandFraction)}); one band off: ${e.adjacentBand}; alerted at all: ${e.alerted} (${pct(e.alertedFraction)})`,
    `clean deliveries scored: ${e.clean}; false alerts: ${e.falseAlerts} (${pct(e.falseAlertRate)})` +
      (e.falseAlerts
        ? ` by band: ${ORDER.filter((b) => e.falseAlertsByBand[b])
            .map((b) => `${b} ${e.falseAlertsByBand[b]}`)
            .join(', ')}`
        : ''),
  ].join('\n');
}
