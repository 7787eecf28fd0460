import { createSandbox, openSandboxWriter, openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import { tempDir } from '@anomalia/db-sqlite/testing';
import type { TrackTreatmentRow } from '@anomalia/mosaiq';
import { afterAll, describe, expect, it } from 'vitest';
import { mosaiqInstant, mosaiqWallClock } from './clock';
import { ChangeSummaries, CursorChangeSource } from './cursor-source';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const DAY = 86_400_000;

/** A sandbox clinic whose last day is yesterday, so a lookback window holds part of it. */
function recentClinic(name: string, records: number) {
  const path = tmp.path(name);
  const today = Math.floor(mosaiqWallClock(Date.now()).getTime() / DAY) * DAY;
  createSandbox(path, { clinic: { seed: 3, records, start: new Date(today - 3 * DAY) } });
  return path;
}

async function drain(source: CursorChangeSource, from: string | null, limit: number) {
  const ids: string[] = [];
  let watermark = from;
  const watermarks: (string | null)[] = [];
  for (let i = 0; i < 1000; i++) {
    const b = await source.poll(watermark, limit);
    ids.push(...b.ids);
    watermark = b.watermark;
    watermarks.push(watermark);
    if (b.caughtUp) return { ids, watermark, watermarks };
  }
  throw new Error('never caught up');
}

describe('the change cursor as the monitor source (SQLite)', () => {
  it('starts with the lookback window, resumes a listing after a restart, then follows the cursor', async () => {
    const path = recentClinic('lookback.sqlite', 3000);
    const reader = openTreatmentReader(path);
    try {
      const all = reader.listTreatmentsSync({
        from: new Date(0),
        to: new Date('9999-01-01'),
        pageSize: 10_000,
      }).items;
      const lookback = 2 * DAY;
      const from = mosaiqWallClock(Date.now() - lookback).getTime();
      const inWindow = all
        .filter((t) => t.Create_DtTm && t.Create_DtTm.getTime() >= from)
        .map((t) => String(t.TTX_ID));
      expect(inWindow.length).toBeGreaterThan(100);
      expect(inWindow.length).toBeLessThan(all.length);

      const summaries = new ChangeSummaries();
      const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback, summaries });
      // First start: a page of the window, and a watermark that resumes the listing.
      const first = await source.poll(null, 50);
      expect(first.caughtUp).toBe(false);
      expect(first.watermark).toMatch(/^lookback:/);
      expect(summaries.get(first.ids[0]!)?.TTX_ID).toBe(Number(first.ids[0]));
      // A restarted monitor (a new source) carries on from the persisted watermark.
      const again = new CursorChangeSource({ kind: 'sqlite', reader, lookback });
      const rest = await drain(again, first.watermark, 50);
      expect([...first.ids, ...rest.ids]).toEqual(inWindow);
      // The listing done, the cursor goes on from the safe point taken before it: nothing new yet.
      expect(rest.watermark).toBe(reader.currentWatermarkSync());
      const idle = await source.poll(rest.watermark, 50);
      expect(idle).toMatchObject({ ids: [], caughtUp: true, watermark: rest.watermark });

      // New and edited treatments reach it through the cursor, each once, in commit order.
      const writer = openSandboxWriter(path);
      const template = all[all.length - 1]!;
      const [row] = reader.loadRecordsSync([template.TTX_ID]).records.map((r) => r.treatment);
      const now = mosaiqWallClock(Date.now());
      const fresh: TrackTreatmentRow = { ...row!, TTX_ID: 9_000_001, Create_DtTm: now, Edit_DtTm: now };
      writer.applySync(
        [{ kind: 'insert', table: 'TrackTreatment', key: fresh.TTX_ID, row: fresh as never }],
        {
          label: 'new',
        },
      );
      writer.applySync(
        [
          {
            kind: 'update',
            table: 'TrackTreatment',
            key: all[0]!.TTX_ID,
            column: 'WasQAMode',
            oldValue: all[0]!.WasQAMode,
            newValue: !all[0]!.WasQAMode,
          },
        ],
        { label: 'edit' },
      );
      const changed = await drain(source, rest.watermark, 50);
      expect(changed.ids).toEqual(['9000001', String(all[0]!.TTX_ID)]);
      const batch = await source.poll(rest.watermark, 10);
      // The newest change's time, as an instant (lag = now − it).
      expect(Math.abs((batch.newestChangeAt ?? 0) - mosaiqInstant(now))).toBeLessThan(1000);
      await writer.close();
    } finally {
      reader.closeSync();
    }
  });

  it('with lookback "all" catches up over every row in batches, and an empty poll keeps its place', async () => {
    const path = recentClinic('all.sqlite', 2500);
    const before = tableChecksum(path);
    const reader = openTreatmentReader(path);
    try {
      const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: 'all' });
      const { ids, watermarks } = await drain(source, null, 700);
      expect(ids).toHaveLength(2500);
      expect(new Set(ids).size).toBe(2500);
      expect(watermarks).toHaveLength(4);
      const idle = await source.poll(watermarks[3]!, 700);
      expect(idle.ids).toEqual([]);
      expect(idle.watermark).toBe(watermarks[3]);
    } finally {
      reader.closeSync();
    }
    expect(tableChecksum(path)).toBe(before);
  });

  it('lists the history of a time window page by page, for backfills (treatment time as the clinic’s wall clock)', async () => {
    const path = recentClinic('history.sqlite', 2000);
    const reader = openTreatmentReader(path);
    try {
      const all = reader.listTreatmentsSync({
        from: new Date(0),
        to: new Date('9999-01-01'),
        pageSize: 10_000,
      }).items;
      const summaries = new ChangeSummaries();
      const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: 'all', summaries });
      // Windows of instants (as `backfill --from --to` gives them), one day each over the clinic.
      const first = mosaiqInstant(all[0]!.Create_DtTm!);
      const last = mosaiqInstant(all[all.length - 1]!.Create_DtTm!);
      const seen: string[] = [];
      let pages = 0;
      for (let from = first - DAY / 2; from <= last; from += DAY) {
        const window = { from, to: from + DAY };
        let cursor: string | null = null;
        do {
          const page = await source.history(window, cursor, 300);
          pages++;
          for (const id of page.ids) {
            const t = summaries.get(id)!;
            // Each page's rows are known to the scorer of the same process (QA mode, completion).
            expect(t.TTX_ID).toBe(Number(id));
            const at = mosaiqInstant(t.Create_DtTm!);
            expect(at).toBeGreaterThanOrEqual(window.from);
            expect(at).toBeLessThan(window.to);
          }
          seen.push(...page.ids);
          cursor = page.next;
        } while (cursor !== null);
      }
      // Every treatment once, in the order of creation.
      expect(seen).toEqual(all.map((t) => String(t.TTX_ID)));
      expect(pages).toBeGreaterThan(all.length / 300);
      expect(await source.history({ from: last + DAY, to: last + 2 * DAY }, null, 300)).toEqual({
        ids: [],
        next: null,
      });
    } finally {
      reader.closeSync();
    }
  });

  it('refuses a watermark it did not write', async () => {
    const reader = openTreatmentReader(recentClinic('bad.sqlite', 1000));
    try {
      const source = new CursorChangeSource({ kind: 'sqlite', reader, lookback: DAY });
      await expect(source.poll('lookback:12:nope:', 10)).rejects.toThrow(/not one this monitor wrote/);
      await expect(source.poll('0xnothex', 10)).rejects.toThrow(/watermark/);
    } finally {
      reader.closeSync();
    }
  });
});
