import { assembleRecords, type Change, emptyTableRows, TABLE_NAMES } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum } from './checksum';
import { MssqlClient } from './client';
import { SANDBOX_COLUMNS } from './column-types';
import { mssqlTarget } from './config';
import { openTreatmentReader } from './reader';
import { createSandbox } from './sandbox';
import { adminQuery, liveBackend, sqlServerStored } from './testing/harness';
import { insertStatements } from './write-queries';
import { openSandboxWriter } from './writer';

/**
 * The live suite: a real SQL Server, when MSSQL_URL names a database whose login may create
 * databases (see the README for SQL Server in Docker). The conformance kit runs live in
 * conformance.test.ts; here a synthetic clinic is loaded, read back whole, corrupted and
 * restored, and the change cursor is held back by a transaction still in flight.
 */
const live = process.env.MSSQL_URL;

describe.skipIf(!live)('live on SQL Server (MSSQL_URL)', () => {
  const backend = liveBackend(live ?? 'mssql://unset@localhost/unset');
  const name = `anomalia_live_${process.pid}`;
  let url: string;
  const records = 3000;

  beforeAll(async () => {
    await backend.create(name);
    url = backend.url(name);
    await createSandbox(url, { confirm: true, clinic: { seed: 17, records, batchSize: 500 } });
    // Snapshot reads never wait for a writer's locks (the monitor's recommended setting).
    await adminQuery(url, `ALTER DATABASE [${name}] SET ALLOW_SNAPSHOT_ISOLATION ON;`);
  }, 600_000);
  afterAll(() => backend.drop(name), 120_000);

  it('reads back the records the generator made, as SQL Server stores them', async () => {
    const rows = emptyTableRows();
    for (const b of generateClinic({ seed: 17, records, batchSize: 500 })) {
      for (const t of TABLE_NAMES) (rows[t] as unknown[]).push(...b.rows[t]);
    }
    const expected = assembleRecords(sqlServerStored(rows));
    const reader = await openTreatmentReader(url);
    const { records: got, missingIds } = await reader.loadRecords(rows.TrackTreatment.map((t) => t.TTX_ID));
    expect(missingIds).toEqual([]);
    expect(got).toEqual(expected);
    expect(await reader.tableCounts()).toEqual(
      Object.fromEntries(TABLE_NAMES.map((t) => [t, rows[t].length])),
    );
    await reader.close();
  }, 600_000);

  it('corrupts and restores exactly: the checksum of every table is equal after the restore', async () => {
    const reader = await openTreatmentReader(url);
    const page = await reader.listTreatments({
      from: new Date('2000-01-01'),
      to: new Date('2100-01-01'),
      pageSize: 50,
    });
    const { records: sample } = await reader.loadRecords(page.items.map((t) => t.TTX_ID));
    await reader.close();
    const before = await tableChecksum(url);
    const withPoints = sample.find((r) => r.controlPoints.length > 0)!;
    const cp = withPoints.controlPoints[0]!;
    const leaves = new Uint8Array(cp.A_Leaf_Set!);
    leaves[3] = (leaves[3] ?? 0) ^ 0x40;
    const changes: Change[] = [
      {
        kind: 'update',
        table: 'TxFieldPoint',
        key: cp.TFP_ID,
        column: 'A_Leaf_Set',
        oldValue: cp.A_Leaf_Set,
        newValue: leaves,
      },
      {
        kind: 'update',
        table: 'TxField',
        key: withPoints.field!.FLD_ID,
        column: 'Meterset',
        oldValue: withPoints.field!.Meterset,
        newValue: -100,
      },
      {
        kind: 'delete',
        table: 'TrackTreatment',
        key: sample[1]!.treatment.TTX_ID,
        row: sample[1]!.treatment,
      },
    ];
    const writer = await openSandboxWriter(url);
    const run = await writer.apply(changes, { label: 'live: corrupt and restore' });
    expect((await tableChecksum(url)).total).not.toBe(before.total);
    await writer.restore(run.runId);
    await writer.close();
    expect(await tableChecksum(url)).toEqual(before);
  }, 600_000);

  it('never moves the cursor past a transaction still in flight (MIN_ACTIVE_ROWVERSION)', async () => {
    const snapshot = new URL(url);
    snapshot.searchParams.set('isolation', 'snapshot');
    const reader = await openTreatmentReader(snapshot.toString());
    const w0 = await reader.currentWatermark();
    const columns = Object.entries(SANDBOX_COLUMNS.TrackTreatment).map(([n, c]) => ({ name: n, ...c }));
    const row = (id: number) =>
      columns.map((c) => ({
        column: c,
        value: c.name === 'TTX_ID' ? id : c.name === 'Create_DtTm' ? new Date('2031-01-01T00:00:00Z') : null,
      }));
    const [a, b] = [9_000_001, 9_000_002];
    const holder = await MssqlClient.connect(mssqlTarget(url), { role: 'writer' });
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => {
      inserted = r;
    });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const open = holder.transaction('read-committed', async (tx) => {
      for (const s of insertStatements('dbo', 'TrackTreatment', row(a), false, 'a')) await tx.query(s);
      inserted();
      await held;
    });
    await insertedP;
    const other = await MssqlClient.connect(mssqlTarget(url), { role: 'writer' });
    for (const s of insertStatements('dbo', 'TrackTreatment', row(b), false, 'b')) await other.query(s);
    await other.close();
    // b committed with a higher version than a's, which is still in flight: neither is returned yet.
    const early = await reader.changesSince(w0);
    expect(early.items.map((i) => i.TTX_ID)).toEqual([]);
    release();
    await open;
    await holder.close();
    const late = await reader.changesSince(early.watermark);
    expect(late.items.map((i) => i.TTX_ID)).toEqual([a, b]);
    await reader.close();
  }, 120_000);
});
