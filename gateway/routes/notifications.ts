import { Hono, type Context } from "hono";
import { routeLabel } from "../middleware/telemetry.ts";
import { traceContextOf } from "../middleware/telemetry.ts";
import { BatchRequest, parseNotificationRequest } from "../../schemas/request.ts";
import { accept } from "../accept.ts";
import { acceptBatch } from "../accept-batch.ts";
import { readJsonBody } from "../body.ts";
import type { TenantEnv } from "../context.ts";
import { invalidBody } from "../errors.ts";
import { claimOrReplay, releaseQuietly, settle } from "../idempotency.ts";
import { batchIdsForKey, idForKey } from "../ids.ts";
import { rateLimited } from "../middleware/rate-limit.ts";
import { capRefused, holdCaps, JSON_HEADERS, keyedBy, replay, unavailable } from "./accept-common.ts";
import { cancelNotification } from "./cancel.ts";
import { isTemplateSend, sendByTemplate } from "./template-send.ts";
import { findNotification, notFound, parseListQuery, recallQuietly } from "../lookup.ts";
import type { StoredResponse } from "../store/types.ts";
import { logInfo } from "../../lib/telemetry/log-lines.ts";
import { isUuid } from "../../schemas/storable.ts";

/**
 * A batch holds up to 1,000 items, so it may be larger than one request; 16×
 * the single limit (4 MiB by default) fits realistic items while still
 * bounding what one request can make the gateway buffer.
 */
export const BATCH_BODY_LIMIT_FACTOR = 16;

/**
 * A batch costs a token per item: the rate limit middleware took one for the
 * request, this takes the rest (a replay costs only the request's). Returns
 * the milliseconds to wait when refused, else 0.
 */
async function chargeItems(c: Context<TenantEnv>, items: number): Promise<number> {
  const { rateLimiter, metrics } = c.var.deps;
  if (rateLimiter === undefined || items <= 1) return 0;
  const { waitMs } = await rateLimiter.take(c.var.tenant, items - 1);
  if (waitMs > 0) metrics.rateLimited(routeLabel(c));
  return waitMs;
}

/** `/v1/notifications`: accept one or many, read one, list, and a notification's attempts. */
export function notificationRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.post("/", async (c) => {
    const { deps, tenant, requestId } = c.var;
    const body = await readJsonBody(c.req.raw, deps.options.bodyLimitBytes);
    if (isTemplateSend(body)) return sendByTemplate(c, body);
    const parsed = parseNotificationRequest(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const keyed = await keyedBy(c, body, idForKey);
    const scope = keyed?.scope ?? null;
    const acceptance = accept(parsed.data, {
      tenant,
      idempotencyKey: scope?.key ?? null,
      correlationId: requestId,
      now: new Date(),
      id: keyed?.ids,
      requestHash: scope?.bodyHash,
    });
    const trace = traceContextOf(c);
    const stored = scope ? await claimOrReplay(deps, scope, trace) : null;
    if (stored) return replay(c, stored);
    const { envelope } = acceptance;
    const held = holdCaps(c, scope, { [envelope.channel]: 1 });
    const hold = held instanceof Promise ? await held : held;
    if (hold !== null && !hold.admit(envelope.channel)) return capRefused(c, scope, hold, "channel");
    try {
      await deps.publisher.publish(envelope, acceptance.msgId, trace);
    } catch (err) {
      await Promise.all([releaseQuietly(deps, scope), hold?.giveBack([envelope.channel])]);
      throw unavailable(err);
    }
    deps.metrics.accepted(envelope.channel, envelope.priority);
    logInfo(deps.logger, { correlationId: requestId, notificationId: envelope.id, tenantId: tenant, channel: envelope.channel }, "notification accepted");
    const response: StoredResponse = { status: 202, body: JSON.stringify(acceptance.body) };
    await settle(deps, tenant, scope, response, [acceptance.view]);
    return c.body(response.body, 202, JSON_HEADERS);
  });

  routes.post("/batch", async (c) => {
    const { deps, tenant, requestId } = c.var;
    const body = await readJsonBody(c.req.raw, deps.options.bodyLimitBytes * BATCH_BODY_LIMIT_FACTOR);
    const parsed = BatchRequest.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const keyed = await keyedBy(c, body, batchIdsForKey);
    const scope = keyed?.scope ?? null;
    const trace = traceContextOf(c);
    const stored = scope ? await claimOrReplay(deps, scope, trace) : null;
    if (stored) return replay(c, stored);
    const waitMs = await chargeItems(c, parsed.data.notifications.length);
    if (waitMs > 0) {
      // Refused before anything was published: give the key back so the retry is a first try.
      await releaseQuietly(deps, scope);
      throw rateLimited(deps.rateLimiter, tenant, waitMs);
    }
    const ctx = { tenant, key: scope?.key ?? null, idOf: keyed?.ids, requestHash: scope?.bodyHash, correlationId: requestId, now: new Date(), trace };
    const outcome = await acceptBatch(deps, parsed.data.notifications, ctx, (wanted) => holdCaps(c, scope, wanted));
    if (outcome.accepted === 0 && outcome.unavailable > 0) {
      // Nothing became durable: like a single request, keep nothing so the same key can be retried.
      await releaseQuietly(deps, scope);
      throw unavailable(outcome.publishError);
    }
    // Every valid item past a cap: one 429 for the request, as a single send would get.
    if (outcome.accepted === 0 && outcome.capped !== null) return capRefused(c, scope, outcome.capped, "notifications");
    if (outcome.unavailable > 0)
      deps.logger.warn({ err: outcome.publishError, failed: outcome.unavailable, correlationId: requestId, tenantId: tenant }, "batch partly published");
    logInfo(deps.logger, { correlationId: requestId, tenantId: tenant }, "batch accepted", { accepted: outcome.accepted, items: outcome.results.length });
    // A partial answer is stored too: its accepted ids are durable, and a replay must not mint new ones.
    const status = outcome.accepted === outcome.results.length ? 202 : 207;
    const response: StoredResponse = { status, body: JSON.stringify({ results: outcome.results }) };
    await settle(deps, tenant, scope, response, outcome.views);
    return c.body(response.body, status, JSON_HEADERS);
  });

  routes.get("/", async (c) => {
    const { deps, tenant } = c.var;
    const query = parseListQuery(c.req.query());
    return c.json(await deps.reader.list(tenant, query));
  });

  routes.get("/:id", async (c) => {
    const { deps, tenant } = c.var;
    const id = c.req.param("id");
    // A malformed id cannot exist; answering here also keeps it away from Postgres's uuid cast.
    const view = isUuid(id) ? await findNotification(deps, tenant, id) : null;
    if (view === null) throw notFound();
    return c.json(view);
  });

  routes.post("/:id/cancel", cancelNotification);

  routes.get("/:id/attempts", async (c) => {
    const { deps, tenant } = c.var;
    const id = c.req.param("id");
    if (!isUuid(id)) throw notFound();
    const [attempts, recalled] = await Promise.all([deps.reader.attempts(tenant, id), recallQuietly(deps, tenant, id)]);
    // Accepted but not yet persisted: it exists, it just has no attempts yet.
    if (attempts === null && recalled === null) throw notFound();
    return c.json({ data: attempts ?? [] });
  });

  return routes;
}
