import { type HeraldApiError, type HeraldError, HeraldNetworkError } from "./errors.ts";

/** How a call retries; every field has a default. */
export interface RetryOptions {
  /** Attempts per call, the first included; 1: never retry. Default 4. */
  maxAttempts?: number;
  /** The backoff before the second attempt's ceiling; each later one doubles it. Default 200 ms. */
  baseDelayMs?: number;
  /** The largest backoff ceiling. Default 5,000 ms. */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Whether another attempt may help and cannot do anything twice: 429 and 503
 * stored nothing; 409 is the same Idempotency-Key still in flight; a network
 * error is repeated only when the request is safe to repeat (a GET, PUT or
 * DELETE, or one carrying an Idempotency-Key). No other 4xx is retried.
 */
export function isRetryable(err: HeraldError, repeatable: boolean): boolean {
  if (err instanceof HeraldNetworkError) return repeatable;
  const api = err as HeraldApiError;
  switch (api.status) {
    case 429:
    case 503:
      return true;
    case 409:
      return api.code === "idempotency_in_flight";
    default:
      return false;
  }
}

/** Exponential backoff with full jitter; `Retry-After`, when the gateway sent one, instead. */
export function delayBefore(attempt: number, err: HeraldError, opts: Required<RetryOptions>, random: () => number = Math.random): number {
  const retryAfter = (err as Partial<HeraldApiError>).retryAfter;
  if (retryAfter !== undefined) return retryAfter * 1000;
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A UUID for an Idempotency-Key; `crypto.randomUUID` where the runtime has it (browsers: secure contexts only). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
