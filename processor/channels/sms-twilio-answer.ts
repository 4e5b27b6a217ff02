import { z } from "zod";
import { PermanentError, RetryableError } from "./errors.ts";
import { parseRetryAfter } from "./http-response.ts";
import type { SendResult } from "./types.ts";

const TwilioAnswer = z.object({ sid: z.string().optional(), code: z.number().optional(), message: z.string().optional() });

/** Logs redact PII, and Twilio's messages quote the number, with or without its `+`. */
export function redactPhoneNumbers(text: string): string {
  return text.replace(/(?<![\w+])\+?\d{6,15}(?!\w)/g, "[number]");
}

/**
 * Classifies one Messages API answer without throwing. A 2xx is sent even without a
 * readable sid: retrying would text the person twice. Credential, permission and
 * redirect answers are retryable: the operator's config is wrong, not the message,
 * and the attempt limit still bounds them. Other 4xx carry Twilio's code.
 */
export function classifyTwilioAnswer(status: number, body: string, retryAfter: string | null, now = Date.now()): SendResult | RetryableError | PermanentError {
  let answer: z.infer<typeof TwilioAnswer> = {};
  try {
    answer = TwilioAnswer.catch({}).parse(JSON.parse(body));
  } catch {
    // Not JSON (a proxy's page, a cut-off body): classify on the status alone.
  }
  if (status >= 200 && status < 300) return answer.sid === undefined ? {} : { providerMessageId: answer.sid };
  const said = answer.message === undefined ? "" : `: ${redactPhoneNumbers(answer.message).slice(0, 200)}`;
  const why = `twilio ${answer.code ?? `HTTP ${status}`}${said}`;
  if (status === 408 || status === 429 || status >= 500) return new RetryableError(why, parseRetryAfter(retryAfter, now));
  if (status === 401 || status === 403 || answer.code === 20003) return new RetryableError(`${why} (check the Twilio credentials)`);
  if (status < 400) return new RetryableError(`${why} (redirects are not followed: check the Twilio base URL)`);
  return new PermanentError(why);
}
