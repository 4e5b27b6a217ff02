import { Hono } from "hono";
import { z } from "zod";
import { storableText } from "../../schemas/storable.ts";
import { readJsonBody } from "../body.ts";
import type { TenantEnv } from "../context.ts";
import { decodeCursor } from "../../lib/db/cursor.ts";
import { invalidBody, invalidQuery } from "../errors.ts";
import { notFound } from "../lookup.ts";
import { isUuid } from "../../schemas/storable.ts";

const userId = storableText().min(1).max(255);
const ListParams = z.object({
  userId,
  unread: z.enum(["true", "false"]).default("false"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});
/** The body of `POST /v1/inbox/read-all`; the OpenAPI document is generated from it. */
export const ReadAll = z.strictObject({ userId });

/**
 * `/v1/inbox`: what an app shows a user of their in-app notifications. The
 * API key is the tenant's backend, which names the user (`userId`); an app
 * reaches it through that backend, not with the key itself.
 */
export function inboxRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.get("/", async (c) => {
    const { deps, tenant } = c.var;
    const parsed = ListParams.safeParse(c.req.query());
    if (!parsed.success) throw invalidQuery(parsed.error);
    const { cursor: token, unread, ...rest } = parsed.data;
    const cursor = token === undefined ? undefined : decodeCursor(token);
    if (cursor === null) throw invalidQuery([{ path: "cursor", message: "Not a cursor from this API" }]);
    return c.json(await deps.inbox.list(tenant, { ...rest, unread: unread === "true", ...(cursor ? { cursor } : {}) }));
  });

  routes.post("/read-all", async (c) => {
    const { deps, tenant } = c.var;
    const body = await readJsonBody(c.req.raw, deps.options.bodyLimitBytes);
    const parsed = ReadAll.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    return c.json({ marked: await deps.inbox.markAllRead(tenant, parsed.data.userId) });
  });

  routes.post("/:id/read", async (c) => {
    const { deps, tenant } = c.var;
    const id = c.req.param("id");
    const item = isUuid(id) ? await deps.inbox.markRead(tenant, id) : null;
    if (item === null) throw notFound();
    return c.json(item);
  });

  return routes;
}
