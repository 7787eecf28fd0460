/**
 * Control points across the reader thread, sent once per content. A monitor reads the same fields
 * batch after batch (a course's fractions share their field's points), and the points are most of
 * a batch's bytes: copying them to the caller's thread, and collecting them there, cost more than
 * reading them. So the thread remembers what it sent for each field, sends an unchanged field's
 * points by name only, and the caller gives its records the array it received the first time.
 * Both sides hold the same fields: the thread decides which it forgets and says so in the answer.
 */
import { type LoadedRecords, sameControlPoints, type TxFieldPointRow } from '@anomalia/mosaiq';

/** Sent with a `loadRecords` answer: how the caller completes its records' control points. */
export interface PointsNote {
  /** Record index → field whose points, sent in an earlier answer, the record has. */
  readonly reused: readonly (readonly [record: number, field: number])[];
  /** Fields whose points arrive in this answer (the caller keeps them). */
  readonly sent: readonly number[];
  /** Fields the caller forgets after completing this answer's records. */
  readonly forgotten: readonly number[];
}

const NO_POINTS: TxFieldPointRow[] = [];

/** The thread's side: what the caller holds, by field, oldest first, up to `maxPoints` points. */
export class SentPoints {
  private readonly byField = new Map<number, readonly TxFieldPointRow[]>();
  private points = 0;

  constructor(private readonly maxPoints: number) {}

  /**
   * Replaces, in `loaded`, the control points of fields whose content the caller holds by an
   * empty array, and copies the others' leaf sets out of the batch's shared buffer (so what is
   * kept here, and sent, is only their own bytes). Returns the note to send with the answer, and
   * `commit`, to call once the answer is sent: only then does the caller hold what it says.
   */
  prepare(loaded: LoadedRecords): { note: PointsNote; commit(): void } {
    const reused: [number, number][] = [];
    const decided = new Map<readonly TxFieldPointRow[], { field: number; fresh: TxFieldPointRow[] | null }>();
    loaded.records.forEach((record, index) => {
      const points = record.controlPoints;
      if (points.length === 0) return;
      // Rows are read by FLD_ID, so it is set; were it not, the points go as they are.
      const field = points[0]!.FLD_ID;
      if (field === null) return;
      let decision = decided.get(points);
      if (!decision) {
        const held = this.byField.get(field);
        decision = { field, fresh: held && sameControlPoints(held, points) ? null : points.map(ownLeaves) };
        decided.set(points, decision);
      }
      if (decision.fresh === null) {
        reused.push([index, decision.field]);
        (record as { controlPoints: readonly TxFieldPointRow[] }).controlPoints = NO_POINTS;
      } else (record as { controlPoints: readonly TxFieldPointRow[] }).controlPoints = decision.fresh;
    });
    const touched = [...decided.values()];
    // The fields to forget once this answer's are held: the least recently used beyond the bound.
    const order = new Map(this.byField);
    let points = this.points;
    for (const { field, fresh } of touched) {
      const held = order.get(field)!;
      order.delete(field);
      if (fresh) points += fresh.length - (held?.length ?? 0);
      order.set(field, fresh ?? held);
    }
    const forgotten: number[] = [];
    for (const [field, rows] of order) {
      if (points <= this.maxPoints) break;
      forgotten.push(field);
      points -= rows.length;
    }
    return {
      note: { reused, sent: touched.filter((d) => d.fresh).map((d) => d.field), forgotten },
      commit: () => {
        for (const { field, fresh } of touched) {
          const rows = fresh ?? this.byField.get(field)!;
          this.byField.delete(field);
          this.byField.set(field, rows);
        }
        for (const field of forgotten) this.byField.delete(field);
        this.points = points;
      },
    };
  }
}

/**
 * The caller's side: the points it was sent, by field. `complete` gives an answer's records their
 * points, then forgets what the thread forgot. An array is shared by every record of its field in
 * every answer until the field's points change: treat it as read-only, as the direct reader's.
 */
export class HeldPoints {
  private readonly byField = new Map<number, readonly TxFieldPointRow[]>();

  get size(): number {
    return this.byField.size;
  }

  /** Completes `loaded` in place; throws when a field named is not held (the two sides disagree). */
  complete(loaded: LoadedRecords, note: PointsNote): void {
    const sent = new Set(note.sent);
    for (const record of loaded.records) {
      const field = record.controlPoints[0]?.FLD_ID;
      if (field != null && sent.has(field)) this.byField.set(field, record.controlPoints);
    }
    for (const [index, field] of note.reused) {
      const points = this.byField.get(field);
      if (!points) throw new Error(`control points of field ${field} were named but never received`);
      (loaded.records[index] as { controlPoints: readonly TxFieldPointRow[] }).controlPoints = points;
    }
    for (const field of note.forgotten) this.byField.delete(field);
  }
}

/** A row whose leaf sets own their bytes (the reader's view one buffer for the whole batch). */
function ownLeaves(row: TxFieldPointRow): TxFieldPointRow {
  return {
    ...row,
    A_Leaf_Set: row.A_Leaf_Set === null ? null : row.A_Leaf_Set.slice(),
    B_Leaf_Set: row.B_Leaf_Set === null ? null : row.B_Leaf_Set.slice(),
  };
}
