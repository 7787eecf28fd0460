import type { Rng } from '@anomalia/core';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import type { FailureApplication } from '../failure-mode';
import type { LabelledExample, RecordLabel } from '../plan';
import type { Claims } from './footprint';
import type { Slot } from './pairs';

/**
 * Stage 5: one example per application (its primary record), a label for every record an
 * application affects, and the records that may be neither examples nor normal: affected
 * non-primary records (shared-field siblings) and context records.
 */
export function labelApplications(
  applications: readonly FailureApplication[],
  slotOf: readonly Slot[],
): { examples: LabelledExample[]; labels: RecordLabel[]; excluded: Set<number> } {
  const examples: LabelledExample[] = applications.map((app, i) => ({
    ttxId: app.primaryTtxId,
    mode: app.mode,
    variant: app.variant,
    kind: app.kind,
    severity: app.severity,
    band: app.band,
    stratum: slotOf[i]!.stratum,
    application: i,
  }));
  const labels: RecordLabel[] = [];
  const excluded = new Set<number>();
  applications.forEach((app, i) => {
    for (const id of app.affectedTtxIds) {
      labels.push({
        ttxId: id,
        mode: app.mode,
        variant: app.variant,
        severity: app.severity,
        application: i,
        primary: id === app.primaryTtxId,
      });
      if (id !== app.primaryTtxId) excluded.add(id);
    }
    for (const id of app.contextTtxIds) excluded.add(id);
  });
  labels.sort((a, b) => a.ttxId - b.ttxId);
  return { examples, labels, excluded };
}

/**
 * Stage 6: up to `count` normal examples, drawn with `rng` among the population's records that no
 * change affects, that no application concerns, and whose field no change writes. TTX_IDs ascending.
 */
export function drawNormals(
  population: readonly TreatmentRecord[],
  claims: Claims,
  excluded: ReadonlySet<number>,
  count: number,
  rng: Rng,
): number[] {
  const pool = population.filter(
    (r) =>
      !claims.records.has(r.treatment.TTX_ID) &&
      !excluded.has(r.treatment.TTX_ID) &&
      (r.treatment.FLD_ID === null || !claims.fields.has(r.treatment.FLD_ID)),
  );
  const n = Math.min(count, pool.length);
  return Array.from(rng.sampleIndices(pool.length, n), (i) => pool[i]!.treatment.TTX_ID).sort(
    (a, b) => a - b,
  );
}

/** A normal (clean) example. */
export const normalExample = (ttxId: number): LabelledExample => ({
  ttxId,
  mode: null,
  variant: null,
  kind: null,
  severity: 0,
  band: 'normal',
  stratum: 'normal',
  application: null,
});
