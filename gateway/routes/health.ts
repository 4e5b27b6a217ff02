import { Hono } from "hono";
import { withDeadline } from "../../bin/deadline.ts";
import type { BaseEnv, ReadinessCheck } from "../context.ts";

/** One dependency's answer in the readiness report. */
export type CheckResult = { ok: true; latencyMs: number } | { ok: false; latencyMs: number; error: string };

/** Runs one check against a deadline, so a hung dependency reports as failing instead of hanging the probe. */
export async function probe(readiness: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    await withDeadline(readiness.check(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return { ok: true, latencyMs: elapsed() };
  } catch (err) {
    return { ok: false, latencyMs: elapsed(), error: err instanceof Error ? err.message : String(err) };
  }
}

async function report(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<{ ok: boolean; checks: Record<string, CheckResult | undefined> }> {
  const results = await Promise.all(checks.map((r) => probe(r, timeoutMs)));
  return { ok: results.every((r) => r.ok), checks: Object.fromEntries(checks.map((r, i) => [r.name, results[i]])) };
}

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
