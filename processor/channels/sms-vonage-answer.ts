import { z } from "zod";
import { PermanentError, RetryableError } from "./errors.ts";
import { parseRetryAfter } from "./http-response.ts";
import { redactPhoneNumbers } from "./sms-twilio-answer.ts";
import type { SendResult } from "./types.ts";

/** Vonage's errors are problem JSON; a refused field is named in `invalid_parameters`. */
const VonageProblem = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  detail: z.string().optional(),
  invalid_parameters: z.array(z.object({ name: z.string().optional() }).catch({})).optional(),
});
const VonageAccepted = z.object({ message_uuid: z.string().min(1) });

/** Problem types about our account, not the message: a barred or suspended account, an unprovisioned key, no credit. */
const ACCOUNT_PROBLEMS = new Set(["unprovisioned", "account-suspended", "low-balance", "invalid-api-key", "1060", "1070"]);

/**
 * Classifies one `POST /v1/messages` answer without throwing. A 2xx is sent even
 * without a readable uuid: retrying would text the person twice. Credentials,
 * account and balance answers are retryable: the operator's setup is wrong, not
 * the message, and the attempt limit still bounds them. A refused number is an
 * ordinary permanent failure, not `unreachable`: Vonage answers it like any
 * other invalid parameter, which does not say the number can never receive.
 */
export function classifyVonageAnswer(status: number, body: string, retryAfter: string | null, now = Date.now()): SendResult | RetryableError | PermanentError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's page, a cut-off body): classify on the status alone.
  }
  if (status >= 200 && status < 300) {
    const sent = VonageAccepted.safeParse(parsed);
    return sent.success ? { providerMessageId: sent.data.message_uuid } : {};
  }
  const problem = VonageProblem.catch({}).parse(parsed ?? {});
  // The type is a documentation URL whose fragment names the error: `…#1150`, `…#invalid-params`.
  const code = problem.type?.split("#")[1] || undefined;
  const fields = (problem.invalid_parameters ?? []).flatMap((p) => (p.name === undefined ? [] : [p.name]));
  const text = [problem.title, problem.detail].filter((s) => s !== undefined && s !== "").join(": ");
  const said = text === "" ? "" : `: ${redactPhoneNumbers(text).slice(0, 200)}`;
  const why = `vonage ${code ?? `HTTP ${status}`} (HTTP ${status})${said}${fields.length > 0 ? ` [${fields.join(", ").slice(0, 100)}]` : ""}`;
  if (status === 408 || status === 429 || status >= 500) return new RetryableError(why, parseRetryAfter(retryAfter, now));
  if (status === 401) return new RetryableError(`${why} (check the Vonage API key and secret)`);
  if (status === 402 || status === 403 || ACCOUNT_PROBLEMS.has(code ?? ""))
    return new RetryableError(`${why} (check the Vonage API key, secret and account balance)`);
  if (status < 400) return new RetryableError(`${why} (redirects are not followed: check the Vonage base URL)`);
  return new PermanentError(why);
}
