import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMetrics } from "../lib/telemetry/metrics.ts";
import { createApp } from "./app.ts";
import { createRateLimiter, rateLimiterFromConfig } from "./rate-limiter.ts";
import type { TokenAdmission } from "./store/types.ts";
import { OTHER_KEY } from "../test/support/constants.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../test/support/gateway-fixture.ts";

/** The wait of an in-memory limiter's take, which answers at once. */
function waitOf(taken: TokenAdmission | Promise<TokenAdmission>): number {
  if (taken instanceof Promise) throw new Error("the in-memory limiter answers synchronously");
  return taken.waitMs;
}

/** A limiter on a clock the test moves by hand; `take` answers the wait in ms. */
function manual(perSecond: number, burst: number) {
  let at = 0;
  const inner = createRateLimiter({ defaults: { perSecond, burst }, now: () => at });
  const limiter = { take: (tenant: string, cost: number) => waitOf(inner.take(tenant, cost)) };
  return {
    limiter,
    advance: (ms: number) => {
      at += ms;
    },
  };
}

describe("createRateLimiter", () => {
  test("admits a burst, then refuses with the wait until a token is back", () => {
    const { limiter, advance } = manual(10, 3);
    expect([1, 2, 3].map(() => limiter.take("acme", 1))).toEqual([0, 0, 0]);
    expect(limiter.take("acme", 1)).toBe(100);
    advance(40);
    expect(limiter.take("acme", 1)).toBe(60);
    advance(60);
    expect(limiter.take("acme", 1)).toBe(0);
  });

  test("refills at the rate and never beyond the burst", () => {
    const { limiter, advance } = manual(10, 3);
    limiter.take("acme", 3);
    advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.take("acme", 1))).toEqual([0, 0, 0, 100]);
  });

  test("keeps each tenant's bucket apart", () => {
    const { limiter } = manual(1, 1);
    expect(limiter.take("acme", 1)).toBe(0);
    expect(limiter.take("acme", 1)).toBeGreaterThan(0);
    expect(limiter.take("beta", 1)).toBe(0);
  });

  test("admits a cost above the burst once the bucket is full, leaving it in debt", () => {
    const { limiter, advance } = manual(100, 50);
    expect(limiter.take("acme", 500)).toBe(0);
    // 450 tokens owed: the next request waits until the debt is paid and one token is back.
    expect(limiter.take("acme", 1)).toBe(4510);
    advance(4510);
    expect(limiter.take("acme", 1)).toBe(0);
  });

  test("a tenant's own policy replaces the default; null leaves it unlimited", () => {
    const limiter = createRateLimiter({
      defaults: { perSecond: 1, burst: 1 },
      tenants: new Map([
        ["big", { perSecond: 1000, burst: 1000 }],
        ["free", null],
      ]),
      now: () => 0,
    });
    for (let i = 0; i < 1000; i++) expect(waitOf(limiter.take("big", 1))).toBe(0);
    expect(waitOf(limiter.take("big", 1))).toBe(1);
    for (let i = 0; i < 5000; i++) expect(waitOf(limiter.take("free", 1))).toBe(0);
    expect(limiter.policyOf("free")).toBeUndefined();
    expect(waitOf(limiter.take("acme", 1))).toBe(0);
    expect(waitOf(limiter.take("acme", 1))).toBe(1000);
  });
});

describe("rateLimiterFromConfig", () => {
  test("is undefined when no tenant is limited", () => {
    expect(rateLimiterFromConfig({ perSecond: 0 }, new Map())).toBeUndefined();
    expect(rateLimiterFromConfig({ perSecond: 0 }, new Map([["acme", { perSecond: 0 }]]))).toBeUndefined();
  });

  test("defaults the burst to one second's worth, at least one token", () => {
    expect(rateLimiterFromConfig({ perSecond: 250 }, new Map())?.policyOf("any")).toEqual({ perSecond: 250, burst: 250 });
    expect(rateLimiterFromConfig({ perSecond: 0.5 }, new Map())?.policyOf("any")).toEqual({ perSecond: 0.5, burst: 1 });
    const limiter = rateLimiterFromConfig({ perSecond: 0, burst: 9 }, new Map([["acme", { perSecond: 5, burst: 20 }]]));
    expect(limiter?.policyOf("acme")).toEqual({ perSecond: 5, burst: 20 });
    expect(limiter?.policyOf("beta")).toBeUndefined();
  });
});

describe("rate limit on the routes", () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await createAppFixture();
  });
  afterAll(async () => {
    await f.cleanup();
  });

  /** An app whose tenant acme may make `burst` requests, refilling so slowly that no test sees a token come back. */
  function limitedApp(burst: number) {
    const metrics = createMetrics({ processMetrics: false });
    const rateLimiter = createRateLimiter({ tenants: new Map([["acme", { perSecond: 0.001, burst }]]) });
    return { app: createApp({ ...f.deps, rateLimiter, metrics }), metrics };
  }

  test("answers 429 problem+json with Retry-After once the tenant's tokens are used, and publishes nothing", async () => {
    const { app, metrics } = limitedApp(2);
    for (let i = 0; i < 2; i++) expect((await send(app, "/v1/notifications", { body: VALID.sms })).status).toBe(202);
    const before = await f.count();
    const res = await send(app, "/v1/notifications", { body: VALID.sms });
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const problem = (await res.json()) as { status: number; type: string; detail: string; requestId: string };
    expect(problem).toMatchObject({ status: 429, type: "https://herald.dev/problems/rate_limited" });
    expect(problem.detail).toContain("rate limit");
    expect(problem.requestId).toBe(res.headers.get("x-request-id") ?? "missing");
    expect(await f.count()).toBe(before);
    expect(await metrics.render()).toContain('herald_rate_limited_total{route="/v1/notifications"} 1');
  });

  test("refuses before the body is read: an invalid body gets 429, not 400", async () => {
    const { app } = limitedApp(1);
    await send(app, "/v1/notifications", { body: VALID.sms });
    expect((await send(app, "/v1/notifications", { body: "{not json" })).status).toBe(429);
  });

  test("limits reads too, and only the tenant that used its tokens", async () => {
    const { app } = limitedApp(1);
    expect((await send(app, "/v1/notifications?limit=1")).status).toBe(200);
    expect((await send(app, "/v1/notifications?limit=1")).status).toBe(429);
    expect((await send(app, "/v1/notifications?limit=1", { key: OTHER_KEY })).status).toBe(200);
    expect((await send(app, "/health/live", { key: null })).status).toBe(200);
  });

  test("a batch costs a token per item and a refused batch publishes nothing and frees its key", async () => {
    const { app } = limitedApp(5);
    const items = (n: number) => ({ notifications: Array.from({ length: n }, () => VALID.in_app) });
    expect((await send(app, "/v1/notifications/batch", { body: items(3) })).status).toBe(202);
    const before = await f.count();
    const key = { "idempotency-key": `limited-batch-${crypto.randomUUID()}` };
    const refused = await send(app, "/v1/notifications/batch", { body: items(3), headers: key });
    expect(refused.status).toBe(429);
    expect(await f.count()).toBe(before);
    // The key was given back: another app (a fresh bucket) can use it as a first try.
    const retried = await send(limitedApp(5).app, "/v1/notifications/batch", { body: items(3), headers: key });
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotency-replayed")).toBeNull();
  });

  test("a replayed batch costs one token, not one per item", async () => {
    const { app } = limitedApp(6);
    const body = { notifications: Array.from({ length: 4 }, () => VALID.in_app) };
    const key = { "idempotency-key": `replay-batch-${crypto.randomUUID()}` };
    expect((await send(app, "/v1/notifications/batch", { body, headers: key })).status).toBe(202);
    const replay = await send(app, "/v1/notifications/batch", { body, headers: key });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotency-replayed")).toBe("true");
    expect((await send(app, "/v1/notifications?limit=1")).status).toBe(200);
    expect((await send(app, "/v1/notifications?limit=1")).status).toBe(429);
  });
});
