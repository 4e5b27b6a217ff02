export interface BackoffPolicy {
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform draw from
 * [0, min(max, base · 2^(attempt−1))]. Full jitter spreads a burst of failures
 * over the whole window, so a recovering provider is not hit by a thundering
 * herd. A provider's `retryAfterMs` is a floor: retrying sooner would fail again.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = Math.max(0, attempt - 1);
  // 2^exp overflows to Infinity for huge attempts; min() with the cap keeps it finite.
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** exp);
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}
