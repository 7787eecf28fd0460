import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type LoadedArtifact,
  loadArtifact,
  MANIFEST_FILE,
  Matrix,
  type MatrixDetector,
  parseJsonText,
  Rng,
  scalerFromJSON,
} from '@anomalia/core';
import { EXPORTABLE_KINDS } from '@anomalia/onnx';
import { z } from 'zod';
import { ConfigError } from './config/load';
import { describeParity, exportWithParity, type OnnxExportRecord } from './pipeline/onnx-export';
import { REGISTRY } from './registry';

export const EXPORT_HELP = `anomalia-train export-onnx: write a saved network as ONNX, checked against the model

Usage:
  anomalia-train export-onnx <model dir> [--out <dir|file.onnx>] [options]

<model dir> is a promoted model (models/current/<name>, a candidate), a run directory
(runs/<run>), or the model artifact itself; the network (ebm, autoencoder or vae) is read from
its model/ and written as an onnx artifact (manifest.json + model.onnx, threshold and calibrator
carried over), by default as onnx/ beside model/. The export is kept only when the ONNX scores
equal the model's on parity rows (drawn across the range of the model's saved scaler).

Options:
  -o, --out <path>          where to write (a directory, or a .onnx file for a bare model)
      --input-type <type>   float64 (default: scaler in double, as the model) or float32
      --tolerance <x>       |model - onnx| <= x * max(1, |score|) on every row (default 1e-5)
      --rows <n>            parity rows (default 2000)
      --seed <n>            seed of the parity rows (default 0)
  -f, --force               replace an existing export
  -h, --help                this help
`;

const OptionsSchema = z.strictObject({
  inputType: z.enum(['float64', 'float32']).default('float64'),
  tolerance: z.coerce.number().positive().max(0.01).default(1e-5),
  rows: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  seed: z.coerce.number().int().default(0),
});

/** Kind of a neural artifact → the registry entry that loads it. */
const LOADERS: Record<(typeof EXPORTABLE_KINDS)[number], (dir: string) => Promise<MatrixDetector>> = {
  'energy-model': (d) => REGISTRY.ebm.load(d) as Promise<MatrixDetector>,
  autoencoder: (d) => REGISTRY.autoencoder.load(d) as Promise<MatrixDetector>,
  'variational-autoencoder': (d) => REGISTRY.vae.load(d) as Promise<MatrixDetector>,
};

/** Where the model is, where the export goes by default, and promotion.json when there is one. */
interface Source {
  modelDir: string;
  defaultOut: string;
  promotionFile: string | null;
}

async function locate(dir: string): Promise<Source> {
  if (!existsSync(dir) || !(await stat(dir)).isDirectory())
    throw new ConfigError('<model dir>', `${dir} is not a directory`);
  if (existsSync(join(dir, 'model', MANIFEST_FILE))) {
    const promotion = join(dir, 'promotion.json');
    return {
      modelDir: join(dir, 'model'),
      defaultOut: join(dir, 'onnx'),
      promotionFile: existsSync(promotion) ? promotion : null,
    };
  }
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const name = basename(dir);
    return {
      modelDir: dir,
      defaultOut: join(dirname(dir), name === 'model' ? 'onnx' : `${name}-onnx`),
      promotionFile: null,
    };
  }
  throw new ConfigError(
    '<model dir>',
    `${dir} holds no model: expected a promoted model or run directory (with model/manifest.json) or a model artifact (manifest.json)`,
  );
}

/**
 * Rows across the range the model was fitted on, in raw units: drawn in the scaled space (±2 of
 * a standard or robust scaler's unit, 25 % beyond a min-max range) and mapped back. Without a
 * scaler, standard normal rows.
 */
export function parityRows(artifact: LoadedArtifact, n: number, seed: number): Matrix {
  const d = artifact.featureNames?.length ?? Number((artifact.state as { nFeatures?: number }).nFeatures);
  const rng = new Rng(seed);
  const scaled = new Matrix(n, d);
  const s = artifact.scaler;
  const [lo, hi] = s?.featureRange ?? [0, 1];
  for (let k = 0; k < scaled.data.length; k++) {
    scaled.data[k] =
      s?.kind === 'minmax' ? rng.uniform(lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)) : rng.normal(0, 2 / 3);
  }
  return s ? scalerFromJSON(s).inverseTransform(scaled) : scaled;
}

/** `anomalia-train export-onnx …`: returns the exit code (0 exported, 1 parity failed or I/O error, 2 bad input). */
export async function exportOnnxCommand(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      options: {
        out: { type: 'string', short: 'o' },
        'input-type': { type: 'string' },
        tolerance: { type: 'string' },
        rows: { type: 'string' },
        seed: { type: 'string' },
        force: { type: 'boolean', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${EXPORT_HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (args.positionals.length !== 1) {
    process.stderr.write(`error: expected one <model dir>, got ${args.positionals.length}\n\n${EXPORT_HELP}`);
    return 2;
  }
  try {
    const options = OptionsSchema.safeParse({
      inputType: args.values['input-type'],
      tolerance: args.values.tolerance,
      rows: args.values.rows,
      seed: args.values.seed,
    });
    if (!options.success) {
      const issue = options.error.issues[0]!;
      const flag = { inputType: '--input-type' }[String(issue.path[0])] ?? `--${String(issue.path[0])}`;
      throw new ConfigError(flag, issue.message);
    }
    const record = await exportModelDir(resolve(args.positionals[0]!), {
      out: args.values.out === undefined ? undefined : resolve(args.values.out),
      force: args.values.force ?? false,
      ...options.data,
    });
    process.stdout.write(
      `${record.parity.pass ? 'exported' : 'NOT exported'}: ${record.path} (${record.bytes} bytes, sha256 ${record.sha256})\n${describeParity(record.parity)}\n`,
    );
    return record.parity.pass ? 0 : 1;
  } catch (e) {
    if (e instanceof ConfigError || ['ValidationError', 'ArtifactError'].includes((e as Error).name)) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

/**
 * Exports the network of a promoted model, run or artifact directory to ONNX (see EXPORT_HELP).
 * Written under a staging name and moved into place only when parity passes; a promoted model's
 * promotion.json gains an `onnx` record (checksum and parity).
 */
export async function exportModelDir(
  dir: string,
  options: {
    out?: string;
    force?: boolean;
    inputType?: 'float64' | 'float32';
    tolerance?: number;
    rows?: number;
    seed?: number;
  } = {},
): Promise<OnnxExportRecord> {
  const source = await locate(dir);
  const artifact = await loadArtifact(source.modelDir);
  if (!(EXPORTABLE_KINDS as readonly string[]).includes(artifact.kind)) {
    throw new ConfigError(
      '<model dir>',
      `${join(source.modelDir, MANIFEST_FILE)} is of kind "${artifact.kind}": ONNX export covers ${EXPORTABLE_KINDS.join(', ')} (the networks of model.type ebm, autoencoder, vae)${artifact.kind === 'onnx' ? '; this one is ONNX already' : ''}`,
    );
  }
  const out = options.out ?? source.defaultOut;
  if (existsSync(out) && !options.force)
    throw new ConfigError('--out', `${out} exists: pass --force to replace it`);
  const model = await LOADERS[artifact.kind as keyof typeof LOADERS](source.modelDir);
  const rows = options.rows ?? 2000;
  const X = parityRows(artifact, rows, options.seed ?? 0);
  const bare = out.endsWith('.onnx');
  const staging = bare
    ? `${out.slice(0, -'.onnx'.length)}.staging-${process.pid}.onnx`
    : `${out}.staging-${process.pid}`;
  let record: OnnxExportRecord;
  try {
    record = await exportWithParity(
      source.modelDir,
      staging,
      model,
      X,
      { inputType: options.inputType ?? 'float64', tolerance: options.tolerance ?? 1e-5 },
      `rows drawn across the range of the model's scaler (seed ${options.seed ?? 0})`,
    );
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    (model as Partial<{ releaseDevice(): void }>).releaseDevice?.();
  }
  if (!record.parity.pass) {
    await rm(staging, { recursive: true, force: true });
    return { ...record, path: out };
  }
  await rm(out, { recursive: true, force: true });
  await rename(staging, out);
  record = { ...record, path: out };
  if (source.promotionFile && out === source.defaultOut)
    await recordInPromotion(source.promotionFile, record, artifact.kind);
  return record;
}

/**
 * Adds the export to promotion.json as a training run does (where, sha256, whether the scores are
 * severities: an energy model gated on severities; parity), written beside it, then renamed.
 */
async function recordInPromotion(file: string, record: OnnxExportRecord, kind: string): Promise<void> {
  const promotion = parseJsonText(await readFile(file, 'utf8'), file) as Record<string, unknown>;
  const metrics = (promotion.metrics ?? {}) as Record<string, unknown>;
  promotion.onnx = {
    dir: 'onnx',
    sha256: record.sha256,
    scoresAreSeverities: kind === 'energy-model' && metrics.severity_mae !== undefined,
    parity: record.parity,
    exportedAt: new Date().toISOString(),
  };
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(promotion, null, 2)}\n`);
  await rename(tmp, file);
}
