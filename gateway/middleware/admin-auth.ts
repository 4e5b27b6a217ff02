import type { MiddlewareHandler } from "hono";
import type { TenantDirectory } from "../../schemas/tenancy.ts";
import type { BaseEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { bearerKey, principalOf } from "./auth.ts";

/** Context variables of `/admin/v1`: who acts (for the audit log) and the one tenant a tenant's admin key is confined to (null: an operator, every tenant). */
export interface AdminEnv {
  Variables: BaseEnv["Variables"] & { operator: string; actor: string; adminTenant: string | null };
}

/**
 * An operator's key (HERALD_ADMIN_KEYS) → every tenant; a tenant's key with
 * the `admin` scope → its own tenant only, on the routes that allow it
 * (`operatorOnly` refuses it); any other known key 403; anything else 401.
 */
export function adminAuth(admins: ReadonlyMap<string, string>, tenants: TenantDirectory): MiddlewareHandler<AdminEnv> {
  return async function adminAuthMiddleware(c, next) {
    const header = c.req.header("authorization");
    const key = bearerKey(header);
    const operator = key === undefined ? undefined : admins.get(key);
    if (operator !== undefined) {
      c.set("operator", operator);
      c.set("actor", `operator:${operator}`);
      c.set("adminTenant", null);
      return next();
    }
    const principal = await principalOf(tenants, header, "admin key (HERALD_ADMIN_KEYS) or a tenant key with the admin scope");
    if (!principal.scopes.has("admin")) throw new AppError("forbidden", { detail: 'This API key lacks the "admin" scope' });
    c.set("operator", principal.actor);
    c.set("actor", principal.actor);
    c.set("adminTenant", principal.tenant);
    return next();
  };
}

/** Refuses a tenant's admin key: the route is for operators (dead letters, tenants' limits). */
export const operatorOnly: MiddlewareHandler<AdminEnv> = async (c, next) => {
  if (c.var.adminTenant !== null) throw new AppError("forbidden", { detail: "Only an operator's key (HERALD_ADMIN_KEYS) may use this route" });
  await next();
};
