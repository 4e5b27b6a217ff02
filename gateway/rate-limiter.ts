/**
 * Per-tenant token buckets, checked after auth and before validation. With a
 * Redis or Upstash store the bucket is shared by every gateway on it
 * (`createSharedRateLimiter`, one atomic script a request); with the
 * in-memory store it is per gateway instance.
 */
import type { GatewayStore, TokenAdmission } from "./store/types.ts";

/** How fast one tenant's bucket refills and how much it holds. */
export interface RateLimitPolicy {
  /** Tokens added per second: requests, or notifications for a batch. */
  perSecond: number;
  /** Most tokens the bucket holds: the largest burst taken at once. */
  burst: number;
}

export interface RateLimiter {
  /**
   * Takes `cost` tokens from the tenant's bucket: 0 ms to wait when admitted,
   * otherwise the milliseconds until the same call would be, and the tokens left.
   * `policy` replaces the tenant's configured one (null: not limited).
   */
  take(tenant: string, cost: number, policy?: RateLimitPolicy | null): TokenAdmission | Promise<TokenAdmission>;
  /** The tenant's policy, or undefined when it is not limited. */
  policyOf(tenant: string): RateLimitPolicy | undefined;
}

export interface RateLimiterOptions {
  /** Every tenant's policy unless `tenants` names it; undefined: unlimited. */
  defaults?: RateLimitPolicy;
  /** Per-tenant policies that replace the default; null: that tenant is not limited. */
  tenants?: ReadonlyMap<string, RateLimitPolicy | null>;
  /** Milliseconds from a monotonic clock; `performance.now` by default. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A request costing more than the bucket holds (a 1,000-item batch against a
 * burst of 100) is admitted once the bucket is full and leaves it in debt, so
 * the tenant's average stays at `perSecond` without the request being refused
 * forever.
 */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const now = opts.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  const policyOf = (tenant: string): RateLimitPolicy | undefined => {
    const own = opts.tenants?.get(tenant);
    return own === undefined ? opts.defaults : (own ?? undefined);
  };
  return {
    policyOf,
    take(tenant, cost, given) {
      const policy = given === undefined ? policyOf(tenant) : (given ?? undefined);
      if (policy === undefined) return UNLIMITED;
      const t = now();
      let bucket = buckets.get(tenant);
      if (bucket === undefined) {
        bucket = { tokens: policy.burst, at: t };
        buckets.set(tenant, bucket);
      } else {
        bucket.tokens = Math.min(policy.burst, bucket.tokens + ((t - bucket.at) * policy.perSecond) / 1000);
        bucket.at = t;
      }
      const needed = Math.min(cost, policy.burst);
      if (bucket.tokens >= needed) {
        bucket.tokens -= cost;
        return { waitMs: 0, remaining: Math.floor(bucket.tokens) };
      }
      return { waitMs: Math.ceil(((needed - bucket.tokens) * 1000) / policy.perSecond), remaining: Math.floor(bucket.tokens) };
    },
  };
}

const UNLIMITED: TokenAdmission = { waitMs: 0, remaining: Number.POSITIVE_INFINITY };

/**
 * The tenants' buckets on the shared store, so a tenant's limit holds across
 * every gateway (two gateways at 10/s each admit 10/s together). While the
 * store does not answer, each gateway falls back to its own bucket — the
 * limit then holds per instance, as before — and `onFallback` is told once
 * per outage.
 */
export function createSharedRateLimiter(store: GatewayStore, local: RateLimiter, onFallback: (err: unknown) => void = () => {}): RateLimiter {
  const takeTokens = store.takeTokens?.bind(store);
  if (takeTokens === undefined) return local;
  let failing = false;
  return {
    policyOf: (tenant) => local.policyOf(tenant),
    async take(tenant, cost, given) {
      const policy = given === undefined ? local.policyOf(tenant) : (given ?? undefined);
      if (policy === undefined) return UNLIMITED;
      try {
        const admission = await takeTokens(tenant, policy.perSecond, policy.burst, cost);
        failing = false;
        return admission;
      } catch (err) {
        if (!failing) onFallback(err);
        failing = true;
        return local.take(tenant, cost, policy);
      }
    },
  };
}

/** A limit as configured: `burst` unset or 0 means one second's worth. */
export interface ConfiguredLimit {
  perSecond: number;
  burst?: number | undefined;
}

function policy({ perSecond, burst }: ConfiguredLimit): RateLimitPolicy | null {
  if (perSecond <= 0) return null;
  return { perSecond, burst: burst !== undefined && burst > 0 ? burst : Math.max(1, Math.ceil(perSecond)) };
}

/**
 * The limiter HERALD_RATE_LIMIT, _BURST and _TENANTS describe, or undefined
 * when nobody is limited (the middleware is then not installed at all).
 */
export function rateLimiterFromConfig(defaults: ConfiguredLimit, tenants: ReadonlyMap<string, ConfiguredLimit>): RateLimiter | undefined {
  const own = new Map([...tenants].map(([tenant, limit]) => [tenant, policy(limit)] as const));
  const base = policy(defaults) ?? undefined;
  if (base === undefined && [...own.values()].every((p) => p === null)) return undefined;
  return createRateLimiter({ ...(base ? { defaults: base } : {}), tenants: own });
}

/**
 * The limiter with each tenant's stored limit (`PUT /admin/v1/tenants/:id`)
 * in place of the configured one, read from the tenant directory's cache,
 * which `bearerAuth` has filled for the request's tenant; a tenant not
 * cached yet gets its configured limit.
 */
export function withStoredLimits(limiter: RateLimiter, stored: (tenant: string) => { rateLimit: RateLimitPolicy | null } | undefined): RateLimiter {
  const policyOf = (tenant: string): RateLimitPolicy | undefined => {
    const settings = stored(tenant);
    return settings === undefined ? limiter.policyOf(tenant) : (settings.rateLimit ?? undefined);
  };
  return {
    policyOf,
    take(tenant, cost, given) {
      const policy = given === undefined ? policyOf(tenant) : given;
      // A tenant without a limit costs nothing, not even a promise.
      return policy == null ? UNLIMITED : limiter.take(tenant, cost, policy);
    },
  };
}
