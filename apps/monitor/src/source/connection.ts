import type { TablePresence } from '@anomalia/mosaiq';
import { type OpenSource, openSource, type SourceConfig, type SourceReader } from '@anomalia/qa-workflow';

/**
 * The source database, opened read-only on first use and opened again after a failed read: a
 * monitor started while its database is unreachable (a server restarting, a file not there yet)
 * keeps polling with back-off and works once it is back; the service's health says meanwhile
 * what failed and how often. `onOpen` runs after every opening (checks of the model against the
 * source: a failure there fails the poll with its message).
 */
export class SourceConnection {
  private current: Promise<OpenSource> | null = null;
  /** The reader the scorer and the cursor use: every call goes to the open reader of the moment. */
  readonly reader: SourceReader;

  constructor(
    private readonly config: SourceConfig,
    private readonly onOpen: (opened: OpenSource) => Promise<void> = async () => {},
  ) {
    const call =
      <K extends keyof SourceReader>(method: K) =>
      async (...args: unknown[]) => {
        const opened = await this.open();
        try {
          return await (opened.reader[method] as (...a: unknown[]) => unknown).apply(opened.reader, args);
        } catch (error) {
          await this.reset();
          throw error;
        }
      };
    this.reader = {
      listTreatments: call('listTreatments'),
      loadRecords: call('loadRecords'),
      changesSince: call('changesSince'),
      currentWatermark: call('currentWatermark'),
      maxKeys: call('maxKeys'),
      tablePresence: call('tablePresence') as () => Promise<TablePresence>,
      close: () => this.close(),
    } as SourceReader;
  }

  /** The open source, opening it when needed (a failed opening is retried on the next call). */
  open(): Promise<OpenSource> {
    if (!this.current) {
      const opening = (async () => {
        const opened = await openSource(this.config);
        try {
          await this.onOpen(opened);
        } catch (error) {
          await opened.close().catch(() => undefined);
          throw error;
        }
        return opened;
      })();
      this.current = opening;
      opening.catch(() => {
        if (this.current === opening) this.current = null;
      });
    }
    return this.current;
  }

  /** Closes the open source; the next call opens it again. */
  async reset(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (current) await current.then((o) => o.close()).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.reset();
  }
}
