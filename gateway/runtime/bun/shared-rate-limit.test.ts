import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../app.ts";
import { createRateLimiter, createSharedRateLimiter } from "../../rate-limiter.ts";
import type { GatewayStore } from "../../store/types.ts";
import { TENANT_KEY } from "../../../test/support/constants.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../../test/support/gateway-fixture.ts";
import { deleteRedisPrefix, SERVICES, testNamespace } from "../../../test/support/services.ts";
import { createRedisStore } from "./redis-store.ts";

// The per-tenant limit held by Redis, so it is one limit across gateways: two gateways
// on one Redis admit what one would.

const prefix = `${testNamespace()}:`;
const stores: GatewayStore[] = [];
const store = (under = "") => {
  const s = createRedisStore({ url: SERVICES.redis, prefix: `${prefix}${under}` });
  stores.push(s);
  return s;
};
let f: AppFixture;

beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await f.cleanup();
  await deleteRedisPrefix(prefix);
});

describe("the shared token bucket on Redis", () => {
  test("admits a burst, then says how long to wait and how much is left", async () => {
    const s = store();
    const takes = [];
    for (let i = 0; i < 4; i++) takes.push(await s.takeTokens?.("bucket-a", 1, 3, 1));
    expect(takes.map((t) => t?.waitMs)).toEqual([0, 0, 0, expect.any(Number)]);
    expect(takes.map((t) => t?.remaining)).toEqual([2, 1, 0, 0]);
    expect(takes[3]?.waitMs).toBeGreaterThan(800);
    expect(takes[3]?.waitMs).toBeLessThanOrEqual(1000);
  });

  test("admits a cost above the burst once full, leaving the bucket in debt", async () => {
    const s = store();
    expect(await s.takeTokens?.("bucket-b", 100, 50, 500)).toEqual({ waitMs: 0, remaining: -450 });
    const next = await s.takeTokens?.("bucket-b", 100, 50, 1);
    expect(next?.waitMs).toBeGreaterThan(4400);
  });

  test("two gateways on one Redis share a tenant's 10/s with a burst of 20: 200 requests over 2 s admit about 40", async () => {
    const policy = { perSecond: 10, burst: 20 };
    const gateways = [0, 1].map(() => {
      const shared = store();
      const local = createRateLimiter({ tenants: new Map([["acme", policy]]) });
      return createApp({ ...f.deps, store: shared, rateLimiter: createSharedRateLimiter(shared, local) });
    });
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      const app = gateways[i % 2];
      if (app === undefined) throw new Error("no gateway");
      const res = await send(app, "/v1/notifications", { body: VALID.in_app, key: TENANT_KEY });
      statuses.push(res.status);
      if (i === 199) {
        expect(res.status).toBe(429);
        expect(res.headers.get("ratelimit-limit")).toBe("20");
        expect(res.headers.get("ratelimit-remaining")).toBe("0");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      // 200 requests spread over two seconds.
      const due = started + (i + 1) * 10;
      if (due > Date.now()) await Bun.sleep(due - Date.now());
    }
    const admitted = statuses.filter((s) => s === 202).length;
    const elapsedS = (Date.now() - started) / 1000;
    // The burst plus what refilled while they came, never twice that (as two private buckets would allow).
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(Math.ceil(20 + 10 * elapsedS) + 1);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
  });

  test("an admitted request says how much of the bucket is left", async () => {
    const shared = store("fresh:");
    const local = createRateLimiter({ tenants: new Map([["acme", { perSecond: 1000, burst: 1000 }]]) });
    const app = createApp({ ...f.deps, store: shared, rateLimiter: createSharedRateLimiter(shared, local) });
    const res = await send(app, "/v1/notifications", { body: VALID.in_app, key: TENANT_KEY });
    expect(res.status).toBe(202);
    expect(res.headers.get("ratelimit-limit")).toBe("1000");
    expect(Number(res.headers.get("ratelimit-remaining"))).toBeGreaterThan(900);
  });

  test("while Redis does not answer, each gateway falls back to its own bucket and says so once", async () => {
    const dead = createRedisStore({ url: "redis://127.0.0.1:1", prefix });
    stores.push(dead);
    const told: unknown[] = [];
    const limiter = createSharedRateLimiter(dead, createRateLimiter({ tenants: new Map([["acme", { perSecond: 1, burst: 2 }]]) }), (err) => told.push(err));
    const waits = [];
    for (let i = 0; i < 3; i++) waits.push((await limiter.take("acme", 1)).waitMs);
    expect(waits.slice(0, 2)).toEqual([0, 0]);
    expect(waits[2]).toBeGreaterThan(0);
    expect(told).toHaveLength(1);
  });
});
