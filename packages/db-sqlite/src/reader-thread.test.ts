import { isDeepStrictEqual } from 'node:util';
import { ValidationError } from '@anomalia/core';
import type { LoadedRecords, Watermark } from '@anomalia/mosaiq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTreatmentReader, type SqliteTreatmentReader } from './reader';
import {
  openThreadedTreatmentReader,
  type ThreadedTreatmentReader,
  terminateReaderThread,
} from './reader-thread';
import { createSandbox } from './sandbox';
import { SchemaError } from './schema';
import { gantryChanges } from './test-support/crash';
import { expectSameRecords } from './test-support/records';
import { plainDatabase, tempDir } from './testing/fixtures';
import { HeldPoints } from './thread-points';
import { openSandboxWriter } from './writer';

const tmp = tempDir();
const path = tmp.path('sandbox.sqlite');
let direct: SqliteTreatmentReader;
let threaded: ThreadedTreatmentReader;
const from = new Date('2000-01-01T00:00:00Z');
const to = new Date('2100-01-01T00:00:00Z');

beforeAll(async () => {
  // A sandbox with one applied run, so unrestoredRuns has something to return.
  createSandbox(path, { clinic: { seed: 21, records: 1500 } });
  const writer = openSandboxWriter(path);
  await writer.apply(gantryChanges(path).slice(0, 3), { label: 'three gantry angles' });
  writer.closeSync();
  direct = openTreatmentReader(path);
  threaded = await openThreadedTreatmentReader(path);
});
afterAll(async () => {
  await threaded?.close();
  direct?.closeSync();
  tmp.cleanup();
});

/** Every TTX_ID of the clinic, in listing order. */
async function allIds(): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await direct.listTreatments({ from, to, pageSize: 1000, cursor });
    ids.push(...page.items.map((i) => i.TTX_ID));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return ids;
}

describe('openThreadedTreatmentReader', () => {
  it('lists the same pages, cursors included', async () => {
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = { from, to, pageSize: 400, cursor, qaMode: 'exclude' as const };
      const mine = await threaded.listTreatments(query);
      expect(mine).toEqual(await direct.listTreatments(query));
      expect(mine.items[0]?.Create_DtTm).toBeInstanceOf(Date);
      cursor = mine.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBeGreaterThan(2);
  });

  it('loads the same records (control points, leaf sets, missing ids) and keeps shared arrays shared', async () => {
    const ids = (await allIds()).filter((_, i) => i % 4 === 0).slice(0, 300);
    const asked = [...ids, 999_999_991, 999_999_992];
    const mine = await threaded.loadRecords(asked);
    const theirs = await direct.loadRecords(asked);
    expect(mine.missingIds).toEqual([999_999_991, 999_999_992]);
    expect(mine.missingIds).toEqual(theirs.missingIds);
    expect(mine.records.length).toBe(300);
    expectSameRecords(mine.records, theirs.records);
    const points = mine.records.flatMap((r) => r.controlPoints);
    expect(points.length).toBeGreaterThan(1000);
    const leaves = points.map((p) => p.A_Leaf_Set).filter((b) => b !== null);
    expect(leaves.length).toBeGreaterThan(1000);
    for (const b of leaves.slice(0, 50)) expect(b).toBeInstanceOf(Uint8Array);
    // Records of the same field share one control-point array, across the thread too.
    const byField = new Map<number, unknown>();
    let shared = 0;
    for (const r of mine.records) {
      const f = r.treatment.FLD_ID;
      if (f === null) continue;
      if (byField.has(f)) {
        expect(r.controlPoints).toBe(byField.get(f));
        shared++;
      } else byField.set(f, r.controlPoints);
    }
    expect(shared).toBeGreaterThan(0);
    expect(await threaded.loadRecords([])).toEqual({ records: [], missingIds: [] });
  });

  it('pages the change cursor the same way, watermarks included', async () => {
    let watermark: Watermark | null = null;
    let pages = 0;
    let hasMore = true;
    while (hasMore) {
      const mine = await threaded.changesSince(watermark, { limit: 600 });
      const theirs = await direct.changesSince(watermark, { limit: 600 });
      expect(isDeepStrictEqual(mine, theirs)).toBe(true);
      watermark = mine.watermark;
      hasMore = mine.hasMore;
      pages++;
    }
    expect(pages).toBeGreaterThan(2);
    expect(await threaded.currentWatermark()).toBe(await direct.currentWatermark());
    expect((await threaded.changesSince(watermark)).items).toEqual([]);
  });

  it('answers maxKeys, tablePresence and unrestoredRuns as the direct reader does', async () => {
    expect(await threaded.maxKeys()).toEqual(direct.maxKeys());
    expect(await threaded.tablePresence()).toEqual(direct.tablePresence());
    const runs = await threaded.unrestoredRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.appliedAt).toBeInstanceOf(Date);
    expect(runs).toEqual(direct.unrestoredRuns());
  });

  it('answers two concurrent loads, each with its own records', async () => {
    const ids = await allIds();
    const a = ids.slice(0, 400);
    const b = ids.slice(400, 800).reverse();
    const [ra, rb] = await Promise.all([threaded.loadRecords(a), threaded.loadRecords(b)]);
    expect(ra.records.map((r) => r.treatment.TTX_ID)).toEqual(a);
    expect(rb.records.map((r) => r.treatment.TTX_ID)).toEqual(b);
    expectSameRecords(ra.records, (await direct.loadRecords(a)).records);
    expectSameRecords(rb.records, (await direct.loadRecords(b)).records);
  });

  it('rethrows a ValidationError as a ValidationError, field and message as thrown', async () => {
    const expected = await direct.loadRecords([1, 2.5]).catch((e: unknown) => e);
    expect(expected).toBeInstanceOf(ValidationError);
    const error = await threaded.loadRecords([1, 2.5]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      name: 'ValidationError',
      field: 'ids[1]',
      expected: 'a TTX_ID integer',
      received: 2.5,
      message: (expected as Error).message,
    });
    const limit = await threaded.changesSince(null, { limit: 0 }).catch((e: unknown) => e);
    expect(limit).toBeInstanceOf(ValidationError);
    expect((limit as ValidationError).field).toBe('options.limit');
    const watermark = await threaded.changesSince('not a watermark').catch((e: unknown) => e);
    expect(watermark).toMatchObject({ name: 'ValidationError', field: 'watermark' });
    // An argument structured clone refuses is named, not a crash of the thread.
    await expect(threaded.loadRecords([() => 1] as unknown as number[])).rejects.toThrow(
      /loadRecords arguments/,
    );
    expect(await threaded.currentWatermark()).toBe(await direct.currentWatermark());
  });

  it('rejects with the signal reason when aborted before or during a call, then still answers', async () => {
    const before = new AbortController();
    before.abort(new Error('stopped before'));
    await expect(threaded.loadRecords([1], { signal: before.signal })).rejects.toThrow('stopped before');
    await expect(threaded.changesSince(null, { signal: before.signal })).rejects.toThrow('stopped before');

    const during = new AbortController();
    const ids = await allIds();
    const pending = threaded.loadRecords(ids, { signal: during.signal });
    during.abort(new Error('stopped during'));
    await expect(pending).rejects.toThrow('stopped during');
    const after = await threaded.loadRecords(ids.slice(0, 10));
    expect(after.records.map((r) => r.treatment.TTX_ID)).toEqual(ids.slice(0, 10));
  });

  it('reports every statement to onQuery in the calling thread', async () => {
    const seen: string[] = [];
    const reader = await openThreadedTreatmentReader(path, { onQuery: (sql) => seen.push(sql) });
    try {
      seen.length = 0;
      await reader.loadRecords((await allIds()).slice(0, 5));
      expect(seen.some((sql) => sql.includes('"TxFieldPoint"'))).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('fails the call (or the open) whose statement onQuery throws on, as the direct reader does', async () => {
    let refuse = false;
    const onQuery = (sql: string) => {
      if (refuse && sql.includes('"TxFieldPoint"')) throw new Error('no control points today');
    };
    const reader = await openThreadedTreatmentReader(path, { onQuery });
    const same = openTreatmentReader(path, { onQuery });
    try {
      const ids = (await allIds()).slice(0, 5);
      refuse = true;
      await expect(same.loadRecords(ids)).rejects.toThrow('no control points today');
      await expect(reader.loadRecords(ids)).rejects.toThrow('no control points today');
      refuse = false;
      expect((await reader.loadRecords(ids)).records).toHaveLength(5);
    } finally {
      await reader.close();
      same.closeSync();
    }
    const never = () => {
      throw new Error('no statements at all');
    };
    expect(() => openTreatmentReader(path, { onQuery: never })).toThrow('no statements at all');
    await expect(openThreadedTreatmentReader(path, { onQuery: never })).rejects.toThrow(
      'no statements at all',
    );
  });

  it('fails to open with the direct reader’s errors', async () => {
    const missing = tmp.path('absent.sqlite');
    const direct = (() => {
      try {
        openTreatmentReader(missing);
      } catch (e) {
        return e as Error;
      }
      throw new Error('opened a missing file');
    })();
    const error = await openThreadedTreatmentReader(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toBe(direct.message);
    expect(error).toMatchObject({ field: 'path' });

    const plain = plainDatabase(tmp.path('plain.sqlite'));
    const schema = await openThreadedTreatmentReader(plain).catch((e: unknown) => e);
    expect(schema).toBeInstanceOf(SchemaError);
    expect(() => openTreatmentReader(plain)).toThrow((schema as Error).message);

    const noPath = await openThreadedTreatmentReader(42 as unknown as string).catch((e: unknown) => e);
    expect(noPath).toMatchObject({ name: 'ValidationError', field: 'path' });
  });

  it('refuses calls once closed, and closes once', async () => {
    const reader = await openThreadedTreatmentReader(path);
    const answered = reader.currentWatermark();
    const closing = reader.close();
    expect(reader.close()).toBe(closing);
    expect(await answered).toBe(await direct.currentWatermark());
    await closing;
    await expect(reader.loadRecords([1])).rejects.toThrow(`reader thread for ${path} is closed`);
    await expect(reader.maxKeys()).rejects.toThrow(`reader thread for ${path} is closed`);
    await reader.close();
  });

  it('rejects the pending calls of a thread that dies, and every call after', async () => {
    const reader = await openThreadedTreatmentReader(path);
    const ids = await allIds();
    const pending = [reader.loadRecords(ids), reader.listTreatments({ from, to })];
    await terminateReaderThread(reader);
    for (const p of pending) {
      await expect(p).rejects.toThrow(`reader thread for ${path} exited (code 1) before answering`);
    }
    await expect(reader.currentWatermark()).rejects.toThrow(`reader thread for ${path} is closed`);
    await reader.close();
  });
});

describe('control points across the thread', () => {
  const edited = tmp.path('edited.sqlite');
  let plain: SqliteTreatmentReader;
  beforeAll(() => {
    createSandbox(edited, { clinic: { seed: 22, records: 1500 } });
    plain = openTreatmentReader(edited);
  });
  afterAll(() => plain?.closeSync());

  /** The deliveries' ids in two overlapping halves: many fields are read by both. */
  async function halves(): Promise<[number[], number[]]> {
    const page = await plain.listTreatments({ from, to, pageSize: 1500, qaMode: 'exclude' });
    const ids = page.items.map((t) => t.TTX_ID);
    return [ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1)];
  }
  const pointsByField = (records: readonly { controlPoints: readonly { FLD_ID: number | null }[] }[]) =>
    new Map(
      records
        .filter((r) => r.controlPoints.length)
        .map((r) => [r.controlPoints[0]!.FLD_ID!, r.controlPoints]),
    );

  it('are sent once per content: an unchanged field’s array is shared across answers, an edited one is new', async () => {
    const reader = await openThreadedTreatmentReader(edited);
    try {
      const [a, b] = await halves();
      const first = await reader.loadRecords(a);
      const second = await reader.loadRecords(b);
      expectSameRecords(first.records, (await plain.loadRecords(a)).records);
      expectSameRecords(second.records, (await plain.loadRecords(b)).records);
      const before = pointsByField(first.records);
      const after = pointsByField(second.records);
      const common = [...after.keys()].filter((f) => before.has(f));
      expect(common.length).toBeGreaterThan(20);
      for (const f of common) expect(after.get(f)).toBe(before.get(f));

      // One point of one shared field edited: that field's points come again, the others are named.
      const field = common[0]!;
      const point = before.get(field)![0] as unknown as { TFP_ID: number };
      const writer = openSandboxWriter(edited);
      await writer.apply(
        gantryChanges(edited).filter((c) => c.key === point.TFP_ID),
        { label: 'one gantry angle' },
      );
      writer.closeSync();
      const again = await reader.loadRecords(b);
      expectSameRecords(again.records, (await plain.loadRecords(b)).records);
      const now = pointsByField(again.records);
      expect(now.get(field)).not.toBe(after.get(field));
      expect((now.get(field)![0] as unknown as { Gantry_Ang: number }).Gantry_Ang).toBe(
        (after.get(field)![0] as unknown as { Gantry_Ang: number }).Gantry_Ang + 400,
      );
      for (const f of common.slice(1)) expect(now.get(f)).toBe(after.get(f));
    } finally {
      await reader.close();
    }
  });

  it('stay right when the two sides forget fields (a small bound), and are not held with 0', async () => {
    const [a, b] = (await halves()).map((ids) => ids.slice(0, 150));
    const small = await openThreadedTreatmentReader(edited, { heldPoints: 200 });
    const none = await openThreadedTreatmentReader(edited, { heldPoints: 0 });
    try {
      for (const ids of [a!, b!, a!, b!.slice(0, 60), a!]) {
        const theirs = (await plain.loadRecords(ids)).records;
        expectSameRecords((await small.loadRecords(ids)).records, theirs);
        expectSameRecords((await none.loadRecords(ids)).records, theirs);
      }
      const x = pointsByField((await none.loadRecords(a!)).records);
      const y = pointsByField((await none.loadRecords(a!)).records);
      for (const [f, points] of x) expect(y.get(f)).not.toBe(points);
    } finally {
      await small.close();
      await none.close();
    }
    await expect(openThreadedTreatmentReader(edited, { heldPoints: -1 })).rejects.toThrow(
      /options\.heldPoints: expected a whole number of control points ≥ 0/,
    );
  });
});

describe('HeldPoints', () => {
  it('refuses an answer naming points it never received (the two sides disagree)', () => {
    const record = { controlPoints: [] } as unknown as LoadedRecords['records'][number];
    expect(() =>
      new HeldPoints().complete(
        { records: [record], missingIds: [] },
        { reused: [[0, 5]], sent: [], forgotten: [] },
      ),
    ).toThrow('control points of field 5 were named but never received');
  });
});
