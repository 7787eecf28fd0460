import { type OpenSandbox, openSandbox, type SourceConfig } from '@anomalia/qa-workflow';

/**
 * The database the server corrupts and restores, behind the adapter interfaces of
 * @anomalia/mosaiq only: any source type of @anomalia/qa-workflow whose writer refuses a database
 * that is not a sandbox plugs in here.
 */
export type TargetDatabase = OpenSandbox;

/** Opens the target; must throw (e.g. NotASandboxError) rather than return a writer on a non-sandbox. */
export type OpenTarget = () => Promise<TargetDatabase>;

/** The opener for a configured database. */
export function targetOpener(config: SourceConfig): OpenTarget {
  return () => openSandbox(config);
}

/**
 * Opens the target on first use and keeps it open; a failed open (not a sandbox, missing file) is
 * not cached, so fixing the database and calling again works. When the database was replaced or
 * removed since it was opened (e.g. a fresh sandbox copied over it), the old handles would keep
 * reaching the old file (SQLite refuses to write a moved file): the target is closed and opened
 * again before the call, which is told why (`notice`). Calls that touch the database run one at a
 * time: a plan is computed from the state it is written over.
 */
export class TargetSession {
  private opened: Promise<TargetDatabase> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly open: OpenTarget) {}

  /** Runs `fn` with the open target, after every earlier call has finished. */
  run<T>(fn: (target: TargetDatabase, notice: string | null) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const notice = await this.reopenIfStale();
      return fn(await this.target(), notice);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Closes a target whose database was replaced or removed; says so, or null. */
  private async reopenIfStale(): Promise<string | null> {
    const opened = this.opened && (await this.opened.catch(() => null));
    const why = opened?.staleness() ?? null;
    if (!opened || why === null) return null;
    this.opened = null;
    await opened.close();
    return `${why}: the server closed its handles on the old file and opened the database again`;
  }

  private target(): Promise<TargetDatabase> {
    if (this.closed) return Promise.reject(new Error('the server is closed'));
    if (!this.opened) {
      const attempt = this.open();
      this.opened = attempt;
      attempt.catch(() => {
        if (this.opened === attempt) this.opened = null;
      });
    }
    return this.opened;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const opened = this.opened;
    this.opened = null;
    if (opened) await (await opened.catch(() => null))?.close();
  }
}
