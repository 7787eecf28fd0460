import type { TrainingSet } from '@anomalia/qa-workflow';

/** Where each example of a Mosaiq training set came from: its leakage group and its time. */
export interface ExampleContext {
  /**
   * One id per example. Examples of the same patient share it, and so do the patients one
   * corruption touches together (its affected and context records), so a fold or split never
   * puts one patient, or one failure, on both sides.
   */
  groups: Int32Array;
  /** Create_DtTm of the source treatment (before any corruption; an inserted duplicate takes its original's), ms; NaN when unknown. */
  times: Float64Array;
  /** Distinct patients among the examples. */
  nPatients: number;
  largestGroup: number;
}

/** Union-find over patient ids. */
class Components {
  private parent = new Map<number, number>();
  find(x: number): number {
    let p = this.parent.get(x) ?? x;
    if (p === x) {
      this.parent.set(x, x);
      return x;
    }
    p = this.find(p);
    this.parent.set(x, p);
    return p;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/**
 * Groups and times of the examples, from the cohort as read from the source: an example's
 * source record is its application's target (for an inserted duplicate, the treatment it copies),
 * else the example itself. Times come from the source, so a corruption that moves a timestamp
 * does not move its example across a time split.
 */
export function exampleContext(set: TrainingSet): ExampleContext {
  const byId = new Map(set.cohort.records.map((r) => [r.treatment.TTX_ID, r.treatment]));
  const { examples, applications } = set.plan;
  const patientOf = (id: number) => byId.get(id)?.Pat_ID1 ?? null;
  const components = new Components();
  const sourcePatient: Array<number | null> = [];
  const times = new Float64Array(examples.length);
  examples.forEach((e, i) => {
    const app = e.application === null ? null : applications[e.application]!;
    const related = app ? [app.targetTtxId, e.ttxId, ...app.affectedTtxIds, ...app.contextTtxIds] : [e.ttxId];
    const source = related.map((id) => (id === null ? undefined : byId.get(id))).find((t) => t !== undefined);
    times[i] = source?.Create_DtTm?.getTime() ?? Number.NaN;
    const patients = related.flatMap((id) => {
      const p = id === null ? null : patientOf(id);
      return p === null ? [] : [p];
    });
    for (const p of patients.slice(1)) components.union(patients[0]!, p);
    sourcePatient.push(source?.Pat_ID1 ?? patients[0] ?? null);
  });
  // Examples without a known patient are groups of their own (negative ids never meet a patient's).
  const ids = new Map<number, number>();
  const groups = Int32Array.from(sourcePatient, (p, i) => {
    const key = p === null ? -1 - i : components.find(p);
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  });
  const sizes = new Map<number, number>();
  for (const g of groups) sizes.set(g, (sizes.get(g) ?? 0) + 1);
  return {
    groups,
    times,
    nPatients: new Set(sourcePatient.filter((p) => p !== null)).size,
    largestGroup: Math.max(0, ...sizes.values()),
  };
}
