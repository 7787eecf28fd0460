import nodemailer from 'nodemailer';
import { messageText, type NotificationMessage } from '../message';
import { type Sink, SinkError } from './types';

export interface EmailOptions {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly requireTls: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly from: string;
  readonly to: readonly string[];
  readonly subjectPrefix: string;
  readonly timeoutMs: number;
}

/** The Message-ID of a notification's email: the same on every retry, so mail clients can dedupe. */
export const messageIdOf = (id: string) => `<${id}@anomalia-monitor>`;

/** Sends each notification as a plain-text email (with the JSON attached) over SMTP. */
export class EmailSink implements Sink {
  readonly type = 'email' as const;
  private readonly transport;

  constructor(
    readonly name: string,
    private readonly options: EmailOptions,
  ) {
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls,
      ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async send(message: NotificationMessage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new SinkError(this.name, 'aborted');
    try {
      await this.transport.sendMail({
        from: this.options.from,
        to: [...this.options.to],
        subject: `${this.options.subjectPrefix} ${message.summary.title}`.trim(),
        text: messageText(message),
        messageId: messageIdOf(message.id),
        headers: { 'X-Anomalia-Idempotency-Key': message.id },
        attachments: [
          {
            filename: 'notification.json',
            content: JSON.stringify(message, null, 2),
            contentType: 'application/json',
          },
        ],
      });
    } catch (e) {
      throw new SinkError(
        this.name,
        `SMTP ${this.options.host}:${this.options.port} failed: ${(e as Error).message}`,
      );
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
