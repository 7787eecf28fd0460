import type {
  ChangeBatch,
  ChangeSource,
  HistoryPage,
  ModelIdentity,
  ScoredRecord,
  Scorer,
  TimeWindow,
} from '../seam';

/** A record as the in-memory source holds it: what a loader would read from the database. */
export interface MemoryRecord {
  readonly id: string;
  readonly patientId: string | null;
  readonly occurredAt: number | null;
  /** Feature values (the scorer's input). */
  readonly features: Readonly<Record<string, number>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly malicious?: { readonly probability: number; readonly indicators: readonly string[] } | null;
}

/**
 * A change source over an in-memory table with a change log, the way SQL Server's rowversion
 * works: every insert or edit takes the next version; a poll returns the ids changed after the
 * watermark in version order (an id edited twice appears once, at its latest version).
 */
export class MemoryChangeSource implements ChangeSource {
  readonly kind = 'memory';
  private readonly rows = new Map<string, MemoryRecord>();
  /** id → its latest version; versions ascend with every change. */
  private readonly versions = new Map<string, number>();
  /** Every change in version order (log[v - 1] is version v); superseded entries are skipped. */
  private readonly log: string[] = [];
  private failures: Error[] = [];

  /** Inserts or edits a record (a new version, as a database row write would). */
  upsert(record: MemoryRecord): void {
    this.rows.set(record.id, record);
    this.log.push(record.id);
    this.versions.set(record.id, this.log.length);
  }

  get(id: string): MemoryRecord | undefined {
    return this.rows.get(id);
  }

  /** Deletes a record: pollers that already hold its id find it missing when they load it. */
  delete(id: string): void {
    this.rows.delete(id);
  }

  /** The next `n` polls fail with `error` (an unreachable database). */
  failNext(n: number, error = new Error('connect ECONNREFUSED 127.0.0.1:1433')): void {
    this.failures = Array.from({ length: n }, () => error);
  }

  get size(): number {
    return this.rows.size;
  }

  async poll(watermark: string | null, limit: number): Promise<ChangeBatch> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const ids: string[] = [];
    let version = watermark === null ? 0 : Number(watermark);
    let last: number | undefined;
    while (version < this.log.length) {
      const id = this.log[version++]!;
      // Only an id's latest change counts (an edit supersedes the insert), as with a rowversion.
      if (this.versions.get(id) !== version) continue;
      if (ids.length === limit) {
        version--;
        break;
      }
      ids.push(id);
      last = version;
    }
    const caughtUp = !this.log.slice(version).some((id, i) => this.versions.get(id) === version + i + 1);
    return { ids, watermark: last === undefined ? watermark : String(last), caughtUp };
  }

  /** Records that occurred in the window, by (occurredAt, id); the cursor is the last id of the page. */
  async history(window: TimeWindow, cursor: string | null, limit: number): Promise<HistoryPage> {
    const inWindow = [...this.rows.values()]
      .filter((r) => r.occurredAt !== null && r.occurredAt >= window.from && r.occurredAt < window.to)
      .sort((a, b) => a.occurredAt! - b.occurredAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const from = cursor === null ? 0 : inWindow.findIndex((r) => r.id === cursor) + 1;
    const page = inWindow.slice(from, from + limit);
    const more = from + limit < inWindow.length;
    return { ids: page.map((r) => r.id), next: more ? page[page.length - 1]!.id : null };
  }

  /** A scorer over this source's records (reads the current row, as a loader would). */
  linearScorer(model: ModelIdentity, weights: Readonly<Record<string, number>>, bias = 0): LinearScorer {
    return new LinearScorer(model, weights, bias, (id) => this.rows.get(id));
  }
}

/**
 * A real (linear) energy model: energy = bias + Σ wᵢ·xᵢ, saliency = the terms wᵢ·xᵢ ordered by size.
 * Enough to drive triage end to end with energies that mean what the features say.
 */
export class LinearScorer implements Scorer {
  constructor(
    readonly model: ModelIdentity,
    private readonly weights: Readonly<Record<string, number>>,
    private readonly bias: number,
    private readonly load: (id: string) => MemoryRecord | undefined,
  ) {}

  async score(ids: readonly string[]): Promise<ScoredRecord[]> {
    const out: ScoredRecord[] = [];
    for (const id of ids) {
      const r = this.load(id);
      if (!r) continue;
      let energy = this.bias;
      const terms = Object.entries(r.features).map(([feature, value]) => {
        const contribution = (this.weights[feature] ?? 0) * value;
        energy += contribution;
        return { feature, value, contribution };
      });
      terms.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
      out.push({
        recordId: r.id,
        patientId: r.patientId,
        occurredAt: r.occurredAt,
        energy,
        saliency: terms.filter((t) => Number.isFinite(t.contribution) && t.contribution !== 0).slice(0, 5),
        malicious: r.malicious ?? null,
        ...(r.labels ? { labels: r.labels } : {}),
      });
    }
    return out;
  }
}
