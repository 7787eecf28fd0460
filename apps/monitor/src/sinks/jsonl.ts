import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { NotificationMessage } from '../message';
import { type Sink, SinkError } from './types';

/**
 * Appends each notification as one JSON line and fsyncs before reporting success, so a delivered
 * notification is on disk. After a crash between the write and its record the line can appear
 * twice: readers dedupe on `id`.
 */
export class JsonlSink implements Sink {
  readonly type = 'jsonl' as const;
  private handle: FileHandle | null = null;

  constructor(
    readonly name: string,
    readonly path: string,
  ) {}

  async send(message: NotificationMessage): Promise<void> {
    try {
      if (!this.handle) {
        await mkdir(dirname(this.path), { recursive: true });
        this.handle = await open(this.path, 'a');
      }
      await this.handle.appendFile(`${JSON.stringify(message)}\n`, 'utf8');
      await this.handle.sync();
    } catch (e) {
      await this.close();
      throw new SinkError(
        this.name,
        `cannot append to ${this.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close().catch(() => undefined);
  }
}
