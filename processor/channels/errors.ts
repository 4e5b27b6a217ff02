/**
 * Senders classify failures by throwing one of these (inngest style); exactly
 * one place — `decide()` in ../outcome.ts — turns the classification into
 * ack / nak(delay) / term.
 */
export const SEND_ERROR_CODES = ["retryable", "permanent"] as const;
export type SendErrorCode = (typeof SEND_ERROR_CODES)[number];

/** A failure that may succeed later (timeouts, 5xx, 429, network errors). */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  readonly code = "retryable" as const;
  constructor(
    message: string,
    /** The provider asked us to wait at least this long (e.g. `Retry-After`). */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A failure that cannot succeed on retry (4xx, invalid address, refused URL).
 * `unreachable`: the provider said the address itself can never receive (a
 * device token it no longer knows, a hard bounce); the processor then ends the
 * notification `bounced` and suppresses later sends to that address for the tenant.
 */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
  readonly code = "permanent" as const;
  readonly unreachable: boolean;
  constructor(message: string, options?: ErrorOptions & { unreachable?: boolean }) {
    super(message, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/** What one provider call came to. */
export type SendOutcome =
  | { kind: "sent"; providerMessageId?: string }
  | { kind: "retryable"; error: string; retryAfterMs?: number }
  | { kind: "permanent"; error: string; unreachable?: true };

/** Predicate in the nats.js style: true for a `RetryableError`. */
export function isRetryableError(err: unknown): err is RetryableError {
  return err instanceof RetryableError;
}

/** Predicate in the nats.js style: true for a `PermanentError`. */
export function isPermanentError(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

/**
 * Turns whatever a sender threw into an outcome. Unknown errors count as
 * retryable: a bug or a hiccup should not burn a notification at once, and
 * `maxAttempts` still bounds it.
 */
export function classifyError(err: unknown): SendOutcome {
  if (isPermanentError(err)) return err.unreachable ? { kind: "permanent", error: err.message, unreachable: true } : { kind: "permanent", error: err.message };
  if (isRetryableError(err)) {
    return err.retryAfterMs === undefined
      ? { kind: "retryable", error: err.message }
      : { kind: "retryable", error: err.message, retryAfterMs: err.retryAfterMs };
  }
  return { kind: "retryable", error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}
