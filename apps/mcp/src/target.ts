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
 * not cached, so fixing the database and calling again works. Calls that touch the database run
 * one at a time: a plan is computed from the state it is written over.
 */
export class TargetSession {
  private opened: Promise<TargetDatabase> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly open: OpenTarget) {}

  /** Runs `fn` with the open target, after every earlier call has finished. */
  run<T>(fn: (target: TargetDatabase) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => fn(await this.target()));
    this.queue = next.catch(() => undefined);
    return next;
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
