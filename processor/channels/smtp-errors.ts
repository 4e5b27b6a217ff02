import { PermanentError, RetryableError } from "./errors.ts";

/**
 * 5xx replies that speak of the session or our credentials, not the message:
 * 503 bad sequence of commands, 530 authentication required, 534/535/538
 * authentication refused.
 */
const NOT_ABOUT_THE_MESSAGE_REPLIES = new Set([503, 530, 534, 535, 538]);

/** The fields nodemailer puts on its errors, read defensively. */
interface SmtpFailure {
  code?: string;
  command?: string;
  responseCode?: number;
  message: string;
}

function readFailure(err: unknown): SmtpFailure {
  if (!(err instanceof Error)) return { message: String(err) };
  const f = err as Error & Partial<Record<"code" | "command" | "responseCode", unknown>>;
  return {
    message: err.message,
    ...(typeof f.code === "string" && { code: f.code }),
    ...(typeof f.command === "string" && { command: f.command }),
    ...(typeof f.responseCode === "number" && { responseCode: f.responseCode }),
  };
}

const EMAIL_LIKE = /[^\s<>"'()[\],;:]+@[^\s<>"'()[\],;:]+/g;

/** The text with anything address-like replaced: providers' messages quote the recipient, and errors end up in events and rows. */
export function redactEmailAddresses(text: string): string {
  return text.replace(EMAIL_LIKE, "[redacted]");
}

const MAX_DETAIL = 300;

/**
 * One line for logs and `lastError`: code, command and the server's reply
 * (nodemailer appends it to the message) with anything address-like redacted,
 * since replies often echo the recipient.
 */
function describeSmtpFailure(f: SmtpFailure): string {
  const detail = redactEmailAddresses(f.message).replace(/\s+/g, " ").trim().slice(0, MAX_DETAIL);
  const where = [f.code ?? "error", f.command].filter(Boolean).join(" ");
  return `smtp ${where}: ${detail}`;
}

/**
 * True when the server refused this message for good. The envelope and the
 * data are refused with a 5xx; MAIL FROM is refused for our sender (config)
 * unless the reply is 552, the message being too large. A refusal before
 * anything was sent (no reply code) is an address or size the server can never take.
 */
function refusesTheMessage(f: SmtpFailure): boolean {
  if (f.code !== "EENVELOPE" && f.code !== "EMESSAGE") return false;
  if (f.responseCode === undefined) return true;
  if (f.responseCode < 500 || f.responseCode > 599 || NOT_ABOUT_THE_MESSAGE_REPLIES.has(f.responseCode)) return false;
  return f.command !== "MAIL FROM" || f.responseCode === 552;
}

/**
 * The one place that turns an SMTP failure into the sender outcome. Permanent
 * only when the server refused this message (EENVELOPE / EMESSAGE with a 5xx,
 * see `refusesTheMessage`). Everything else is retryable: 4xx replies, and the
 * failures about our configuration or the server rather than the message
 * (EAUTH, ENOAUTH, ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL,
 * EABORT, ...), which a fixed config or a recovered server delivers; the
 * attempt limit still bounds them.
 */
export function classifySmtpError(err: unknown): RetryableError | PermanentError {
  const f = readFailure(err);
  const message = describeSmtpFailure(f);
  return refusesTheMessage(f) ? new PermanentError(message, { cause: err }) : new RetryableError(message, undefined, { cause: err });
}
