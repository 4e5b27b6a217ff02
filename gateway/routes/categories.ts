import { Hono } from "hono";
import { CategorySettings, Slug } from "../../schemas/recipients.ts";
import { recorded } from "../../lib/db/audit.ts";
import { getCategory, listCategories, putCategory } from "../../lib/db/preferences.ts";
import { auditContext } from "../audit-context.ts";
import type { TenantEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { pathParam, readBody, recipientDeps } from "../recipient-input.ts";

/**
 * `/v1/categories`: the tenant's notification categories (each template
 * belongs to one), whether users may opt out of each, and the tenant's
 * default per channel for users who said nothing.
 */
export function categoryRoutes(): Hono<TenantEnv> {
  const routes = new Hono<TenantEnv>();

  routes.get("/", async (c) => c.json({ data: await listCategories(recipientDeps(c).db, c.var.tenant) }));

  routes.put("/:category", async (c) => {
    const { db } = recipientDeps(c);
    const name = pathParam("category", c.req.param("category"), Slug, "invalid_body");
    const settings = await readBody(c, CategorySettings);
    const by = auditContext(c);
    const { created, category } = await recorded(
      db,
      (tx) => putCategory(tx, c.var.tenant, name, settings),
      (put) => ({
        ...by,
        tenantId: c.var.tenant,
        action: put.created ? "category.created" : "category.updated",
        target: name,
        details: { required: settings.required, defaults: settings.defaults },
      }),
    );
    return c.json(category, created ? 201 : 200);
  });

  routes.get("/:category", async (c) => {
    const name = pathParam("category", c.req.param("category"), Slug, "not_found");
    const category = await getCategory(recipientDeps(c).db, c.var.tenant, name);
    if (category === null) throw new AppError("not_found", { detail: "No category with this name" });
    return c.json(category);
  });

  return routes;
}
