import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { DeadLetterQuery, DeadLetterSummary, ReplayOptions, ReplayReport } from "../../processor/replay.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { readJsonBody } from "../body.ts";
import type { BaseEnv } from "../context.ts";
import { AppError, invalidBody, invalidQuery } from "../errors.ts";
import { bearerKey } from "../middleware/auth.ts";

/** The dead-letter stream, as the admin routes use it (processor/replay.ts behind it). */
export interface DeadLetterAdmin {
  list(query: DeadLetterQuery): Promise<{ data: DeadLetterSummary[]; total: number }>;
  replay(opts: ReplayOptions): Promise<ReplayReport>;
}

/** What `/admin/v1` needs: the operators' keys (HERALD_ADMIN_KEYS, name by key) and the stream. */
export interface AdminDeps {
  keys: ReadonlyMap<string, string>;
  deadLetters: DeadLetterAdmin;
}

interface AdminEnv {
  Variables: BaseEnv["Variables"] & { operator: string };
}

/** An operator's key → its name in `operator`; a tenant's key is known but not allowed here (403); anything else 401. */
function adminAuth(admins: ReadonlyMap<string, string>, tenants: ReadonlyMap<string, string>): MiddlewareHandler<AdminEnv> {
  return async function adminAuthMiddleware(c, next) {
    const key = bearerKey(c.req.header("authorization"));
    const operator = key === undefined ? undefined : admins.get(key);
    if (operator === undefined) {
      if (key !== undefined && tenants.has(key)) throw new AppError("forbidden", { detail: "A tenant's API key cannot use the admin routes" });
      throw new AppError("unauthorized", { detail: "Send Authorization: Bearer <admin key> (HERALD_ADMIN_KEYS)" });
    }
    c.set("operator", operator);
    await next();
  };
}

const Query = z.object({
  channel: z.enum(CHANNELS).optional(),
  tenant: z.string().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The body of `POST /admin/v1/dead-letters/replay`; the OpenAPI document is generated from it. */
export const ReplayBody = z.strictObject({
  channel: z.enum(CHANNELS).optional(),
  tenant: z.string().min(1).max(255).optional(),
  limit: z.number().int().min(0).optional(),
  dryRun: z.boolean().default(false),
});

/**
 * `/admin/v1`: the dead-letter stream for operators. `GET /dead-letters`
 * lists what failed and why (no payloads); `POST /dead-letters/replay` hands
 * them back to the processor as `herald replay` does.
 */
export function adminRoutes(admin: AdminDeps, tenantKeys: ReadonlyMap<string, string>): Hono<AdminEnv> {
  const routes = new Hono<AdminEnv>();
  routes.use(adminAuth(admin.keys, tenantKeys));

  routes.get("/dead-letters", async (c) => {
    const query = Query.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    return c.json(await admin.deadLetters.list(query.data));
  });

  routes.post("/dead-letters/replay", async (c) => {
    const { deps, operator, requestId } = c.var;
    const body = await readJsonBody(c.req.raw, deps.options.bodyLimitBytes);
    const parsed = ReplayBody.safeParse(body.value);
    if (!parsed.success) throw invalidBody(parsed.error);
    const report = await admin.deadLetters.replay(parsed.data);
    deps.logger.info({ operator, correlationId: requestId, replayed: report.replayed.length, stale: report.stale, dryRun: parsed.data.dryRun }, "dead letters replayed");
    return c.json(report);
  });

  return routes;
}
