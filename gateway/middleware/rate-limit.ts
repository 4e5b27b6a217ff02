import type { MiddlewareHandler } from "hono";
import { routeLabel } from "./telemetry.ts";
import type { MetricsRecorder } from "../../lib/telemetry/recorder.ts";
import { AppError } from "../errors.ts";
import type { RateLimiter, RateLimitPolicy } from "../rate-limiter.ts";
import type { AuthVariables } from "./auth.ts";

/**
 * Refuses with 429 + `Retry-After` when the tenant's bucket is empty, before
 * the body is read or validated. Each request costs one token; the batch
 * route charges its remaining items once it has counted them (`chargeItems`).
 * Register it after `bearerAuth()`, which sets the tenant.
 */
export function rateLimit(limiter: RateLimiter, metrics: MetricsRecorder): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function rateLimitMiddleware(c, next) {
    const tenant = c.var.tenant;
    const taken = limiter.take(tenant, 1);
    const { waitMs, remaining } = taken instanceof Promise ? await taken : taken;
    const policy = limiter.policyOf(tenant);
    if (waitMs > 0) {
      metrics.rateLimited(routeLabel(c));
      throw rateLimited(limiter, tenant, waitMs, remaining);
    }
    await next();
    if (policy) for (const [name, value] of Object.entries(rateLimitHeaders(policy, remaining, 0))) c.header(name, value);
  };
}

/**
 * The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers, the widely
 * deployed form): the bucket's size, what is left, and the seconds until a
 * request would be admitted (0 while some is left).
 */
export function rateLimitHeaders(policy: RateLimitPolicy, remaining: number, waitMs: number): Record<string, string> {
  return {
    "RateLimit-Limit": String(policy.burst),
    "RateLimit-Remaining": String(Math.max(0, Math.floor(remaining))),
    "RateLimit-Reset": String(Math.max(0, Math.ceil(waitMs / 1000))),
    "RateLimit-Policy": `${policy.burst};w=${Math.max(1, Math.round(policy.burst / policy.perSecond))}`,
  };
}

/** The 429 for a tenant that must wait `waitMs`; `Retry-After` is whole seconds, rounded up. */
export function rateLimited(limiter: RateLimiter | undefined, tenant: string, waitMs: number, remaining = 0): AppError {
  const policy = limiter?.policyOf(tenant);
  const limit = policy ? ` of ${policy.perSecond}/s (burst ${policy.burst})` : "";
  return new AppError("rate_limited", {
    detail: `The tenant's rate limit${limit} is used up; retry after the delay`,
    retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
    ...(policy ? { headers: rateLimitHeaders(policy, remaining, waitMs) } : {}),
  });
}
