import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseWith, ValidationError } from '@anomalia/core';
import { DUPLICATE_POLICIES, MOSAIQ_TABLES } from '@anomalia/mosaiq';
import { z } from 'zod';
import { type ImportProgress, type ImportSummary, importExtract } from './import-extract';

export const IMPORT_USAGE = `Usage: anomalia-import <dir> --out <clinic.sqlite> [options]

Loads a directory of Mosaiq table extracts (pymedphys CSV: TrackTreatment.csv, TxField.csv,
TxFieldPoint.csv, Site.csv, Patient.csv, Ident.csv, Staff.csv, Dose_Hst.csv, Offset.csv, each
optional; <Table>_<part>.csv for a table split over several files) into a new SQLite database,
recording which tables the extract contained.

Options:
  -o, --out <file>              the database to write (required; refused if it exists)
      --on-duplicate <policy>   error (default): a primary key repeated with other values stops
                                the import; keep-first: keep the first row, report the others.
                                Identical repeated rows are always dropped and reported.
      --overwrite               replace an existing database at --out
      --json                    print the summary as JSON
  -q, --quiet                   no progress lines
  -h, --help                    this help
`;

const ArgsSchema = z.strictObject({
  '<dir>': z.string().min(1),
  '--out': z.string().min(1),
  '--on-duplicate': z.enum(DUPLICATE_POLICIES).default('error'),
  '--overwrite': z.boolean().default(false),
  '--json': z.boolean().default(false),
  '--quiet': z.boolean().default(false),
});

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

const size = (bytes: number) =>
  bytes < 1e3
    ? `${bytes} B`
    : bytes < 1e6
      ? `${(bytes / 1e3).toFixed(1)} kB`
      : `${(bytes / 1e6).toFixed(1)} MB`;

function progressLine(e: ImportProgress): string {
  switch (e.kind) {
    case 'file':
      return `reading ${e.file} (${e.table}, ${size(e.bytes)})`;
    case 'rows':
      return `  ${e.file}: ${e.rows.toLocaleString('en')} rows, ${Math.round((100 * e.bytesRead) / Math.max(1, e.bytes))} %`;
    case 'file-done':
      return `  ${e.file}: ${e.rows.toLocaleString('en')} rows in ${e.seconds.toFixed(1)} s`;
    case 'finishing':
      return 'checking references, recording the extract, building indexes';
  }
}

/** The per-table summary as text (what `anomalia-import` prints). */
export function formatImportSummary(s: ImportSummary): string {
  const lines = [
    `Imported ${s.source} into ${s.out} in ${s.seconds.toFixed(1)} s (duplicates: ${s.onDuplicate})`,
    '',
  ];
  const rows = [['table', 'files', 'read', 'loaded', 'dropped', '']];
  for (const t of s.tables) {
    if (!t.present) {
      rows.push([t.table, '(absent: no file in the extract)', '', '', '', '']);
      continue;
    }
    const pk = MOSAIQ_TABLES[t.table].primaryKey;
    const why: string[] = [];
    const d = t.duplicates;
    const example = (conflicting: boolean) => {
      const e = d.examples.find((x) => x.columns.length > 0 === conflicting);
      return e
        ? ` (${pk} ${e.key} at ${e.where}${conflicting ? `, differs in ${e.columns.join(', ')}` : ''})`
        : '';
    };
    if (d.identical)
      why.push(`${d.identical} identical duplicate${d.identical > 1 ? 's' : ''}${example(false)}`);
    if (d.conflicting)
      why.push(
        `${d.conflicting} conflicting duplicate${d.conflicting > 1 ? 's' : ''} kept first${example(true)}`,
      );
    rows.push([
      t.table,
      t.files.join(', '),
      String(t.rowsRead),
      String(t.rowsLoaded),
      String(t.rowsRead - t.rowsLoaded),
      why.join('; '),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    lines.push(
      r
        .map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    );
  const absent = s.tables.filter((t) => !t.present).map((t) => t.table);
  lines.push('');
  if (absent.length)
    lines.push(
      `Absent tables (recorded as absent, not empty): ${absent.join(', ')}. Features computed from them are not observed by models trained on this database, and a model trained with them does not apply to it.`,
    );
  if (s.controlPoints)
    lines.push(
      `Control points: ${s.controlPoints.withPoints} of ${s.controlPoints.fields} fields have them in the extract.`,
    );
  for (const r of s.danglingReferences)
    lines.push(
      `References to no row: ${r.from}.${r.column} → ${r.to} in ${r.rows} row${r.rows > 1 ? 's' : ''}.`,
    );
  for (const k of s.skipped) lines.push(`Skipped ${k.file}: ${k.reason}.`);
  return `${lines.join('\n')}\n`;
}

/** Runs `anomalia-import` with these arguments; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runImportCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let args: z.output<typeof ArgsSchema>;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        'on-duplicate': { type: 'string' },
        overwrite: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(IMPORT_USAGE);
      return 0;
    }
    if (positionals.length !== 1)
      throw new ValidationError(
        '<dir>',
        'one directory of CSV files (the first argument)',
        positionals.join(' '),
      );
    if (values.out === undefined)
      throw new ValidationError('--out', 'a path for the database (--out clinic.sqlite)');
    args = parseWith(ArgsSchema, {
      '<dir>': positionals[0],
      '--out': values.out,
      '--on-duplicate': values['on-duplicate'],
      '--overwrite': values.overwrite,
      '--json': values.json,
      '--quiet': values.quiet,
    });
  } catch (error) {
    io.stderr(`anomalia-import: ${(error as Error).message}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  if (existsSync(args['--out']) && !args['--overwrite']) {
    io.stderr(`anomalia-import: --out: ${args['--out']} exists; pass --overwrite to replace it\n`);
    return 1;
  }
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const summary = await importExtract(args['<dir>'], args['--out'], {
      onDuplicate: args['--on-duplicate'],
      overwrite: args['--overwrite'],
      signal: controller.signal,
      onProgress: args['--quiet'] ? undefined : (e) => io.stderr(`${progressLine(e)}\n`),
    });
    io.stdout(args['--json'] ? `${JSON.stringify(summary, null, 2)}\n` : formatImportSummary(summary));
    return 0;
  } catch (error) {
    io.stderr(`anomalia-import: ${(error as Error).message}\nNothing was written.\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
