import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractQa74 } from '@anomalia/features';
import {
  cloneAsSandbox,
  createClinicDatabase,
  openSandboxWriter,
  openTreatmentReader,
  tableChecksum,
} from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-example-'));
const clinic = join(dir, 'clinic.sqlite');

// A synthetic clinic of 5000 treatments, bulk-loaded into a new file.
const loaded = createClinicDatabase(clinic, { seed: 42, records: 5000 });
console.log(loaded.rows.TrackTreatment, loaded.rows.TxFieldPoint); // 5000 rows, and their control points

// Read (the file is opened read-only): a page of a window, its records, their 74 features.
const reader = openTreatmentReader(clinic);
const page = await reader.listTreatments({
  from: new Date('2024-01-01T00:00:00Z'),
  to: new Date('2024-02-01T00:00:00Z'),
  qaMode: 'exclude',
  pageSize: 500,
});
const { records } = await reader.loadRecords(page.items.map((t) => t.TTX_ID));
const features = extractQa74(records, { asOf: new Date('2030-01-01T00:00:00Z') });
console.log(records.length, features.X.cols); // 500 74
await reader.close();

// Corrupt a sandbox copy (never the clinic itself: a writer refuses it), then restore it exactly.
const sandbox = join(dir, 'sandbox.sqlite');
cloneAsSandbox(clinic, sandbox);
const before = tableChecksum(sandbox);
const writer = openSandboxWriter(sandbox);
const field = records[0]!.field!;
const run = await writer.apply(
  [
    {
      kind: 'update',
      table: 'TxField',
      key: field.FLD_ID,
      column: 'Meterset',
      oldValue: field.Meterset,
      newValue: -100,
    },
  ],
  { label: 'negative meterset', mode: 'meterset_inconsistency', variant: 'negative_meterset' },
);
const [line] = await writer.ledger(run.runId);
console.log(run.runId, line!.change); // run-1 { kind: 'update', table: 'TxField', ..., newValue: -100 }
await writer.restore(run.runId);
console.log(tableChecksum(sandbox) === before); // true
await writer.close();

rmSync(dir, { recursive: true, force: true });
