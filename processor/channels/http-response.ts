import { PermanentError, RetryableError } from "./errors.ts";

/** A provider asking for more than this is treated as asking for this. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** `Retry-After` as delay-seconds or an HTTP date → milliseconds, clamped to [0, 1 h]. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Classifies an HTTP answer: 2xx returns, 408/429/5xx throw `RetryableError`,
 * 3xx (we never follow redirects: they could lead anywhere, including inside
 * our network) and other 4xx throw `PermanentError`.
 */
export function checkHttpStatus(status: number, retryAfter: string | null, now = Date.now()): void {
  if (status >= 200 && status < 300) return;
  if (status === 408 || status === 429 || status >= 500) {
    throw new RetryableError(`HTTP ${status}`, parseRetryAfter(retryAfter, now));
  }
  if (status >= 300 && status < 400) throw new PermanentError(`HTTP ${status}: redirects are not followed`);
  throw new PermanentError(`HTTP ${status}`);
}

/** An answer body is read up to this many characters: enough for any provider's JSON, never a whole stream. */
const MAX_BODY_CHARS = 16_384;

/** Reads at most `MAX_BODY_CHARS`; a failure mid-body keeps what arrived. */
export async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < MAX_BODY_CHARS) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch {
    // Classified below on what we have; the status decides.
  }
  await reader.cancel().catch(() => undefined);
  return text.slice(0, MAX_BODY_CHARS);
}

/**
 * One provider request, bounded by `timeoutMs` and the processor's signal,
 * redirects never followed. A request that never got an answer (timeout,
 * abandoned, network) throws `RetryableError` naming the provider and why.
 */
export async function providerFetch(
  provider: string,
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  opts: { timeoutMs: number; signal: AbortSignal },
): Promise<Response> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    return await doFetch(url, { ...init, redirect: "manual", signal: AbortSignal.any([opts.signal, timeout]) });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const why = timeout.aborted
      ? `${provider} timed out after ${opts.timeoutMs} ms`
      : opts.signal.aborted
        ? `${provider} call abandoned by the processor`
        : `${provider} network error: ${detail}`;
    throw new RetryableError(why, undefined, { cause: err });
  }
}
