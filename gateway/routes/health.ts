import { Hono } from "hono";
import { report } from "../../lib/readiness.ts";
import type { BaseEnv } from "../context.ts";

/**
 * `/health`: liveness (the process answers), startup (streams and migrations
 * are in place; latched once true) and readiness (every dependency answers,
 * each with its latency). No auth.
 */
export function healthRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();
  let started = false;

  routes.get("/live", (c) => c.json({ status: "ok" }));

  routes.get("/startup", async (c) => {
    if (started) return c.json({ status: "ok" });
    const { startup, options } = c.var.deps;
    const result = await report(startup, options.readinessTimeoutMs);
    // Kubernetes stops asking once it passed; latching keeps a later blip for /ready to report.
    if (result.ok) started = true;
    return c.json({ status: result.ok ? "ok" : "starting", checks: result.checks }, result.ok ? 200 : 503);
  });

  routes.get("/ready", async (c) => {
    const { readiness, readinessDetails, options } = c.var.deps;
    const [result, details] = await Promise.all([
      report(readiness, options.readinessTimeoutMs),
      readinessDetails ? readinessDetails().catch((err: unknown) => ({ detailsError: err instanceof Error ? err.message : String(err) })) : undefined,
    ]);
    // A report rather than a problem: probes and operators read the same per-check shape either way.
    return c.json({ status: result.ok ? "ok" : "unavailable", checks: result.checks, ...details }, result.ok ? 200 : 503);
  });

  return routes;
}
