import type { MiddlewareHandler } from "hono";
import { routeLabel } from "./telemetry.ts";
import type { MetricsRecorder } from "../../lib/telemetry/recorder.ts";
import { AppError } from "../errors.ts";
import type { RateLimiter } from "../rate-limiter.ts";
import type { AuthVariables } from "./auth.ts";

/**
 * Refuses with 429 + `Retry-After` when the tenant's bucket is empty, before
 * the body is read or validated. Each request costs one token; the batch
 * route charges its remaining items once it has counted them (`chargeItems`).
 * Register it after `bearerAuth()`, which sets the tenant.
 */
export function rateLimit(limiter: RateLimiter, metrics: MetricsRecorder): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function rateLimitMiddleware(c, next) {
    const waitMs = limiter.take(c.var.tenant, 1);
    if (waitMs > 0) {
      metrics.rateLimited(routeLabel(c));
      throw rateLimited(limiter, c.var.tenant, waitMs);
    }
    await next();
  };
}

/** The 429 for a tenant that must wait `waitMs`; `Retry-After` is whole seconds, rounded up. */
export function rateLimited(limiter: RateLimiter | undefined, tenant: string, waitMs: number): AppError {
  const policy = limiter?.policyOf(tenant);
  const limit = policy ? ` of ${policy.perSecond}/s (burst ${policy.burst})` : "";
  return new AppError("rate_limited", {
    detail: `The tenant's rate limit${limit} is used up; retry after the delay`,
    retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
  });
}
