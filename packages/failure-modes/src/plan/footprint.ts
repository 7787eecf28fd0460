import type { Cohort } from '../cohort';
import type { FailureApplication } from '../failure-mode';

/**
 * What an application occupies: the records it affects or concerns, the rows it writes, and the
 * fields whose rows it writes or on which it inserts a treatment (a later change to such a field
 * would silently affect that record too).
 */
export interface Footprint {
  readonly ttx: ReadonlySet<number>;
  readonly fields: ReadonlySet<number>;
  readonly rows: ReadonlySet<string>;
}

/** The footprints claimed so far; an application is accepted only when its own is disjoint from them. */
export interface Claims {
  readonly records: ReadonlySet<number>;
  readonly fields: ReadonlySet<number>;
  /** The application's footprint when it is disjoint from every claim, else null. */
  fit(app: FailureApplication): Footprint | null;
  claim(footprint: Footprint): void;
}

export function createClaims(cohort: Cohort): Claims {
  const records = new Set<number>();
  const fields = new Set<number>();
  const rows = new Set<string>();

  const footprintOf = (app: FailureApplication): Footprint => {
    const ttx = new Set([...app.affectedTtxIds, ...app.contextTtxIds]);
    if (app.targetTtxId !== null) ttx.add(app.targetTtxId);
    const written = new Set<number>();
    for (const c of app.changes) {
      if (c.table === 'TxField') written.add(c.key);
      if (c.table === 'TxFieldPoint') {
        const fld = c.kind === 'update' ? cohort.row('TxFieldPoint', c.key)?.FLD_ID : c.row.FLD_ID;
        if (typeof fld === 'number') written.add(fld);
      }
      if (c.table === 'TrackTreatment' && c.kind === 'insert' && typeof c.row.FLD_ID === 'number') {
        written.add(c.row.FLD_ID);
      }
    }
    return { ttx, fields: written, rows: new Set(app.changes.map((c) => `${c.table}:${c.key}`)) };
  };

  return {
    records,
    fields,
    fit(app) {
      const f = footprintOf(app);
      const free =
        ![...f.ttx].some((x) => records.has(x)) &&
        ![...f.fields].some((x) => fields.has(x)) &&
        ![...f.rows].some((x) => rows.has(x));
      return free ? f : null;
    },
    claim(f) {
      for (const x of f.ttx) records.add(x);
      for (const x of f.fields) fields.add(x);
      for (const x of f.rows) rows.add(x);
    },
  };
}
