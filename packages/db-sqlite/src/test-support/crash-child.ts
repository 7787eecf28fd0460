/**
 * The victim of the crash tests: a process that writes to a database and is killed with SIGKILL
 * by the test at some moment. It prints "ready" on stdout just before the write starts.
 *
 *   apply <sandbox> <changes.json>   applies the changes as one run (SqliteSandboxWriter)
 *   restore <sandbox> <runId>        restores a run
 *   hold <database>                  rewrites every control point in one transaction with a tiny
 *                                    page cache (so pages reach the file before the commit), then
 *                                    waits, transaction open, to be killed: a hot journal for sure
 *   monitor <state.sqlite> <batches> commits scored batches to a monitor store, one after another
 *   birth <state.sqlite>             does what openMonitorStore does to a new file up to its first
 *                                    commit (WAL, the schema's first table) and waits to be killed
 *   open <state.sqlite> <epoch ms>   waits until that instant, opens the monitor store and prints
 *                                    its id (several at once: a distributed monitor starting)
 */
import { readFileSync } from 'node:fs';
import type { Change } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { openMonitorStore } from '../monitor-store/store';
import { openSandboxWriter } from '../writer';

const [command, path, arg] = process.argv.slice(2);

/**
 * The victim's page cache is made small (200 pages instead of 16 MB), so its transaction's pages
 * reach the database file long before the commit, as those of a transaction larger than the
 * cache do: a kill then leaves a hot journal, not merely an unsynced one SQLite ignores.
 */
function smallPageCache(): void {
  const prepare = Database.prototype.prepare;
  const done = new WeakSet<Database.Database>();
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    if (!done.has(this)) {
      done.add(this);
      this.pragma('cache_size = 200');
    }
    return prepare.call(this, sql);
  } as typeof prepare;
}
if (command === 'apply' || command === 'restore') smallPageCache();
const ready = () => process.stdout.write('ready\n');
/** Keeps the handle reachable until the kill: a collected handle would close and roll back. */
const holdOpen = (db: Database.Database) => setInterval(() => db.open, 60_000);

function monitorBatch(i: number) {
  const scores = Array.from({ length: 200 }, (_, k) => ({
    recordId: `${i}-${k}`,
    energy: k / 100,
    band: k % 50 === 0 ? 'high' : 'normal',
    occurredAt: 1_000 + k,
  }));
  const alerts = scores
    .filter((s) => s.band === 'high')
    .map((s) => ({
      recordId: s.recordId,
      subject: `P${i}`,
      energy: 2,
      severity: 2,
      band: 'high',
      bandRank: 3,
      action: 'review',
      tier: null,
      maliciousProbability: null,
      responseLabel: 'hours',
      deadlineAt: null,
      occurredAt: s.occurredAt,
      labels: { band: 'high' },
      detail: { batch: i, text: 'x'.repeat(2000) },
      deliveries: [{ sink: 'log', route: 'default', groupKey: `b${i}`, groupLabels: {} }],
    }));
  return {
    source: 'crash',
    model: { name: 'm', version: '1' },
    at: 5_000 + i,
    watermark: String(i),
    scores,
    alerts,
  };
}

switch (command) {
  case 'apply': {
    const changes = JSON.parse(readFileSync(arg!, 'utf8')) as Change[];
    const writer = openSandboxWriter(path!);
    ready();
    writer.applySync(changes, { label: 'crash test run', mode: 'invalid_angles', variant: 'gantry' });
    writer.closeSync();
    break;
  }
  case 'restore': {
    const writer = openSandboxWriter(path!);
    ready();
    writer.restoreSync(arg!);
    writer.closeSync();
    break;
  }
  case 'hold': {
    const db = new Database(path!);
    db.pragma('cache_size = 10');
    db.exec('BEGIN IMMEDIATE');
    db.prepare('UPDATE "TxFieldPoint" SET "Gantry_Ang" = coalesce("Gantry_Ang", 0) + 1').run();
    ready();
    holdOpen(db);
    break;
  }
  case 'monitor': {
    const store = openMonitorStore(path!);
    ready();
    for (let i = 0; i < Number(arg); i++) store.commitScored(monitorBatch(i));
    store.close();
    break;
  }
  case 'birth': {
    const db = new Database(path!);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN; CREATE TABLE monitor_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);');
    ready();
    holdOpen(db);
    break;
  }
  case 'open': {
    while (Date.now() < Number(arg));
    const store = openMonitorStore(path!);
    process.stdout.write(`${store.storeId()}\n`);
    store.close();
    break;
  }
  default:
    throw new Error(`unknown command ${command}`);
}
