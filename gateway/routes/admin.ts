import { Hono } from "hono";
import { z } from "zod";
import type { DeadLetterSummary, InvalidDeadLetter } from "../../schemas/dead-letter.ts";
import { storableText } from "../../schemas/storable.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { readJsonBody } from "../body.ts";
import type { AdminDeps } from "../context.ts";
import { adminAuth, operatorOnly, type AdminEnv } from "../middleware/admin-auth.ts";
import { decodeCursor, encodeCursor } from "../../lib/db/cursor.ts";
import { invalidBody, invalidQuery } from "../errors.ts";
import type { TenantDirectory } from "../../schemas/tenancy.ts";
import { apiKeyRoutes } from "./api-keys.ts";
import { tenantRoutes } from "./tenants.ts";
import { auditContext } from "../audit-context.ts";
import { auditRoutes } from "./audit.ts";
import { adminEventRoutes } from "./admin-events.ts";

/** The answers of the two lists; `nextCursor` goes back as `cursor`, null on the last page. */
export interface DeadLetterList {
  data: DeadLetterSummary[];
  nextCursor: string | null;
}
export interface InvalidDeadLetterList {
  data: InvalidDeadLetter[];
  nextCursor: string | null;
}

const limit = z.coerce.number().int().min(1).max(1000).default(100);
const cursor = z.string().min(1).max(512).optional();
const Query = z.object({ channel: z.enum(CHANNELS).optional(), tenant: storableText().min(1).max(255).optional(), limit, cursor });
const InvalidQuery = z.object({
  limit,
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "Not a cursor from this API")
    .optional(),
});

/** The body of `POST /admin/v1/dead-letters/replay`; the OpenAPI document is generated from it. */
export const ReplayBody = z.strictObject({
  channel: z.enum(CHANNELS).optional(),
  tenant: storableText().min(1).max(255).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe("Only notifications that failed after this time"),
  limit: z.number().int().min(0).optional(),
  dryRun: z.boolean().default(false),
});

/**
 * `/admin/v1`: dead letters for operators. `GET /dead-letters` lists the
 * `failed` notifications from Postgres (no payloads); `GET
 * /dead-letters/invalid` the stream's messages that were never envelopes;
 * `POST /dead-letters/replay` hands failed ones back as `herald replay` does.
 */
export function adminRoutes(admin: AdminDeps, tenants: TenantDirectory): Hono<AdminEnv> {
  const routes = new Hono<AdminEnv>();
  routes.use(adminAuth(admin.keys, tenants));
  routes.use("/dead-letters/*", operatorOnly);
  routes.route("/api-keys", apiKeyRoutes(admin));
  routes.route("/tenants", tenantRoutes(admin));
  routes.route("/audit", auditRoutes(admin));
  routes.route("/", adminEventRoutes(admin));

  routes.get("/dead-letters", async (c) => {
    const query = Query.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const { cursor: token, ...filters } = query.data;
    // The cursor's time is the row's updated_at here: when it failed.
    const position = token === undefined ? undefined : decodeCursor(token);
    if (position === null) throw invalidQuery([{ path: "cursor", message: "Not a cursor from this API" }]);
    const { data, next } = await admin.deadLetters.list({ ...filters, ...(position ? { after: { at: position.createdAt, id: position.id } } : {}) });
    return c.json({ data, nextCursor: next ? encodeCursor({ createdAt: next.at, id: next.id }) : null } satisfies DeadLetterList);
  });

  routes.get("/dead-letters/invalid", async (c) => {
    const query = InvalidQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const { limit, cursor: token } = query.data;
    const { data, next } = await admin.deadLetters.listInvalid({ limit, ...(token ? { after: Number(token) } : {}) });
    return c.json({ data, nextCursor: next === null ? null : String(next) } satisfies InvalidDeadLetterList);
  });

  routes.post("/dead-letters/replay", async (c) => {
    const { deps, operator, requestId } = c.var;
    const body = await readJsonBody(c.req.raw, deps.options.bodyLimitBytes);
    const parsed = ReplayBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    const { since, ...opts } = parsed.data;
    const report = await admin.deadLetters.replay({ ...opts, ...(since ? { since: new Date(since) } : {}) }, auditContext(c));
    if (report.dryRun)
      deps.logger.info(
        { operator, correlationId: requestId, wouldReplay: report.wouldReplay.length, unreplayable: report.unreplayable.length },
        "dry run of a replay: nothing changed",
      );
    else
      deps.logger.info(
        { operator, correlationId: requestId, replayed: report.replayed.length, unreplayable: report.unreplayable.length, skipped: report.skipped },
        "failed notifications handed to the scheduler",
      );
    return c.json(report);
  });

  return routes;
}
