import { Hono } from "hono";
import { CategorySettings, Slug } from "../../schemas/recipients.ts";
import { getCategory, listCategories, putCategory } from "../../lib/db/preferences.ts";
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
    const { created, category } = await putCategory(db, c.var.tenant, name, await readBody(c, CategorySettings));
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
