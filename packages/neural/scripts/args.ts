/** Minimal `--name value` / `--flag` parser for the evaluation and benchmark scripts (ignores a bare `--`). */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || !a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      out.set(a.slice(2), argv[++i]!);
    } else {
      out.set(a.slice(2), 'true');
    }
  }
  return out;
}

export function numberArg(args: Map<string, string>, name: string, fallback: number): number {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, received "${v}"`);
  return n;
}
