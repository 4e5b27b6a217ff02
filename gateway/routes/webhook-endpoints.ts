import { Hono, type Context } from "hono";
import type { z } from "zod";
import { decodeCursor } from "../../lib/db/cursor.ts";
import { listDeliveries, listDeliveryAttempts, replayFailed, retryDelivery } from "../../lib/db/webhook-deliveries.ts";
import {
  createEndpoint,
  deleteEndpoint,
  endpointSecrets,
  getEndpoint,
  listEndpoints,
  rotateEndpointSecret,
  updateEndpoint,
  type EndpointActor,
} from "../../lib/db/webhook-endpoints.ts";
import { refusedTarget } from "../../lib/webhook-target.ts";
import {
  CreateWebhookEndpointBody,
  DEFAULT_ENDPOINT_SECRET_GRACE_SECONDS,
  DeliveryListQuery,
  ReplayDeliveriesBody,
  RotateEndpointSecretBody,
  UpdateWebhookEndpointBody,
} from "../../schemas/status-webhooks.ts";
import { isUuid } from "../../schemas/storable.ts";
import { readJsonBody } from "../body.ts";
import type { TenantEnv, WebhookEndpointDeps } from "../context.ts";
import { AppError, invalidBody, invalidQuery } from "../errors.ts";

/** Answers that carry a secret: no cache on the way may keep them. */
const NO_STORE = { "cache-control": "no-store" };

function endpointDeps(c: Context<TenantEnv>): WebhookEndpointDeps & { tokenSecret: string } {
  const deps = c.var.deps.webhookEndpoints;
  if (deps === undefined) throw new AppError("unavailable", { detail: "Webhook endpoints are not wired to the database on this gateway" });
  if (deps.tokenSecret === undefined) {
    throw new AppError("unavailable", {
      detail: "Webhook endpoints are off: set HERALD_TOKEN_SECRET (32+ random characters), which seals their secrets, on the gateway",
    });
  }
  return { ...deps, tokenSecret: deps.tokenSecret };
}

function actorOf(c: Context<TenantEnv>): EndpointActor {
  return { actor: c.var.principal.actor, clientAddress: c.var.deps.clientAddress?.(c.req.raw) ?? null };
}

const missing = () => new AppError("not_found", { detail: "No such webhook endpoint" });

/** The `:id` as a uuid; anything else names no endpoint. */
function endpointId(c: Context<TenantEnv>): string {
  const id = c.req.param("endpointId") ?? "";
  if (!isUuid(id)) throw missing();
  return id;
}

async function parseBody<S extends z.ZodType>(c: Context<TenantEnv>, schema: S, optional = false): Promise<z.infer<S>> {
  const body = optional && c.req.raw.body === null ? {} : await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidBody(parsed.error);
  return parsed.data;
}

/** The SSRF rule on a URL being stored: 400 with the field path `url`. */
function checkUrl(url: string | undefined, allowPrivate: boolean): void {
  if (url === undefined) return;
  const refused = refusedTarget(new URL(url), allowPrivate);
  if (refused !== null) throw new AppError("invalid_body", { detail: "The request body failed validation", errors: [{ path: "url", message: refused }] });
}

/**
 * `/v1/webhook-endpoints`: where a tenant gets its notifications' lifecycle
 * events as signed POSTs (Standard Webhooks), its deliveries, the dead list and
 * replay. The processor sends them (processor/status-webhooks/).
 */
export function webhookEndpointRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.post("/", async (c) => {
    const { db, tokenSecret, allowPrivate } = endpointDeps(c);
    const body = await parseBody(c, CreateWebhookEndpointBody);
    checkUrl(body.url, allowPrivate);
    const made = await createEndpoint(db, tokenSecret, c.var.tenant, body, actorOf(c));
    return c.json({ ...made.endpoint, secret: made.secret }, 201, NO_STORE);
  });

  routes.get("/", async (c) => {
    const { db } = endpointDeps(c);
    const limit = Number(c.req.query("limit") ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw invalidQuery([{ path: "limit", message: "must be an integer from 1 to 200" }]);
    const raw = c.req.query("cursor");
    const cursor = raw === undefined ? undefined : decodeCursor(raw);
    if (cursor === null) throw invalidQuery([{ path: "cursor", message: "Not a cursor from this API" }]);
    return c.json(await listEndpoints(db, c.var.tenant, { limit, ...(cursor ? { cursor } : {}) }));
  });

  routes.get("/:endpointId", async (c) => {
    const { db } = endpointDeps(c);
    const endpoint = await getEndpoint(db, c.var.tenant, endpointId(c));
    if (endpoint === null) throw missing();
    return c.json(endpoint);
  });

  routes.patch("/:endpointId", async (c) => {
    const { db, allowPrivate } = endpointDeps(c);
    const id = endpointId(c);
    const patch = await parseBody(c, UpdateWebhookEndpointBody);
    checkUrl(patch.url, allowPrivate);
    const endpoint = await updateEndpoint(db, c.var.tenant, id, patch, actorOf(c));
    if (endpoint === null) throw missing();
    return c.json(endpoint);
  });

  routes.delete("/:endpointId", async (c) => {
    const { db } = endpointDeps(c);
    if (!(await deleteEndpoint(db, c.var.tenant, endpointId(c), actorOf(c)))) throw missing();
    return c.body(null, 204);
  });

  routes.get("/:endpointId/secret", async (c) => {
    const { db, tokenSecret } = endpointDeps(c);
    const secrets = await endpointSecrets(db, tokenSecret, c.var.tenant, endpointId(c));
    if (secrets === null) throw missing();
    return c.json(secrets, 200, NO_STORE);
  });

  routes.post("/:endpointId/secret/rotate", async (c) => {
    const { db, tokenSecret } = endpointDeps(c);
    const id = endpointId(c);
    const body = await parseBody(c, RotateEndpointSecretBody, true);
    const grace = body.graceSeconds ?? DEFAULT_ENDPOINT_SECRET_GRACE_SECONDS;
    const rotated = await rotateEndpointSecret(db, tokenSecret, c.var.tenant, id, grace, actorOf(c));
    if (rotated === null) throw missing();
    return c.json(rotated, 201, NO_STORE);
  });

  routes.get("/:endpointId/deliveries", async (c) => {
    const { db } = endpointDeps(c);
    const id = endpointId(c);
    const query = DeliveryListQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const { cursor: raw, ...rest } = query.data;
    const cursor = raw === undefined ? undefined : decodeCursor(raw);
    if (cursor === null) throw invalidQuery([{ path: "cursor", message: "Not a cursor from this API" }]);
    if ((await getEndpoint(db, c.var.tenant, id)) === null) throw missing();
    return c.json(await listDeliveries(db, c.var.tenant, id, { ...rest, ...(cursor ? { cursor } : {}) }));
  });

  routes.get("/:endpointId/deliveries/:deliveryId/attempts", async (c) => {
    const { db } = endpointDeps(c);
    const id = endpointId(c);
    const deliveryId = c.req.param("deliveryId");
    const attempts = isUuid(deliveryId) ? await listDeliveryAttempts(db, c.var.tenant, id, deliveryId) : null;
    if (attempts === null) throw new AppError("not_found", { detail: "No such delivery of this endpoint" });
    return c.json({ data: attempts });
  });

  routes.post("/:endpointId/deliveries/:deliveryId/retry", async (c) => {
    const { db } = endpointDeps(c);
    const id = endpointId(c);
    const deliveryId = c.req.param("deliveryId");
    const outcome = isUuid(deliveryId) ? await retryDelivery(db, c.var.tenant, id, deliveryId, actorOf(c)) : "missing";
    if (outcome === "missing") throw new AppError("not_found", { detail: "No such delivery of this endpoint" });
    return c.json({ id: deliveryId, status: "pending", queued: outcome === "queued" }, 202);
  });

  routes.post("/:endpointId/replay", async (c) => {
    const { db } = endpointDeps(c);
    const id = endpointId(c);
    // Another tenant's endpoint is a 404 whatever the body.
    if ((await getEndpoint(db, c.var.tenant, id)) === null) throw missing();
    const body = await parseBody(c, ReplayDeliveriesBody);
    const queued = await replayFailed(db, c.var.tenant, id, body, actorOf(c));
    return c.json({ queued }, 202);
  });

  return routes;
}
