import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { ValidationError } from '@anomalia/core';
import type {
  ChangeOptionsInput,
  ChangePage,
  LoadedRecords,
  ReadOptions,
  SandboxRun,
  TableName,
  TablePresence,
  TreatmentPage,
  TreatmentQueryInput,
  TreatmentReader,
  Watermark,
} from '@anomalia/mosaiq';
import type { ReaderOptions } from './reader';
import type {
  ReaderThreadInit,
  ReaderThreadMessage,
  ReaderThreadMethod,
  ReaderThreadRequest,
} from './reader-thread-worker';
import { rebuildError } from './thread-errors';
import { HeldPoints } from './thread-points';

/**
 * A SqliteTreatmentReader running in a worker thread: the same reads with the same results
 * (structured clones of them), while the calling thread stays free to compute. Calls are answered
 * in order, one at a time. Everything is async, including what SqliteTreatmentReader answers
 * synchronously (maxKeys, tablePresence, unrestoredRuns).
 */
export interface ThreadedTreatmentReader extends TreatmentReader {
  readonly path: string;
  listTreatments(query: TreatmentQueryInput, options?: ReadOptions): Promise<TreatmentPage>;
  loadRecords(ids: readonly number[], options?: ReadOptions): Promise<LoadedRecords>;
  changesSince(watermark: Watermark | null, options?: ChangeOptionsInput & ReadOptions): Promise<ChangePage>;
  currentWatermark(options?: ReadOptions): Promise<Watermark>;
  /** See SqliteTreatmentReader.maxKeys. */
  maxKeys(): Promise<Record<TableName, number | null>>;
  /** See SqliteTreatmentReader.tablePresence. */
  tablePresence(): Promise<TablePresence>;
  /** See SqliteTreatmentReader.unrestoredRuns. */
  unrestoredRuns(): Promise<SandboxRun[]>;
  /** Closes the database in the thread, then ends the thread. Idempotent. */
  close(): Promise<void>;
}

const WORKER = 'reader-thread-worker';

/**
 * Control points (of the fields read lately) this side keeps so that the thread need not send
 * them again: about 150 MB at most on each side. A batch of 10 000 treatments of the synthetic
 * 100 000-treatment clinic reads about 60 000 points of some 2 000 fields; arc fields of a real
 * clinic have up to 180 points each.
 */
const DEFAULT_HELD_POINTS = 250_000;

/** `openTreatmentReader`'s options, and how many control points the two threads keep. */
export interface ThreadedReaderOptions extends ReaderOptions {
  /**
   * Control points of fields read lately kept on both sides (default 250 000): a field's points
   * are sent once, then named while unchanged, and every record of the field then shares one
   * array across answers. 0: every answer carries its records' points.
   */
  heldPoints?: number;
}

/**
 * How to start the worker. Built (dist/*.js or *.cjs): its own entry file, next to this module
 * or, when this code sits in a subfolder of dist, one level up. From source (.ts, under vitest or
 * tsx): the .ts worker, loaded after registering tsx's loader in the new thread (Node 20 does not
 * apply `--import` hooks to a worker's entry file).
 */
function workerStart(): { entry: string | URL; options: WorkerOptions } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  if (ext === '.ts') {
    const worker = pathToFileURL(join(dirname(here), `${WORKER}.ts`)).href;
    const code = `import(${JSON.stringify(tsxApi(here))}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`;
    return { entry: code, options: { eval: true } };
  }
  for (const dir of [dirname(here), dirname(dirname(here))]) {
    const file = join(dir, `${WORKER}${ext}`);
    if (existsSync(file)) return { entry: file, options: {} };
  }
  throw new Error(
    `@anomalia/db-sqlite: the reader thread's entry ${WORKER}${ext} is missing next to ${here}`,
  );
}

/** The ESM API of tsx (a devDependency: only source runs need it). */
function tsxApi(from: string): string {
  const manifest = createRequire(from).resolve('tsx/package.json');
  const exports = JSON.parse(readFileSync(manifest, 'utf8')).exports as Record<
    string,
    { import: { default: string } }
  >;
  return pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Rejected already (its signal aborted): the answer, when it comes, is dropped. */
  dropped: boolean;
  cleanup(): void;
}

/** What `openThreadedTreatmentReader` returns. */
class ThreadedReader implements ThreadedTreatmentReader {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** close() was called: no new calls. */
  private closed = false;
  /** Why the thread is gone, once it is. */
  private gone: string | null = null;
  private closing: Promise<void> | null = null;
  /** The control points the thread sent, for the answers that only name them. */
  private readonly held = new HeldPoints();

  constructor(
    readonly path: string,
    private readonly worker: Worker,
  ) {}

  /** Routes a message from the thread (after the open). */
  receive(message: ReaderThreadMessage): void {
    if (message.kind !== 'result') return;
    if (message.ok && message.points) {
      // Even for a call dropped meanwhile: the thread now counts on this side holding its points.
      try {
        this.held.complete(message.value as LoadedRecords, message.points);
      } catch (error) {
        this.fail(`reader thread for ${this.path}: ${(error as Error).message}`, error);
        void this.worker.terminate();
        return;
      }
    }
    const entry = this.pending.get(message.id);
    if (!entry) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    entry.cleanup();
    if (entry.dropped) return;
    if (message.ok) entry.resolve(message.value);
    else entry.reject(rebuildError(message.error));
  }

  /** The thread failed or exited: every pending call is rejected with `reason`. */
  fail(reason: string, cause?: unknown): void {
    if (this.gone !== null) return;
    this.gone = reason;
    for (const entry of this.pending.values()) {
      entry.cleanup();
      if (!entry.dropped) entry.reject(new Error(reason, cause === undefined ? {} : { cause }));
    }
    this.pending.clear();
  }

  /** The call that is being answered, when the thread reports a statement for `onQuery`. */
  current(): Pending | undefined {
    for (const entry of this.pending.values()) return entry;
    return undefined;
  }

  private call<T>(method: ReaderThreadMethod, args: unknown[], signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed || this.gone !== null) {
      return Promise.reject(new Error(`reader thread for ${this.path} is closed`));
    }
    return this.send<T>(method, args, signal);
  }

  private send<T>(method: ReaderThreadMethod, args: unknown[], signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const request: ReaderThreadRequest = { id, method, args };
      try {
        this.worker.postMessage(request);
      } catch (error) {
        // A function or other value structured clone refuses, in the arguments.
        reject(
          new ValidationError(
            `${method} arguments`,
            'values that can be sent to the reader thread (no functions, symbols or class instances with private state)',
            (error as Error).message,
          ),
        );
        return;
      }
      const entry: Pending = {
        resolve: resolve as (v: unknown) => void,
        reject,
        dropped: false,
        cleanup: () => {},
      };
      if (signal) {
        const onAbort = () => {
          entry.dropped = true;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, entry);
      // Keeps the process alive while an answer is awaited, and only then.
      if (this.pending.size === 1) this.worker.ref();
    });
  }

  listTreatments(query: TreatmentQueryInput, options: ReadOptions = {}): Promise<TreatmentPage> {
    return this.call('listTreatments', [query], options.signal);
  }

  loadRecords(ids: readonly number[], options: ReadOptions = {}): Promise<LoadedRecords> {
    return this.call('loadRecords', [ids], options.signal);
  }

  changesSince(
    watermark: Watermark | null,
    options: ChangeOptionsInput & ReadOptions = {},
  ): Promise<ChangePage> {
    const { signal, ...rest } = options ?? {};
    return this.call('changesSince', [watermark, rest], signal);
  }

  currentWatermark(options: ReadOptions = {}): Promise<Watermark> {
    return this.call('currentWatermark', [], options.signal);
  }

  maxKeys(): Promise<Record<TableName, number | null>> {
    return this.call('maxKeys', []);
  }

  tablePresence(): Promise<TablePresence> {
    return this.call('tablePresence', []);
  }

  unrestoredRuns(): Promise<SandboxRun[]> {
    return this.call('unrestoredRuns', []);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    try {
      // After every call already sent: those are answered first.
      if (this.gone === null) await this.send('close', []);
    } finally {
      this.gone ??= 'closed';
      await this.worker.terminate();
    }
  }

  /** Ends the thread abruptly, as a crash would (for tests). */
  terminateThread(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Opens a Mosaiq database read-only (as `openTreatmentReader` does, with the same options and the
 * same errors) in a worker thread; resolves once it is open. `options.onQuery` is called in this
 * thread, as the thread reports each statement. The thread does not keep the process alive while
 * no call is pending; close the reader when done.
 */
export async function openThreadedTreatmentReader(
  path: string,
  options: ThreadedReaderOptions = {},
): Promise<ThreadedTreatmentReader> {
  const { onQuery, heldPoints = DEFAULT_HELD_POINTS, ...rest } = options ?? {};
  if (!Number.isSafeInteger(heldPoints) || heldPoints < 0)
    throw new ValidationError('options.heldPoints', 'a whole number of control points ≥ 0', heldPoints);
  const init: ReaderThreadInit = { path, options: rest, forwardQueries: onQuery !== undefined, heldPoints };
  const start = workerStart();
  let worker: Worker;
  try {
    worker = new Worker(start.entry, { ...start.options, workerData: init });
  } catch (error) {
    if ((error as { name?: string }).name !== 'DataCloneError') throw error;
    throw new ValidationError(
      'options',
      'reader options that can be sent to a thread',
      (error as Error).message,
    );
  }
  let reader: ThreadedReader | null = null;
  let openFailed = false;
  return new Promise<ThreadedTreatmentReader>((resolve, reject) => {
    worker.on('message', (message: ReaderThreadMessage) => {
      if (message.kind === 'query') {
        try {
          onQuery?.(message.sql);
        } catch (error) {
          // As in the direct reader, a throwing onQuery fails the read it reports on.
          const entry = reader?.current();
          if (entry && !entry.dropped) {
            entry.dropped = true;
            entry.reject(error);
          } else if (!reader) {
            openFailed = true;
            reject(error);
          }
        }
      } else if (message.kind === 'ready') {
        // The open already failed (onQuery threw): nobody holds this reader, so it ends here.
        if (openFailed) void worker.terminate();
        else {
          reader = new ThreadedReader(path, worker);
          worker.unref();
          resolve(reader);
        }
      } else if (message.kind === 'open-failed') {
        reject(rebuildError(message.error));
        void worker.terminate();
      } else reader?.receive(message);
    });
    worker.on('error', (error) => {
      const reason = `reader thread for ${path} failed: ${error.message}`;
      if (reader) reader.fail(reason, error);
      else reject(new Error(reason, { cause: error }));
    });
    worker.on('messageerror', (error) => {
      const reason = `reader thread for ${path}: an answer could not be read (${error.message})`;
      if (reader) reader.fail(reason, error);
      else reject(new Error(reason, { cause: error }));
      void worker.terminate();
    });
    worker.on('exit', (code) => {
      const reason = `reader thread for ${path} exited (code ${code}) before answering`;
      if (reader) reader.fail(reason);
      else reject(new Error(reason));
    });
  });
}

/** Ends a threaded reader's thread abruptly, as a crash would: for tests of what callers see then. */
export function terminateReaderThread(reader: ThreadedTreatmentReader): Promise<number> {
  if (!(reader instanceof ThreadedReader))
    throw new TypeError('not a reader from openThreadedTreatmentReader');
  return reader.terminateThread();
}
