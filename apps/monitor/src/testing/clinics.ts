import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, importExtract, MosaiqLoader, markAsSandbox } from '@anomalia/db-sqlite';
import {
  emptyTableRows,
  formatMosaiqCsv,
  TABLE_NAMES,
  type TableName,
  type TableRows,
} from '@anomalia/mosaiq';
import { generateClinic, MILLENNIUM_120 } from '@anomalia/mosaiq/synthetic';
import { mosaiqWallClock } from '../source/clock';
import { trainPromotedModel } from './promoted-model';

const DAY = 86_400_000;

/** A temporary directory for a test file; `cleanup()` removes it. */
export function testDir(prefix = 'anomalia-monitor-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: (name: string) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The first day of a clinic of `days` days that ends yesterday (wall clock). */
export function recentStart(days: number): Date {
  const today = Math.floor(mosaiqWallClock(Date.now()).getTime() / DAY) * DAY;
  return new Date(today - days * DAY);
}

/** A synthetic clinic in a marked sandbox (so a test can append to it; the monitor only reads it). */
export function sandboxClinic(path: string, seed: number, records: number, start?: Date): string {
  createSandbox(path, { clinic: { seed, records, ...(start ? { start } : {}) } });
  return path;
}

/**
 * An energy model trained on the first `records` treatments of the synthetic clinic of seed 7
 * (the generator is deterministic: a longer clinic of seed 7 carries the same one on) and
 * promoted into `dir`.
 */
export async function trainedModel(dir: string, records = 20_000): Promise<string> {
  const training = join(dir, 'training-clinic.sqlite');
  sandboxClinic(training, 7, records);
  return trainPromotedModel({
    source: { type: 'sqlite', path: training },
    modelsDir: join(dir, 'models'),
    // About one delivery in ten corrupted (as `pnpm start` does on its 60 000): corrupting many
    // more leaves as normals only the few records no change touched, an unusual subset.
    normal: 600,
    adversarial: 600,
    epochs: 60,
  });
}

function generatedRows(seed: number, records: number, options: Record<string, unknown> = {}): TableRows {
  const rows = emptyTableRows();
  for (const batch of generateClinic({ seed, records, ...options }))
    for (const t of TABLE_NAMES) (rows[t] as unknown[]).push(...batch.rows[t]);
  return rows;
}

/**
 * A database from another clinic, as a model trained on the synthetic clinic would meet it:
 * other linacs (Millennium 120 MLCs, 60 leaf pairs), another MU calibration (every planned
 * meterset 2.5 times the synthetic clinic's) and set-up offsets recorded in millimetres. Every
 * record is internally consistent; it just does not look like what the model learnt.
 */
export function foreignClinic(path: string, records: number): string {
  const clinac = { mlc: MILLENNIUM_120, photonEnergies: [6, 18], electrons: true, maxDoseRate: 400 };
  const machines = [
    { ...clinac, staffId: 301, name: 'CLINAC-1' },
    { ...clinac, staffId: 302, name: 'CLINAC-2' },
  ];
  const rows = generatedRows(21, records, { machines, selectionsPerBeam: 1, interruptionRate: 0.1 });
  for (const f of rows.TxField) if (f.Meterset !== null) f.Meterset = Math.round(f.Meterset * 25) / 10;
  for (const o of rows.Offset) {
    if (o.Superior_Offset !== null) o.Superior_Offset *= 10;
    if (o.Anterior_Offset !== null) o.Anterior_Offset *= 10;
    if (o.Lateral_Offset !== null) o.Lateral_Offset *= 10;
  }
  const loader = MosaiqLoader.create(path);
  loader.load(rows);
  loader.finish();
  markAsSandbox(path, { confirm: true });
  return path;
}

/** A database imported (anomalia-import) from an extract of a synthetic clinic lacking `absent` tables. */
export async function importedClinic(
  dir: string,
  seed: number,
  records: number,
  absent: readonly TableName[],
): Promise<string> {
  const rows = generatedRows(seed, records);
  const extract = join(dir, `extract-${seed}`);
  mkdirSync(extract, { recursive: true });
  for (const t of TABLE_NAMES)
    if (!absent.includes(t)) writeFileSync(join(extract, `${t}.csv`), formatMosaiqCsv(t, rows[t] as never));
  const out = join(dir, `imported-${seed}.sqlite`);
  await importExtract(extract, out);
  return out;
}
