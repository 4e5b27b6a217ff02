import { z } from "zod";
import { EmailPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { redactEmailAddresses } from "./smtp-errors.ts";
import { parseRetryAfter, providerFetch, readBounded } from "./http-response.ts";
import type { Sender, SendResult } from "./types.ts";

export interface ResendSenderOptions {
  /** `re_…`, sent as a bearer token. */
  apiKey: string;
  /** The sender, `Name <address>` or an address on a domain verified with Resend. */
  from: string;
  /** Default `https://api.resend.com`; tests point it at a local peer. */
  baseUrl?: string;
  /** Per attempt, on top of the processor's own signal. */
  timeoutMs: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** Resend's error body: `{ statusCode, name, message }`. */
const ResendError = z.object({ name: z.string().optional(), message: z.string().optional() });
const ResendSent = z.object({ id: z.string() });

/** The error names that mean our key, its rights or our sending domain, not the message: fixing the configuration delivers what waited. */
const CONFIGURATION_ERRORS = new Set(["missing_api_key", "invalid_api_key", "restricted_api_key", "invalid_access"]);

/**
 * Classifies one `POST /emails` answer without throwing. A 2xx is sent even
 * without a readable id: retrying could mail the person twice. 401 and 403
 * (the key, its rights, an unverified domain), 408, 429 (rate limit or quota,
 * with `Retry-After`), a concurrent request with the same idempotency key and
 * 5xx are retried; other 4xx (a field Resend refuses, the key reused for
 * another body) fail the notification.
 */
export function classifyResendAnswer(status: number, body: string, retryAfter: string | null, now = Date.now()): SendResult | RetryableError | PermanentError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's page, a cut-off body): classify on the status alone.
  }
  if (status >= 200 && status < 300) {
    const sent = ResendSent.safeParse(parsed);
    return sent.success ? { providerMessageId: sent.data.id } : {};
  }
  const answer = ResendError.catch({}).parse(parsed ?? {});
  const said = answer.message === undefined ? "" : `: ${redactEmailAddresses(answer.message).slice(0, 200)}`;
  const why = `resend ${answer.name ?? `HTTP ${status}`} (HTTP ${status})${said}`;
  if (status === 408 || status === 429 || status >= 500) return new RetryableError(why, parseRetryAfter(retryAfter, now));
  if (status === 401 || status === 403 || CONFIGURATION_ERRORS.has(answer.name ?? ""))
    return new RetryableError(`${why} (check the Resend key and sending domain)`);
  if (status === 409 && answer.name === "concurrent_idempotent_requests") return new RetryableError(why);
  if (status < 400) return new RetryableError(`${why} (redirects are not followed: check the Resend base URL)`);
  return new PermanentError(why);
}

/**
 * Email through Resend's HTTP API: one JSON `POST /emails` per notification,
 * with the notification as its `Idempotency-Key`, so a retry after a timeout
 * that Resend did act on is answered from Resend's record (24 h) instead of
 * mailing twice.
 */
export function createResendSender(opts: ResendSenderOptions): Sender {
  const doFetch = opts.fetch ?? fetch;
  const endpoint = `${(opts.baseUrl ?? "https://api.resend.com").replace(/\/+$/, "")}/emails`;
  const authorization = `Bearer ${opts.apiKey}`;
  return {
    provider: "resend",
    async send(n, ctx) {
      const parsed = EmailPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid email payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const { to, subject, body, html, listUnsubscribe } = parsed.data;
      const headers =
        listUnsubscribe === undefined ? undefined : { "List-Unsubscribe": `<${listUnsubscribe}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
      const res = await providerFetch(
        "resend",
        doFetch,
        endpoint,
        {
          method: "POST",
          body: JSON.stringify({ from: opts.from, to: [to], subject, text: body, ...(html !== undefined ? { html } : {}), ...(headers ? { headers } : {}) }),
          headers: {
            authorization,
            "content-type": "application/json",
            accept: "application/json",
            // Resend refuses requests without one.
            "user-agent": "herald",
            "idempotency-key": `herald/${n.tenantId}/${n.id}`,
          },
        },
        { timeoutMs: opts.timeoutMs, signal: ctx.signal },
      );
      const outcome = classifyResendAnswer(res.status, await readBounded(res), res.headers.get("retry-after"));
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}
