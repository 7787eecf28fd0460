/**
 * A benchmark's `--name N` flag: a positive integer, `fallback` when absent. A bad value is an
 * error naming the flag (benchmarks take their sizes from the command line).
 */
export function positiveIntegerFlag(
  name: string,
  fallback: number,
  argv: readonly string[] = process.argv,
): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name}: expected a positive integer, got ${argv[i + 1]}`);
  return v;
}
