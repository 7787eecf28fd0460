import { appendFileSync } from 'node:fs';
import { openTreatmentReader, type SqliteTreatmentReader } from '@anomalia/db-sqlite';
import type {
  ChangeBatch,
  ChangeSource,
  HistoryPage,
  ModelIdentity,
  ScoredRecord,
  Scorer,
  TimeWindow,
} from '../seam';

/**
 * A site over a real Mosaiq-shaped SQLite file (`@anomalia/db-sqlite`, opened read-only): the
 * change cursor is the reader's RowVers cursor, history its `listTreatments`, and the scorer
 * loads the records set-wise and applies a linear energy on the delivered meterset and the
 * number of control points. The distributed tests and the backfill benchmark use it; exactly-once
 * does not depend on the model.
 */
export interface SqliteSiteOptions {
  /** Per scoring call: a pause (so a kill lands mid-job) and a log of what was scored. */
  readonly delayMs?: number;
  /** Appends `begin <site> <n>`, one `<site> <id>` line per scored record, then `end <site>`. */
  readonly scoreLog?: string;
  readonly model?: ModelIdentity;
}

type TreatmentRecord = Awaited<ReturnType<SqliteTreatmentReader['loadRecords']>>['records'][number];

/** energy = meterset / 800 + control points / 1000: on the synthetic clinic about 15 % of records alert. */
export function linearEnergy(r: TreatmentRecord): number {
  const mu = r.field?.Meterset ?? 0;
  return mu / 800 + r.controlPoints.length / 1000;
}

export function sqliteSiteParts(
  path: string,
  site: string,
  options: SqliteSiteOptions = {},
): { source: ChangeSource; scorer: Scorer } {
  const reader = openTreatmentReader(path);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await reader.close();
  };
  const source: ChangeSource = {
    kind: 'sqlite',
    async poll(watermark: string | null, limit: number): Promise<ChangeBatch> {
      const page = await reader.changesSince(watermark, { limit: Math.min(limit, 10_000) });
      let newest: number | null = null;
      for (const t of page.items) {
        const at = (t.Edit_DtTm ?? t.Create_DtTm)?.getTime() ?? null;
        if (at !== null && (newest === null || at > newest)) newest = at;
      }
      return {
        ids: page.items.map((t) => String(t.TTX_ID)),
        watermark: page.watermark,
        caughtUp: !page.hasMore,
        newestChangeAt: newest,
      };
    },
    async history(window: TimeWindow, cursor: string | null, limit: number): Promise<HistoryPage> {
      const page = await reader.listTreatments({
        from: new Date(window.from),
        to: new Date(window.to),
        pageSize: Math.min(limit, 10_000),
        cursor,
      });
      return { ids: page.items.map((t) => String(t.TTX_ID)), next: page.nextCursor };
    },
    close,
  };
  const scorer: Scorer = {
    model: options.model ?? { name: 'linear', version: '1' },
    async score(ids: readonly string[]): Promise<ScoredRecord[]> {
      if (options.scoreLog) appendFileSync(options.scoreLog, `begin ${site} ${ids.length}\n`);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const { records } = await reader.loadRecords(ids.map(Number));
      const out = records.map((r): ScoredRecord => {
        const mu = r.field?.Meterset ?? 0;
        return {
          recordId: String(r.treatment.TTX_ID),
          patientId: r.treatment.Pat_ID1 === null ? null : String(r.treatment.Pat_ID1),
          occurredAt: r.treatment.Create_DtTm?.getTime() ?? null,
          energy: linearEnergy(r),
          saliency: [
            { feature: 'meterset', value: mu, contribution: mu / 800 },
            {
              feature: 'control_points',
              value: r.controlPoints.length,
              contribution: r.controlPoints.length / 1000,
            },
          ],
          labels: { machine: String(r.treatment.Machine_ID_Staff_ID ?? '') },
        };
      });
      if (options.scoreLog)
        appendFileSync(
          options.scoreLog,
          `${out.map((r) => `${site} ${r.recordId}`).join('\n')}${out.length ? '\n' : ''}end ${site}\n`,
        );
      return out;
    },
    close,
  };
  return { source, scorer };
}
