/**
 * Progress output: a redrawn bar on a terminal, plain log lines otherwise (CI, pipes), where only
 * every 10 % of a task is printed so logs stay short.
 */
export interface Progress {
  stage(name: string): void;
  step(name: string, done: number, total: number, detail?: string): void;
  info(message: string): void;
  done(): void;
}

export function createProgress(options: { stream?: NodeJS.WriteStream; quiet?: boolean } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let lastDecile = new Map<string, number>();
  let barOpen = false;
  const closeBar = () => {
    if (barOpen) stream.write('\n');
    barOpen = false;
  };
  const started = performance.now();
  const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
  if (options.quiet) return { stage() {}, step() {}, info() {}, done() {} };
  return {
    stage(name) {
      closeBar();
      lastDecile = new Map();
      stream.write(`${stamp()} ${name}\n`);
    },
    step(name, done, total, detail) {
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      if (tty) {
        const width = 30;
        const filled = Math.round(frac * width);
        stream.write(
          `\r  ${name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${detail ? ` ${detail}` : ''}\x1b[K`,
        );
        barOpen = true;
        if (done >= total) closeBar();
        return;
      }
      const decile = Math.floor(frac * 10);
      if (decile === lastDecile.get(name) && done < total) return;
      lastDecile.set(name, decile);
      stream.write(`${stamp()}   ${name} ${done}/${total}${detail ? ` ${detail}` : ''}\n`);
    },
    info(message) {
      closeBar();
      stream.write(`${stamp()}   ${message}\n`);
    },
    done() {
      closeBar();
    },
  };
}
