import { Hono } from "hono";
import type { BaseEnv, ReadinessCheck } from "../context.ts";

/** One dependency's answer in the readiness report. */
export type CheckResult = { ok: true; latencyMs: number } | { ok: false; latencyMs: number; error: string };

/** Runs one check against a deadline, so a hung dependency reports as failing instead of hanging the probe. */
export async function probe(readiness: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([readiness.check(), deadline]);
    return { ok: true, latencyMs: elapsed() };
  } catch (err) {
    return { ok: false, latencyMs: elapsed(), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** `/health`: liveness (the process answers) and readiness (every dependency answers). No auth. */
export function healthRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();

  routes.get("/live", (c) => c.json({ status: "ok" }));

  routes.get("/ready", async (c) => {
    const { readiness, options } = c.var.deps;
    const results = await Promise.all(readiness.map((r) => probe(r, options.readinessTimeoutMs)));
    const checks = Object.fromEntries(readiness.map((r, i) => [r.name, results[i]]));
    const ready = results.every((r) => r.ok);
    // A report rather than a problem: probes and operators read the same per-check shape either way.
    return c.json({ status: ready ? "ok" : "unavailable", checks }, ready ? 200 : 503);
  });

  return routes;
}
