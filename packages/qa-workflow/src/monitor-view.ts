import type { Cohort } from '@anomalia/failure-modes';
import type { Change } from '@anomalia/mosaiq';

/**
 * The treatments whose own rows a set of changes writes: their TrackTreatment row (or an inserted
 * one), their Dose_Hst row, or the session Offset they use (an Offset row belongs to the session
 * it was acquired in). A monitor reading each treatment as it is delivered sees these corrupted;
 * a change to rows every fraction shares (TxField, TxFieldPoint, Site) it only sees from the
 * fractions it reads after the change.
 */
export function treatmentsWithOwnRowsChanged(cohort: Cohort, changes: readonly Change[]): Set<number> {
  const ids = new Set<number>();
  const offsets = new Set<number>();
  for (const c of changes) {
    if (c.table === 'TrackTreatment') ids.add(c.key);
    if (c.table === 'Dose_Hst') for (const t of cohort.treatmentsOf('DHS_ID', c.key)) ids.add(t.TTX_ID);
    if (c.table === 'Offset') offsets.add(c.key);
  }
  if (offsets.size > 0) {
    for (const r of cohort.records) if (r.offset && offsets.has(r.offset.OFF_ID)) ids.add(r.treatment.TTX_ID);
  }
  return ids;
}
