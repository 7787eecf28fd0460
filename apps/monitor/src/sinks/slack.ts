import { messageText, type NotificationMessage } from '../message';
import { postJson } from './http';
import type { Sink } from './types';

/**
 * A Slack-style incoming webhook (`{ "text": … }`, accepted by Slack, Mattermost, Rocket.Chat).
 * Such receivers cannot dedupe: the text ends with the notification id so people can.
 */
export class SlackSink implements Sink {
  readonly type = 'slack' as const;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: NotificationMessage, signal: AbortSignal): Promise<void> {
    const [title, ...rest] = messageText(message).split('\n');
    const text = `*${title}*\n${rest.join('\n')}`;
    await postJson({
      sink: this.name,
      url: this.url,
      body: JSON.stringify({ text }),
      headers: {},
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  async close(): Promise<void> {}
}
