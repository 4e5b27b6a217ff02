import { Hono } from "hono";
import { z } from "zod";
import { createInboxTokens } from "../../lib/inbox-token.ts";
import { storableText } from "../../schemas/storable.ts";
import { readJsonBody } from "../body.ts";
import type { InboxStreamDeps, TenantEnv } from "../context.ts";
import { invalidBody } from "../errors.ts";
import { noTokenSecret } from "./inbox-stream.ts";

/** The body of `POST /v1/inbox/tokens`; the OpenAPI document is generated from it. */
export const MintInboxToken = z.strictObject({
  userId: storableText().min(1).max(255),
  /** Asked-for life in seconds; cut to HERALD_INBOX_TOKEN_TTL_S, which is also the default. */
  ttlSeconds: z.number().int().min(10).max(86_400).optional(),
});

/**
 * `POST /v1/inbox/tokens`: the tenant's backend (API key) mints a short-lived
 * token for its signed-in user, and hands it to that user's browser for
 * `GET /v1/inbox/stream`. The token reads one user's stream and nothing else.
 */
export function inboxTokenRoutes(deps: InboxStreamDeps | undefined): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();
  const tokens = deps?.tokenSecret ? createInboxTokens(deps.tokenSecret) : undefined;

  routes.post("/", async (c) => {
    if (!deps || !tokens) throw noTokenSecret();
    const { deps: app, tenant } = c.var;
    const parsed = MintInboxToken.safeParse(await readJsonBody(c.req.raw, app.options.bodyLimitBytes));
    if (!parsed.success) throw invalidBody(parsed.error);
    const { userId, ttlSeconds } = parsed.data;
    return c.json(await tokens.mint(tenant, userId, Math.min(ttlSeconds ?? deps.tokenTtlSeconds, deps.tokenTtlSeconds)));
  });

  return routes;
}
