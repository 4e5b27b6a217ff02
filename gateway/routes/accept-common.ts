import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { canonicalJson } from "../canonical-json.ts";
import type { TenantEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { dailyCapReached, type CapHold, type ChannelCaps } from "../daily-caps.ts";
import { parseIdempotencyKey, releaseQuietly, type IdempotencyScope } from "../idempotency.ts";
import type { Sha256Hex } from "../ids.ts";
import { routeLabel } from "../middleware/telemetry.ts";
import type { StoredResponse } from "../store/types.ts";

// What the accept routes share: the key and its ids, a replayed answer, a 503.

export const JSON_HEADERS = { "content-type": "application/json" };

const encoder = new TextEncoder();

/**
 * The request's Idempotency-Key with its body's hash, and the ids the key
 * names (derived, so a retry gets them whatever the store lost); null
 * without a key. The hash is of the parsed body in canonical form, so the
 * same JSON serialized differently is the same request.
 */
export async function keyedBy<T>(
  c: Context<TenantEnv>,
  body: unknown,
  idsOf: (sha256: Sha256Hex, tenant: string, key: string) => T | Promise<T>,
): Promise<{ scope: IdempotencyScope; ids: T } | null> {
  const key = parseIdempotencyKey(c.req.header("idempotency-key"));
  if (key === null) return null;
  const { tenant, deps } = c.var;
  // Both synchronous with Bun's native hasher; awaited together when a runtime's hasher is not.
  const bodyHash = deps.hashBody(encoder.encode(canonicalJson(body)));
  const ids = idsOf(deps.hashBody, tenant, key);
  if (typeof bodyHash === "string" && !(ids instanceof Promise)) return { scope: { tenant, key, bodyHash }, ids };
  const [hash, resolved] = await Promise.all([bodyHash, ids]);
  return { scope: { tenant, key, bodyHash: hash }, ids: resolved };
}

export function replay(c: Context<TenantEnv>, stored: StoredResponse): Response {
  c.var.deps.metrics.idempotencyReplay(routeLabel(c));
  return c.body(stored.body, stored.status as ContentfulStatusCode, { ...JSON_HEADERS, "idempotency-replayed": "true" });
}

export function unavailable(cause: unknown): AppError {
  return new AppError("unavailable", { detail: "The message log did not acknowledge the notification; retry", retryAfter: 1, cause });
}

/**
 * Takes the request's notifications (per channel) from the tenant's daily
 * caps, after the key's claim, so a replay never counts. Null when no
 * channel asked has a cap; synchronous then. A store that does not answer
 * gives the key back before its 503 propagates.
 */
export function holdCaps(c: Context<TenantEnv>, scope: IdempotencyScope | null, wanted: ChannelCaps): CapHold | null | Promise<CapHold | null> {
  const { deps, tenant } = c.var;
  if (deps.capGate === undefined) return null;
  const giveKeyBack = async (err: unknown): Promise<never> => {
    await releaseQuietly(deps, scope);
    throw err;
  };
  try {
    const held = deps.capGate.hold(tenant, wanted);
    return held instanceof Promise ? held.catch(giveKeyBack) : held;
  } catch (err) {
    return giveKeyBack(err);
  }
}

/** Refused by a daily cap: the key is given back, so the same request tomorrow is a first try, and the 429 thrown. */
export async function capRefused(c: Context<TenantEnv>, scope: IdempotencyScope | null, hold: CapHold, path: string): Promise<never> {
  await releaseQuietly(c.var.deps, scope);
  throw dailyCapReached(hold, path);
}
