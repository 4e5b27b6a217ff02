import { Hono, type Context } from "hono";
import { listWebhookSecrets, revokeWebhookSecret, rotateWebhookSecret, type SecretActor } from "../../lib/db/webhook-secrets.ts";
import type { Database } from "../../schemas/database.ts";
import { isUuid } from "../../schemas/storable.ts";
import { DEFAULT_WEBHOOK_SECRET_GRACE_SECONDS, MAX_ACTIVE_WEBHOOK_SECRETS, RotateWebhookSecretBody } from "../../schemas/webhook-secrets.ts";
import { readJsonBody } from "../body.ts";
import type { TenantEnv } from "../context.ts";
import { AppError, invalidBody } from "../errors.ts";

/** The answers carry secrets: no cache on the way may keep them. */
const NO_STORE = { "cache-control": "no-store" };

/** The database and the sealing secret, or the 503 naming what is missing. */
function secretDeps(c: Context<TenantEnv>): { db: Database; tokenSecret: string } {
  const deps = c.var.deps.webhookSecrets;
  if (deps === undefined) throw new AppError("unavailable", { detail: "Webhook secrets are not wired to the database on this gateway" });
  if (deps.tokenSecret === undefined) {
    throw new AppError("unavailable", { detail: "Webhook secrets are off: set HERALD_TOKEN_SECRET (32+ random characters), which seals them, on the gateway" });
  }
  return { db: deps.db, tokenSecret: deps.tokenSecret };
}

function actorOf(c: Context<TenantEnv>): SecretActor {
  return { actor: c.var.principal.actor, clientAddress: c.var.deps.clientAddress?.(c.req.raw) ?? null };
}

/**
 * `/v1/webhook-secrets`: the tenant's Standard Webhooks signing secrets, which
 * its backend needs to verify the webhooks Herald sends it. Every webhook is
 * signed with each secret listed, so a rotation keeps the old one valid for
 * its grace while receivers move to the new one. The list shows the values:
 * Herald must hold them readable to sign, so showing them once only would
 * protect nothing, and a backend that lost its copy gets it back here.
 */
export function webhookSecretRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.get("/", async (c) => {
    const { db, tokenSecret } = secretDeps(c);
    return c.json({ data: await listWebhookSecrets(db, tokenSecret, c.var.tenant) }, 200, NO_STORE);
  });

  routes.post("/rotate", async (c) => {
    const { db, tokenSecret } = secretDeps(c);
    // No body at all is the default grace period.
    const body = c.req.raw.body === null ? {} : await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
    const parsed = RotateWebhookSecretBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const graceSeconds = parsed.data.graceSeconds ?? DEFAULT_WEBHOOK_SECRET_GRACE_SECONDS;
    const rotation = await rotateWebhookSecret(db, tokenSecret, c.var.tenant, graceSeconds, actorOf(c));
    if (rotation.kind === "limit") {
      throw new AppError("too_many_secrets", {
        detail: `${rotation.active} secrets are valid, at most ${MAX_ACTIVE_WEBHOOK_SECRETS} may be: delete a rotated-out one, rotate with graceSeconds 0, or wait for the earliest grace to end`,
        retryAfter: rotation.retryAfterSeconds,
      });
    }
    return c.json({ ...rotation.secret, previous: rotation.previous }, 201, NO_STORE);
  });

  routes.delete("/:secretId", async (c) => {
    const { db } = secretDeps(c);
    const id = c.req.param("secretId");
    const outcome = isUuid(id) ? await revokeWebhookSecret(db, c.var.tenant, id, actorOf(c)) : "missing";
    switch (outcome) {
      case "revoked":
        return c.body(null, 204);
      case "current":
        throw new AppError("secret_current", { detail: "This is the current secret: rotate first, then delete it (or rotate with graceSeconds 0)" });
      case "missing":
        throw new AppError("not_found", { detail: "No such webhook secret (unknown, another tenant's, or its grace is over)" });
      default:
        return outcome satisfies never;
    }
  });

  return routes;
}
