import { Hono } from "hono";
import { z } from "zod";
import { readTenant, tenantView, updateTenant } from "../../lib/db/tenants.ts";
import type { Database } from "../../schemas/database.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { storableText } from "../../schemas/storable.ts";
import { readJsonBody } from "../body.ts";
import type { AdminDeps } from "../context.ts";
import { AppError, invalidBody } from "../errors.ts";
import { operatorOnly, type AdminEnv } from "../middleware/admin-auth.ts";
import { auditContext } from "../audit-context.ts";
import { TenantId } from "./api-keys.ts";

const RateLimitBody = z.strictObject({
  perSecond: z.number().min(0).max(1_000_000).describe("Requests (a batch: notifications) per second; 0: not limited"),
  burst: z.number().int().min(1).max(10_000_000).describe("The bucket size: the largest burst"),
});

/** The body of `PUT /admin/v1/tenants/:id`: a field left out keeps its value, null goes back to the configured default. */
export const TenantBody = z.strictObject({
  name: storableText().min(1).max(200).nullable().optional(),
  rateLimit: RateLimitBody.nullable().optional().describe("Replaces HERALD_RATE_LIMIT / HERALD_RATE_LIMIT_TENANTS for this tenant on every gateway"),
  dailyCaps: z
    .partialRecord(z.enum(CHANNELS), z.number().int().min(0).max(1_000_000_000))
    .optional()
    .describe("Notifications accepted per UTC day per channel; replaces HERALD_DAILY_CAPS per channel named"),
  retentionDays: z.number().int().min(1).max(36_500).nullable().optional().describe("Days its notifications are kept; null: HERALD_RETENTION_DAYS"),
});

function database(admin: AdminDeps): Database {
  if (admin.db === undefined) throw new AppError("unavailable", { detail: "Tenant settings need Postgres (DATABASE_URL)", retryAfter: 60 });
  return admin.db;
}

/**
 * `/admin/v1/tenants/:id`: a tenant's stored limits, caps and retention.
 * Only operators change them (a tenant raising its own limits would defeat
 * them); a tenant's admin key may read its own.
 */
export function tenantRoutes(admin: AdminDeps): Hono<AdminEnv> {
  const routes = new Hono<AdminEnv>();

  routes.get("/:id", async (c) => {
    const id = c.req.param("id");
    const confined = c.var.adminTenant;
    if (!TenantId.safeParse(id).success || (confined !== null && confined !== id)) throw new AppError("not_found", { detail: "No such tenant" });
    const row = await readTenant(database(admin), id);
    if (row === undefined) {
      // Known from a bootstrap key, or not at all: nothing stored, every setting the configured default.
      return c.json({ id, name: null, rateLimit: null, dailyCaps: {}, retentionDays: null, createdAt: null, updatedAt: null });
    }
    return c.json(tenantView(row));
  });

  routes.put("/:id", operatorOnly, async (c) => {
    const id = TenantId.safeParse(c.req.param("id"));
    if (!id.success) throw new AppError("not_found", { detail: "No such tenant" });
    const body = await readJsonBody(c.req.raw, c.var.deps.options.bodyLimitBytes);
    const parsed = TenantBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const { name, rateLimit, dailyCaps, retentionDays } = parsed.data;
    const view = await updateTenant(
      database(admin),
      id.data,
      {
        ...(name !== undefined ? { name } : {}),
        ...(rateLimit !== undefined ? { rateLimit } : {}),
        ...(dailyCaps !== undefined ? { dailyCaps } : {}),
        ...(retentionDays !== undefined ? { retentionDays } : {}),
      },
      auditContext(c),
    );
    return c.json(view);
  });

  return routes;
}
