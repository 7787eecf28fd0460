import type { ChangeCursor, TreatmentReader, TreatmentSummary } from '@anomalia/mosaiq';
import type { ChangeBatch, ChangeSource, HistoryPage, TimeWindow } from '../seam';
import { mosaiqInstant, mosaiqWallClock } from './clock';

/** `changesSince` and `listTreatments` return at most this many rows per call. */
const MAX_PAGE = 10_000;
const FAR_FUTURE = new Date('9999-12-31T00:00:00Z');
const LOOKBACK = 'lookback';

/**
 * What the cursor saw of each changed treatment, for the scorer of the same batch: whether it is
 * a QA-mode or an incomplete beam is known before its record is read, so records the model does
 * not judge are never loaded. Holds the last few batches only.
 */
export class ChangeSummaries {
  private readonly batches: Map<string, TreatmentSummary>[] = [];
  constructor(private readonly keep = 4) {}

  record(items: readonly TreatmentSummary[]): void {
    this.batches.push(new Map(items.map((t) => [String(t.TTX_ID), t])));
    if (this.batches.length > this.keep) this.batches.shift();
  }

  get(id: string): TreatmentSummary | undefined {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const t = this.batches[i]!.get(id);
      if (t) return t;
    }
    return undefined;
  }
}

export interface CursorSourceOptions {
  /** Shown in logs and health: `sqlite`, `mssql`. */
  readonly kind: string;
  readonly reader: ChangeCursor & Pick<TreatmentReader, 'listTreatments'>;
  /** First start: how far back to begin (ms), or `all` for every row the cursor holds. */
  readonly lookback: number | 'all';
  /** Told what each batch's rows were (for the scorer). */
  readonly summaries?: ChangeSummaries;
  readonly now?: () => number;
}

/**
 * The monitor's ChangeSource over the change cursor of a Mosaiq adapter (`changesSince`: SQLite's
 * RowVers triggers, SQL Server's rowversion below MIN_ACTIVE_ROWVERSION()). It only reads.
 *
 * First start (no watermark): the cursor's safe point is taken, then the treatments created in the
 * lookback window are listed page by page (the watermark is `lookback:<from>:<safe point>:<page
 * cursor>`, so a restart resumes the listing), then the cursor continues from that safe point. A
 * row both listed and changed after the safe point is scored twice: alert keys make the second
 * time a no-op. Catching up after downtime is the cursor's own batching (`caughtUp` false until a
 * call returns less than the limit).
 *
 * Backfills page through `listTreatments` (`history`): the treatments created in a window of
 * instants, converted to the Mosaiq wall clock as the lookback is.
 */
export class CursorChangeSource implements ChangeSource {
  readonly kind: string;
  private readonly now: () => number;

  constructor(private readonly o: CursorSourceOptions) {
    this.kind = o.kind;
    this.now = o.now ?? Date.now;
  }

  async poll(watermark: string | null, limit: number): Promise<ChangeBatch> {
    const size = Math.min(limit, MAX_PAGE);
    if (watermark === null) {
      if (this.o.lookback === 'all') return this.changes(null, size);
      const safe = await this.o.reader.currentWatermark();
      const from = mosaiqWallClock(this.now() - this.o.lookback).getTime();
      return this.listing({ from, safe, cursor: null }, size);
    }
    if (watermark.startsWith(`${LOOKBACK}:`)) return this.listing(parseLookback(watermark), size);
    return this.changes(watermark, size);
  }

  async history(window: TimeWindow, cursor: string | null, limit: number): Promise<HistoryPage> {
    const from = mosaiqWallClock(window.from);
    const to = mosaiqWallClock(window.to);
    // A window inside the hour a clock turns back has no wall-clock span of its own: the times of
    // that hour belong to the window before it.
    if (from.getTime() >= to.getTime()) return { ids: [], next: null };
    const page = await this.o.reader.listTreatments({
      from,
      to,
      pageSize: Math.min(limit, MAX_PAGE),
      cursor,
    });
    this.o.summaries?.record(page.items);
    return { ids: uniqueIds(page.items), next: page.nextCursor };
  }

  private async changes(watermark: string | null, limit: number): Promise<ChangeBatch> {
    const page = await this.o.reader.changesSince(watermark, { limit });
    this.o.summaries?.record(page.items);
    return {
      ids: uniqueIds(page.items),
      watermark: page.watermark,
      caughtUp: !page.hasMore,
      newestChangeAt: newestChange(page.items),
    };
  }

  private async listing(state: LookbackState, limit: number): Promise<ChangeBatch> {
    const page = await this.o.reader.listTreatments({
      from: new Date(state.from),
      to: FAR_FUTURE,
      pageSize: limit,
      cursor: state.cursor,
    });
    this.o.summaries?.record(page.items);
    return {
      ids: uniqueIds(page.items),
      // The listing done, the cursor goes on from the safe point taken before it began.
      watermark:
        page.nextCursor === null ? state.safe : formatLookback({ ...state, cursor: page.nextCursor }),
      caughtUp: false,
      newestChangeAt: newestChange(page.items),
    };
  }
}

interface LookbackState {
  /** Start of the window (Mosaiq wall clock, ms). */
  readonly from: number;
  /** The cursor's safe point when the listing began. */
  readonly safe: string;
  readonly cursor: string | null;
}

const formatLookback = (s: LookbackState) => `${LOOKBACK}:${s.from}:${s.safe}:${s.cursor ?? ''}`;

function parseLookback(text: string): LookbackState {
  const m = /^lookback:(-?\d+):(0x[0-9a-f]{16}):(.*)$/.exec(text);
  if (!m) throw new Error(`state store: watermark "${text}" is not one this monitor wrote`);
  return { from: Number(m[1]), safe: m[2]!, cursor: m[3] === '' ? null : m[3]! };
}

function uniqueIds(items: readonly TreatmentSummary[]): string[] {
  const seen = new Set<string>();
  for (const t of items) seen.add(String(t.TTX_ID));
  return [...seen];
}

/** When the newest change of a batch happened: its latest Edit_DtTm or Create_DtTm, as an instant. */
function newestChange(items: readonly TreatmentSummary[]): number | null {
  let newest: number | null = null;
  for (const t of items) {
    const wall = t.Edit_DtTm ?? t.Create_DtTm;
    if (!wall) continue;
    const at = mosaiqInstant(wall);
    if (newest === null || at > newest) newest = at;
  }
  return newest;
}
