import { withDeadline } from "./deadline.ts";

/** One dependency a readiness probe asks (NATS, Postgres, the idempotency store). */
export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; any rejection marks it failing. */
  check(): Promise<void>;
}

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

/** Every check at once: all answered, and each one's result by name. */
export async function report(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<{ ok: boolean; checks: Record<string, CheckResult | undefined> }> {
  const results = await Promise.all(checks.map((r) => probe(r, timeoutMs)));
  return { ok: results.every((r) => r.ok), checks: Object.fromEntries(checks.map((r, i) => [r.name, results[i]])) };
}
