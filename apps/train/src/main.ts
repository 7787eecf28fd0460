import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load';
import { MODEL_TYPES } from './config/schema';
import { exportOnnxCommand } from './export-command';
import { runTraining } from './pipeline/run';
import { createProgress } from './progress';

const HELP = `anomalia-train: config-driven training, evaluation, report and promotion

Usage:
  anomalia-train --config <file.yaml|file.json> [--set key=value ...] [--quiet]
  anomalia-train export-onnx <model dir> [--out <path>] [...]   (see export-onnx --help)

Options:
  -c, --config <file>   training configuration (YAML or JSON)
  -s, --set key=value   override a config key, e.g. --set model.params.epochs=5
                        (values are read as YAML: numbers, booleans, [lists], strings)
  -q, --quiet           no progress output
  -h, --help            this help

Model types: ${MODEL_TYPES.join(', ')}
Dataset kinds: mosaiq, tabular, sequences, timeseries

Each run writes runs/<time>-<name>/ (model artifact, scaler, run.json, features.txt,
failure_mode_records.csv for Mosaiq, report.html; with export.onnx the ONNX export as onnx/)
and copies the model to models/current/<name> when the promotion gate passes,
models/candidates/ otherwise. model.type onnx evaluates a model trained elsewhere, unfitted.
`;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'export-onnx') return exportOnnxCommand(argv.slice(1));
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      options: {
        config: { type: 'string', short: 'c' },
        set: { type: 'string', short: 's', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!args.values.config) {
    process.stderr.write(`error: --config is required\n\n${HELP}`);
    return 2;
  }
  try {
    const config = await loadConfig(args.values.config, args.values.set ?? []);
    const result = await runTraining(config, createProgress({ quiet: args.values.quiet }));
    process.stdout.write(`${result.summary.join('\n')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || (e as Error).name === 'ValidationError') {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
