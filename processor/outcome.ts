import { CHANNELS, type AttemptOutcome, type Channel } from "../schemas/enums.ts";
import type { SendOutcome } from "./channels/errors.ts";
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";

export interface RetryPolicy extends BackoffPolicy {
  maxAttempts: number;
}

/** Each channel's retry policy: the global one, with what a channel sets of its own over it. */
export function retryPolicies(global: RetryPolicy, own: ReadonlyMap<Channel, Partial<RetryPolicy>> = new Map()): Record<Channel, RetryPolicy> {
  return Object.fromEntries(CHANNELS.map((channel) => [channel, { ...global, ...own.get(channel) }])) as Record<Channel, RetryPolicy>;
}

/** What happens to a message and its row after a send. */
export type Decision =
  | { action: "ack"; status: "sent" }
  | { action: "nak"; status: "retrying"; delayMs: number; error: string }
  | { action: "term"; status: "failed"; error: string }
  // The provider said the address can never receive: no dead letter (nothing to replay), and the address is suppressed.
  | { action: "term"; status: "bounced"; error: string };

/**
 * The one place that maps a send outcome to ack / nak(delay) / term.
 * `attempt` is the 1-based number of the attempt that just finished; the
 * budget and the backoff count from `base`, the attempts made before a
 * replay (processor/dead-letter-admin.ts), so a replayed notification starts afresh.
 */
export function decide(outcome: SendOutcome, attempt: number, policy: RetryPolicy, random?: () => number, base = 0): Decision {
  switch (outcome.kind) {
    case "sent":
      return { action: "ack", status: "sent" };
    case "retryable": {
      const inBudget = attempt - base;
      if (inBudget < policy.maxAttempts) {
        return { action: "nak", status: "retrying", delayMs: backoffDelay(inBudget, policy, outcome.retryAfterMs, random), error: outcome.error };
      }
      const replayed = base > 0 ? `, ${inBudget} since the replay` : "";
      return { action: "term", status: "failed", error: `${outcome.error} (gave up after ${attempt} attempts${replayed})` };
    }
    case "permanent":
      return outcome.unreachable ? { action: "term", status: "bounced", error: outcome.error } : { action: "term", status: "failed", error: outcome.error };
    default:
      return unreachable(outcome);
  }
}

/** The `delivery_attempts.outcome` column value of a send outcome. */
export function attemptOutcome(outcome: SendOutcome): AttemptOutcome {
  switch (outcome.kind) {
    case "sent":
      return "sent";
    case "retryable":
      return "retryable_error";
    case "permanent":
      return "permanent_error";
    default:
      return unreachable(outcome);
  }
}

/** Exhaustiveness check for `switch` statements: fails to compile when a case is missing. */
export function unreachable(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
