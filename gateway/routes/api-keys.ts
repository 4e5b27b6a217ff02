import { Hono } from "hono";
import { z } from "zod";
import { createApiKey, listApiKeys, readApiKey, revokeApiKey, rotateApiKey } from "../../lib/db/api-keys.ts";
import type { Database } from "../../schemas/database.ts";
import { API_KEY_SCOPES } from "../../schemas/enums.ts";
import { isUuid, storableText } from "../../schemas/storable.ts";
import { readJsonBody } from "../body.ts";
import type { AdminDeps } from "../context.ts";
import { AppError, invalidBody, invalidQuery } from "../errors.ts";
import type { AdminEnv } from "../middleware/admin-auth.ts";
import { auditContext } from "../audit-context.ts";

/** A tenant id as keys, the API key list and the admin routes take it. */
export const TenantId = storableText()
  .min(1)
  .max(255)
  .regex(/^[^\s:,]+$/, "no spaces, commas or colons (HERALD_API_KEYS separates with them)");

/** The body of `POST /admin/v1/api-keys`; the OpenAPI document is generated from it. */
export const CreateApiKeyBody = z.strictObject({
  tenantId: TenantId.optional().describe("The key's tenant; a tenant's admin key may leave it out (its own tenant) and may name no other"),
  scopes: z
    .array(z.enum(API_KEY_SCOPES))
    .min(1)
    .max(API_KEY_SCOPES.length)
    .refine((s) => new Set(s).size === s.length, "each scope once"),
  name: storableText().min(1).max(200).optional().describe("What the key is for, shown in lists"),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((t) => Date.parse(t) > Date.now(), "must be in the future")
    .optional()
    .describe("When the key stops working; none: never"),
});

/** The body of `POST /admin/v1/api-keys/:id/rotate`. */
export const RotateApiKeyBody = z.strictObject({
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional()
    .describe("How long the old key keeps working beside the new one; default HERALD_KEY_ROTATION_GRACE_S"),
});

const ListQuery = z.object({
  tenant: TenantId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().refine(isUuid, "Not a cursor from this API").optional(),
});

/** The key's text is in the answer: no cache on the way may keep it. */
const NO_STORE = { "cache-control": "no-store" };

function database(admin: AdminDeps): Database {
  if (admin.db === undefined) throw new AppError("unavailable", { detail: "Managed API keys need Postgres (DATABASE_URL)", retryAfter: 60 });
  return admin.db;
}

/**
 * `/admin/v1/api-keys`: create, list, read, rotate and revoke managed keys.
 * An operator manages every tenant's; a tenant's admin key only its own,
 * and another tenant's key is a 404 to it, as on `/v1`.
 */
export function apiKeyRoutes(admin: AdminDeps): Hono<AdminEnv> {
  const routes = new Hono<AdminEnv>();
  const idParam = (id: string) => {
    if (!isUuid(id)) throw new AppError("not_found", { detail: "No such API key" });
    return id;
  };
  const own = (c: { var: AdminEnv["Variables"] }) => c.var.adminTenant ?? undefined;

  routes.post("/", async (c) => {
    const body = await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
    const parsed = CreateApiKeyBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const { tenantId: named, scopes, name, expiresAt } = parsed.data;
    const confined = c.var.adminTenant;
    if (confined !== null && named !== undefined && named !== confined) {
      throw new AppError("forbidden", { detail: "A tenant's admin key can make keys for its own tenant only" });
    }
    const tenantId = named ?? confined;
    if (tenantId === undefined || tenantId === null) {
      throw new AppError("invalid_body", {
        detail: "The request body failed validation",
        errors: [{ path: "tenantId", message: "Required: the tenant the key belongs to" }],
      });
    }
    const issued = await createApiKey(
      database(admin),
      { tenantId, scopes, ...(name ? { name } : {}), ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}) },
      auditContext(c),
    );
    return c.json(issued, 201, NO_STORE);
  });

  routes.get("/", async (c) => {
    const query = ListQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const confined = own(c);
    if (confined !== undefined && query.data.tenant !== undefined && query.data.tenant !== confined) {
      throw new AppError("forbidden", { detail: "A tenant's admin key lists its own tenant's keys only" });
    }
    const tenantId = confined ?? query.data.tenant;
    const { data, next } = await listApiKeys(database(admin), {
      limit: query.data.limit,
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(query.data.cursor ? { after: query.data.cursor } : {}),
    });
    return c.json({ data, nextCursor: next });
  });

  routes.get("/:id", async (c) => {
    const key = await readApiKey(database(admin), idParam(c.req.param("id")), own(c));
    if (key === undefined) throw new AppError("not_found", { detail: "No such API key" });
    return c.json(key);
  });

  routes.post("/:id/rotate", async (c) => {
    const id = idParam(c.req.param("id"));
    // No body at all is the default grace period.
    const body = c.req.raw.body === null ? {} : await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
    const parsed = RotateApiKeyBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const confined = own(c);
    const rotated = await rotateApiKey(
      database(admin),
      id,
      { graceSeconds: parsed.data.graceSeconds ?? admin.keyRotationGraceS ?? 86_400, ...(confined !== undefined ? { tenantId: confined } : {}) },
      auditContext(c),
    );
    if (rotated === undefined) throw new AppError("not_found", { detail: "No such live API key (unknown or revoked)" });
    return c.json({ ...rotated.issued, previous: { id, expiresAt: rotated.oldExpiresAt } }, 201, NO_STORE);
  });

  routes.delete("/:id", async (c) => {
    const confined = own(c);
    const revoked = await revokeApiKey(database(admin), idParam(c.req.param("id")), confined !== undefined ? { tenantId: confined } : {}, auditContext(c));
    if (revoked === undefined) throw new AppError("not_found", { detail: "No such API key" });
    return c.json(revoked);
  });

  return routes;
}
