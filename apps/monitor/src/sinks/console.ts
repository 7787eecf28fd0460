import { messageText, type NotificationMessage } from '../message';
import type { Sink } from './types';

/** Writes each notification as text to stdout or stderr (logs go to stderr as JSON). */
export class ConsoleSink implements Sink {
  readonly type = 'console' as const;

  constructor(
    readonly name: string,
    private readonly stream: NodeJS.WritableStream,
  ) {}

  async send(message: NotificationMessage): Promise<void> {
    const text = `${'─'.repeat(72)}\n${messageText(message)}\n`;
    await new Promise<void>((resolve, reject) => {
      this.stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {}
}
