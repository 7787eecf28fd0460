import type { Matrix } from '@anomalia/core';
import type { TableName } from '@anomalia/mosaiq';
import { DriftWindow, type FeatureReference } from '@anomalia/qa-workflow';
import type { FitAssessment } from '../seam';

/** Judged records before the share that would alert is judged. */
const ALERT_SHARE_MIN = 50;

export interface FitGuardOptions {
  /** The model's training reference; null: drift cannot be checked (said so in the assessment). */
  readonly reference: FeatureReference | null;
  /** Tables the model was trained with that the source lacks (allowed by `model.missingTables: warn`). */
  readonly missingTables: readonly TableName[];
  /** Judged records in the rolling window. */
  readonly window: number;
  /** Judged records needed before a verdict on drift. */
  readonly minRecords: number;
  /** A feature whose PSI exceeds this has shifted (0.25: the usual "major shift"). */
  readonly psiThreshold: number;
  /** The model does not fit when more than this share of the features has shifted. */
  readonly maxShiftedShare: number;
  /** … or when more than this share of the window's judged records would alert. */
  readonly maxAlertShare: number;
}

/**
 * The data-mismatch guard: does the model fit this database? It bins the features of every judged
 * record on the model's training reference over a rolling window and computes each feature's
 * population stability index (PSI). A model trained on one clinic and pointed at another sees
 * many features shift at once (durations, MU, leaf positions, offsets...), and would alert on most
 * records; a few corrupted records move no feature's distribution much. The verdict is
 * `mismatch` when too many features shifted, when the window would alert on too large a share of
 * records, or when tables the model was trained with are missing from the source.
 */
export class FitGuard {
  private readonly drift: DriftWindow | null;
  private readonly alerting: Uint8Array;
  private alertCount = 0;
  private seen = 0;
  private next = 0;
  private cached: FitAssessment | null = null;

  constructor(private readonly o: FitGuardOptions) {
    this.drift = o.reference ? new DriftWindow(o.reference, o.window) : null;
    this.alerting = new Uint8Array(o.window);
  }

  /** Adds a batch of judged records: their features (reference order) and whether each would alert. */
  observe(X: Matrix, alerts: ArrayLike<boolean>): void {
    this.drift?.add(X);
    for (let i = 0; i < alerts.length; i++) {
      const full = this.seen >= this.o.window;
      if (full) this.alertCount -= this.alerting[this.next]!;
      const a = alerts[i] ? 1 : 0;
      this.alerting[this.next] = a;
      this.alertCount += a;
      this.next = (this.next + 1) % this.o.window;
      if (!full) this.seen++;
    }
    this.cached = null;
  }

  assessment(): FitAssessment {
    if (this.cached) return this.cached;
    const size = Math.min(this.seen, this.o.window);
    const alertShare = size ? this.alertCount / size : 0;
    const drift = this.drift?.drift() ?? [];
    const shifted = drift.filter((d) => d.psi > this.o.psiThreshold);
    const features = this.o.reference?.features.length ?? 0;
    const reasons: string[] = [];
    if (this.o.missingTables.length)
      reasons.push(
        `the model was trained with the ${this.o.missingTables.join(', ')} table(s), which this source lacks`,
      );
    const enough = size >= this.o.minRecords;
    if (enough && features && shifted.length / features > this.o.maxShiftedShare)
      reasons.push(
        `${shifted.length} of ${features} features are distributed unlike the training normals (PSI > ${this.o.psiThreshold}): ${shifted
          .slice(0, 6)
          .map((d) => `${d.feature} ${d.psi.toFixed(2)}`)
          .join(', ')}${shifted.length > 6 ? ', …' : ''}`,
      );
    // A flood shows sooner than drift: judged from ALERT_SHARE_MIN records on.
    if (size >= Math.min(ALERT_SHARE_MIN, this.o.minRecords) && alertShare > this.o.maxAlertShare)
      reasons.push(
        `${(alertShare * 100).toFixed(0)} % of the last ${size} judged records would alert (more than ${(this.o.maxAlertShare * 100).toFixed(0)} %)`,
      );
    const status = reasons.length ? 'mismatch' : !enough ? 'warming_up' : this.drift ? 'fits' : 'unchecked';
    this.cached = {
      status,
      reasons,
      window: size,
      alertShare,
      missingTables: [...this.o.missingTables],
      shifted: shifted.slice(0, 20).map((d) => ({ feature: d.feature, psi: d.psi })),
      features,
      referenceRows: this.o.reference?.rows.count ?? null,
    };
    return this.cached;
  }
}
