import { Hono } from "hono";
import { z } from "zod";
import { listAudit, type AuditRecord } from "../../lib/db/audit.ts";
import { storableText } from "../../schemas/storable.ts";
import type { AdminDeps, BaseEnv } from "../context.ts";
import { AppError, invalidQuery } from "../errors.ts";

/** The answer of `GET /admin/v1/audit`; `nextCursor` goes back as `cursor`, null on the last page. */
export interface AuditList {
  data: AuditRecord[];
  nextCursor: string | null;
}

const text = (max: number) => storableText().min(1).max(max).optional();

/** What the admin routes' auth leaves for this route: null for an operator, the tenant of a tenant's admin key. */
interface AuditEnv {
  Variables: BaseEnv["Variables"] & { adminTenant: string | null };
}

/** The query of `GET /admin/v1/audit`; the OpenAPI document lists the same parameters. */
export const AuditQuery = z.object({
  tenant: text(255),
  actor: text(255),
  action: text(255).describe("Exact, or every action under a prefix ending in `.` (`api_key.`)"),
  target: text(255),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "Not a cursor from this API")
    .optional(),
});

/**
 * `GET /admin/v1/audit`: the audit log, newest first, filtered and in keyset
 * pages. An operator reads every tenant's entries; a tenant's admin key only
 * its own tenant's (another `tenant=` is 403), never the operators' entries
 * that name no tenant.
 */
export function auditRoutes(admin: AdminDeps): Hono<AuditEnv> {
  const routes = new Hono<AuditEnv>();

  routes.get("/", async (c) => {
    const query = AuditQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const { cursor, since, until, tenant, ...filters } = query.data;
    const own = c.var.adminTenant;
    if (own !== null && tenant !== undefined && tenant !== own) {
      throw new AppError("forbidden", { detail: "A tenant's admin key reads only its own tenant's audit log" });
    }
    if (admin.db === undefined) throw new AppError("unavailable", { detail: "The audit log is not wired to the database on this gateway" });
    const scope = own ?? tenant;
    const { data, next } = await listAudit(admin.db, {
      ...filters,
      ...(scope === undefined ? {} : { tenant: scope }),
      ...(since === undefined ? {} : { since: new Date(since) }),
      ...(until === undefined ? {} : { until: new Date(until) }),
      ...(cursor === undefined ? {} : { before: Number(cursor) }),
    });
    return c.json({ data, nextCursor: next === null ? null : String(next) } satisfies AuditList);
  });

  return routes;
}
