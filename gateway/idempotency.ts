import type { Context as TraceContext } from "@opentelemetry/api";
import { withDeadline } from "../lib/deadline.ts";
import { maybeSpan, SPANS } from "../lib/telemetry/spans.ts";
import { IdempotencyKey } from "../schemas/request.ts";
import type { ResolvedDeps } from "./context.ts";
import { AppError, fieldErrors } from "./errors.ts";
import type { ClaimResult, StoredResponse } from "./store/types.ts";
import type { AcceptedView } from "../schemas/views.ts";

/** One request's idempotency record: which tenant, which key, which body. */
export interface IdempotencyScope {
  tenant: string;
  key: string;
  bodyHash: string;
}

/** The validated `Idempotency-Key` header, or null when the caller sent none. */
export function parseIdempotencyKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const parsed = IdempotencyKey.safeParse(header);
  if (parsed.success) return parsed.data;
  const errors = fieldErrors(parsed.error).map((e) => ({ ...e, path: "Idempotency-Key" }));
  throw new AppError("invalid_body", { detail: "The Idempotency-Key header is invalid", errors });
}

/**
 * Claims the key. Returns null when this request owns it now, the stored
 * response when it should be replayed, and throws 409 / 422 otherwise.
 * `trace` is the request's trace context, the parent of the check's span.
 */
export async function claimOrReplay(deps: ResolvedDeps, scope: IdempotencyScope, trace: TraceContext): Promise<StoredResponse | null> {
  let result: ClaimResult;
  try {
    result = await maybeSpan(deps.tracer, SPANS.idempotency, { parent: trace }, () =>
      deps.store.claim(scope.tenant, scope.key, scope.bodyHash, deps.options.pendingTtlMs),
    );
  } catch (cause) {
    // Without the store a duplicate could not be told apart; refusing is the only safe answer.
    throw new AppError("unavailable", { detail: "The idempotency store did not answer", retryAfter: 1, cause });
  }
  switch (result.kind) {
    case "claimed":
      return null;
    case "replay":
      return result.response;
    case "in_flight":
      throw new AppError("idempotency_in_flight", { retryAfter: 1 });
    case "mismatch":
      throw new AppError("idempotency_mismatch");
    default:
      return result satisfies never;
  }
}

/** Gives the key back after a failed publish so the same key can be retried; never masks the original error. */
export async function releaseQuietly(deps: ResolvedDeps, scope: IdempotencyScope | null): Promise<void> {
  if (scope === null) return;
  try {
    await deps.store.release(scope.tenant, scope.key);
  } catch (err) {
    // The pending claim still expires after pendingTtlMs; until then retries get 409.
    deps.logger.warn({ err, tenant: scope.tenant }, "could not release an idempotency claim");
  }
}

/**
 * How long a keyless answer waits for its read-your-writes copy: well above a
 * healthy round trip of any store, below the accept-latency alert, so a store
 * that hangs (connected but silent) cannot hold a 202 that is already durable.
 */
export const REMEMBER_DEADLINE_MS = 100;

/**
 * Records what was accepted: the replayable response and the read-your-writes
 * views, in one await. The messages are already durable, so a store failure
 * here is logged rather than turned into an error the client would retry. A
 * keyed answer waits for its record, which a retry must find to replay; a
 * keyless one waits at most `REMEMBER_DEADLINE_MS`, and a write still running
 * then logs its own failure should it come to one.
 */
export async function settle(
  deps: ResolvedDeps,
  tenant: string,
  scope: IdempotencyScope | null,
  response: StoredResponse,
  views: readonly AcceptedView[],
): Promise<void> {
  const { store, options } = deps;
  const recorded = Promise.all([
    scope ? store.complete(tenant, scope.key, scope.bodyHash, response, options.idempotencyTtlMs) : undefined,
    views.length > 0 ? store.remember(tenant, views, options.acceptedTtlMs) : undefined,
  ]).catch((err: unknown) => {
    // A warning, not an error: the id is derived from the key, so a retry still names this notification.
    deps.logger.warn({ err, tenant }, "accepted, but the idempotency store did not record it");
  });
  if (scope !== null) {
    await recorded;
    return;
  }
  try {
    await withDeadline(recorded, REMEMBER_DEADLINE_MS, () => new Error(`no answer within ${REMEMBER_DEADLINE_MS} ms`));
  } catch (err) {
    deps.logger.warn({ err, tenant }, "answered before the idempotency store remembered the notification");
  }
}
