import nodemailer from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import { EmailPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { classifySmtpError } from "./smtp-errors.ts";
import type { Sender } from "./types.ts";

export interface SmtpSenderOptions {
  /** `smtp://[user:pass@]host[:port]` (STARTTLS when offered) or `smtps://…` (implicit TLS), as nodemailer parses it. */
  url: string;
  /** RFC 5322 sender, e.g. `Herald <no-reply@example.com>`; its domain also names the Message-ID. */
  from: string;
  /** Upper bound on one send, connecting and queueing for a pooled connection included. */
  timeoutMs: number;
  /** Connections in the pool; sends beyond it wait for a free one. Default 5. */
  maxConnections?: number;
}

/** RFC 8058: the List-Unsubscribe URL takes a POST with this body, so a mail client can unsubscribe in one click. */
const ONE_CLICK = { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };

/** A sender that holds a connection pool; `close()` releases it on shutdown. */
export type SmtpSender = Sender & { close(): Promise<void> };

/** The domain of the sender address; throws at startup if there is none. */
export function senderDomain(from: string): string {
  const [first] = addressparser(from, { flatten: true });
  const domain = first?.address.split("@")[1];
  if (!domain) throw new Error(`email from address has no domain: ${JSON.stringify(from)}`);
  return domain;
}

/**
 * Email over SMTP through a pooled nodemailer transport. The Message-ID is
 * derived from the notification id, so every attempt at one notification
 * carries the same id and receivers can dedupe: a timed-out send may still
 * have been accepted by the server.
 */
export function createSmtpSender(opts: SmtpSenderOptions): SmtpSender {
  const domain = senderDomain(opts.from);
  const transport = nodemailer.createTransport({ pool: true, url: opts.url, maxConnections: opts.maxConnections ?? 5 });
  const inFlight = new Set<Promise<unknown>>();
  return {
    provider: "smtp",
    async send(n, ctx) {
      const parsed = EmailPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid email payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const { to, subject, body, html, listUnsubscribe } = parsed.data;
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const sending = transport.sendMail({
        from: opts.from,
        to,
        subject,
        text: body,
        ...(html !== undefined && { html }),
        messageId: `<${n.id}@${domain}>`,
        headers: { "X-Herald-Notification-Id": n.id, ...(listUnsubscribe !== undefined && ONE_CLICK) },
        // nodemailer writes it as `List-Unsubscribe: <url>`.
        ...(listUnsubscribe !== undefined && { list: { unsubscribe: listUnsubscribe } }),
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
      inFlight.add(sending);
      try {
        const info = await sending;
        // Servers that replace the Message-ID (Microsoft 365, SES) name their own; that is the one the delivered copy carries.
        return { providerMessageId: info.serverMessageId ?? info.messageId };
      } catch (err) {
        if (timeout.aborted) throw new RetryableError(`smtp send timed out after ${opts.timeoutMs} ms`, undefined, { cause: err });
        throw classifySmtpError(err);
      } finally {
        inFlight.delete(sending);
      }
    },
    /** Closes idle connections at once and waits for sends in flight (each bounded by `timeoutMs`). */
    async close() {
      transport.close();
      await Promise.allSettled(inFlight);
    },
  };
}
