import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as NodemailerModule from 'nodemailer';
import type { Transporter } from 'nodemailer';

/** One message as it leaves: the outbox row's fields and a stable Message-ID. */
export interface OutgoingMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

export interface MailTransport {
  /** Resolves once the server accepted the message (or its file is written); rejects otherwise. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
  /** Where mail goes, for the start-up log: never the SMTP URL, which may hold a password. */
  readonly target: string;
}

/**
 * SMTP through nodemailer when a URL is configured, else `.eml` files in a folder (nodemailer's
 * stream transport builds the exact message an SMTP server would have received). nodemailer is
 * loaded on first use: every module loaded at start delays readiness.
 */
export function createMailTransport(config: { smtpUrl: string | undefined; outboxDir: string }): MailTransport {
  return config.smtpUrl ? new SmtpTransport(config.smtpUrl) : new FolderTransport(config.outboxDir);
}

type Nodemailer = typeof NodemailerModule;
let nodemailer: Promise<Nodemailer> | undefined;
function loadNodemailer(): Promise<Nodemailer> {
  nodemailer ??= import('nodemailer');
  return nodemailer;
}

function envelopeOf(mail: OutgoingMail) {
  return {
    messageId: mail.messageId,
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    ...(mail.html === null ? {} : { html: mail.html }),
  };
}

class SmtpTransport implements MailTransport {
  readonly target: string;
  #transporter: Promise<Transporter> | undefined;

  constructor(private readonly url: string) {
    const parsed = new URL(url);
    this.target = `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}`;
  }

  async send(mail: OutgoingMail): Promise<void> {
    this.#transporter ??= loadNodemailer().then((lib) =>
      lib.createTransport({
        url: this.url,
        // A mail server that goes silent fails the attempt (it is retried later) instead of holding the worker.
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      }),
    );
    await (await this.#transporter).sendMail(envelopeOf(mail));
  }

  close(): void {
    void this.#transporter?.then((transporter) => transporter.close());
  }
}

class FolderTransport implements MailTransport {
  constructor(private readonly dir: string) {}

  get target(): string {
    return this.dir;
  }

  async send(mail: OutgoingMail): Promise<void> {
    const lib = await loadNodemailer();
    const built = await lib.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }).sendMail(envelopeOf(mail));
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Mail may carry single-use links: readable by the server's user only, and whole or absent.
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^A-Za-z0-9.-]/g, '')}.eml`;
    const partial = path.join(this.dir, `.${randomUUID()}.tmp`);
    await writeFile(partial, built.message as Buffer, { mode: 0o600 });
    await rename(partial, path.join(this.dir, name));
  }

  close(): void {}
}
