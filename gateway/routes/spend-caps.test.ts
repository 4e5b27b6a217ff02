import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { claim } from "../../lib/db/notification-repository.ts";
import { openPool } from "../../lib/db/pool.ts";
import { updateTenant, readTenant } from "../../lib/db/tenants.ts";
import { createTemplate, publishTemplate } from "../../lib/db/templates.ts";
import { countAccepted } from "../../lib/db/usage.ts";
import { putUser } from "../../lib/db/users.ts";
import { createMetrics } from "../../lib/telemetry/metrics.ts";
import { createTemplateCache } from "../../lib/templates/cache.ts";
import { createTenantDirectory } from "../../lib/tenant-directory.ts";
import type { Envelope } from "../../schemas/envelope.ts";
import { TENANT_KEY } from "../../test/support/constants.ts";
import { createAppFixture, createStreamFixture, send, VALID, type AppFixture, type StreamFixture } from "../../test/support/gateway-fixture.ts";
import { deleteRedisPrefix, SERVICES, testNamespace } from "../../test/support/services.ts";
import { createApp, type GatewayDeps } from "../app.ts";
import { capsFromDirectory, utcDay, type ChannelCaps, type SpendCaps } from "../daily-caps.ts";
import { createRedisStore } from "../runtime/bun/redis-store.ts";
import { templateSendDeps } from "../runtime/template-deps.ts";
import { createMemoryStore } from "../store/memory.ts";
import type { GatewayStore } from "../store/types.ts";

// Spend caps at the accept routes, on the real Redis, NATS and Postgres: each
// test has a tenant (so counters never meet) and a Redis prefix of its own.

const prefix = `${testNamespace()}:`;
const stores: GatewayStore[] = [];
let f: AppFixture;
let broken: StreamFixture;
let n = 0;

/** A Redis store under `under` (a fresh prefix unless given: two gateways share one by passing the same). */
function redis(under = `s${++n}:`): GatewayStore {
  const store = createRedisStore({ url: SERVICES.redis, prefix: `${prefix}${under}` });
  stores.push(store);
  return store;
}

function spendCaps(caps: ChannelCaps, now?: () => number): SpendCaps {
  return { capsOf: () => caps, countAccepted: (t, ch, from, to) => countAccepted(f.db.db, t, ch, from, to), ...(now ? { now } : {}) };
}

/** A gateway whose only key speaks for `tenant`, with `caps` and the fixture's NATS and Postgres. */
function gateway(tenant: string, caps: ChannelCaps, over: Partial<GatewayDeps> = {}) {
  return createApp({ ...f.deps, keys: new Map([[TENANT_KEY, tenant]]), store: redis(), spendCaps: spendCaps(caps), ...over });
}

type App = ReturnType<typeof createApp>;
const post = (app: App, body: unknown, headers: Record<string, string> = {}) => send(app, "/v1/notifications", { body, headers });
const statuses = async (responses: Promise<Response>[]) => (await Promise.all(responses)).map((r) => r.status);

/** The envelopes of the last `count` messages on the stream. */
async function lastPublished(count: number): Promise<Envelope[]> {
  const last = await f.count();
  return Promise.all(Array.from({ length: count }, async (_, i) => (await f.message(last - count + 1 + i)).envelope));
}

beforeAll(async () => {
  [f, broken] = await Promise.all([createAppFixture(), createStreamFixture({ withStream: false })]);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all([f.cleanup(), broken.cleanup(), deleteRedisPrefix(prefix)]);
});

describe("a daily cap on a channel", () => {
  test("admits N, then refuses with 429 daily_cap naming the channel and the cap, Retry-After until UTC midnight, and publishes nothing", async () => {
    const app = gateway("cap-n", { sms: 3 });
    const before = await f.count();
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.sms)])).toEqual([202, 202, 202]);
    const res = await post(app, VALID.sms);
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { type: string; title: string; status: number; detail: string; errors: unknown[] };
    expect(problem).toMatchObject({ type: "https://herald.dev/problems/daily_cap", title: "Daily cap reached", status: 429 });
    expect(problem.detail).toContain("3 sms");
    expect(problem.errors).toEqual([{ path: "channel", message: expect.stringContaining("daily cap of 3 sms") }]);
    const untilMidnight = (utcDay(Date.now()).end - Date.now()) / 1000;
    expect(Math.abs(Number(res.headers.get("retry-after")) - untilMidnight)).toBeLessThan(5);
    expect(await f.count()).toBe(before + 3);
  });

  test("counts nothing for a channel without a cap", async () => {
    const app = gateway("cap-other-channel", { sms: 1 });
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.email), post(app, VALID.email)])).toEqual([202, 429, 202, 202]);
  });

  test("a cap of 0 closes the channel without asking the store", async () => {
    const dead = createRedisStore({ url: "redis://127.0.0.1:1", prefix });
    stores.push(dead);
    expect((await post(gateway("cap-zero", { sms: 0 }, { store: dead }), VALID.sms)).status).toBe(429);
  });

  test("a refused request keeps no Idempotency-Key: the same request is a first try once the cap allows it", async () => {
    const store = redis();
    const key = { "idempotency-key": "refused-then-retried" };
    const capped = gateway("cap-key", { sms: 1 }, { store });
    expect((await post(capped, VALID.sms)).status).toBe(202);
    expect((await post(capped, VALID.sms, key)).status).toBe(429);
    const raised = gateway("cap-key", { sms: 2 }, { store });
    const retried = await post(raised, VALID.sms, key);
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotency-replayed")).toBeNull();
  });

  test("an idempotent replay is not counted again", async () => {
    const app = gateway("cap-replay", { sms: 2 });
    const key = { "idempotency-key": "replayed" };
    expect((await post(app, VALID.sms, key)).status).toBe(202);
    for (let i = 0; i < 3; i++) {
      const replayed = await post(app, VALID.sms, key);
      expect([replayed.status, replayed.headers.get("idempotency-replayed")]).toEqual([202, "true"]);
    }
    expect(await statuses([post(app, VALID.sms)])).toEqual([202]);
    expect(await statuses([post(app, VALID.sms)])).toEqual([429]);
    // Past the cap, a replay still answers its first response, never a 429.
    expect((await post(app, VALID.sms, key)).status).toBe(202);
  });

  test("a publish that fails (503) gives its count back", async () => {
    const store = redis();
    const failing = gateway("cap-publish", { sms: 1 }, { store, publisher: broken.publisher });
    const res = await post(failing, VALID.sms, { "idempotency-key": "failed-once" });
    expect(res.status).toBe(503);
    const healthy = gateway("cap-publish", { sms: 1 }, { store });
    expect(await statuses([post(healthy, VALID.sms, { "idempotency-key": "failed-once" })])).toEqual([202]);
    expect(await statuses([post(healthy, VALID.sms)])).toEqual([429]);
  });

  test("two gateways on one Redis share the cap: of 12 concurrent requests over both, exactly 5 pass", async () => {
    const [a, b] = [0, 1].map(() => gateway("cap-shared", { sms: 5 }, { store: redis("shared:") }));
    if (a === undefined || b === undefined) throw new Error("two gateways");
    const all = await statuses(Array.from({ length: 12 }, (_, i) => post(i % 2 === 0 ? a : b, VALID.sms)));
    expect(all.filter((s) => s === 202)).toHaveLength(5);
    expect(all.filter((s) => s === 429)).toHaveLength(7);
  });

  test("a tenant's own cap replaces the default for that channel", async () => {
    const directory = createTenantDirectory({
      bootstrap: new Map([
        [TENANT_KEY, "cap-own"],
        ["hk_test_other_tenant", "cap-default"],
      ]),
      source: { keyByHash: async () => undefined, tenant: (id) => readTenant(f.db.db, id), touch: async () => {} },
      defaults: { rateLimit: () => null, dailyCaps: { sms: 3, email: 1 }, retentionDays: 90 },
      sha256: () => "",
    });
    await updateTenant(f.db.db, "cap-own", { dailyCaps: { sms: 1 } }, { actor: "cli", clientAddress: null });
    const app = gateway("cap-own", {}, { tenants: directory, spendCaps: { ...spendCaps({}), capsOf: capsFromDirectory(directory) } });
    const other = (body: unknown) => send(app, "/v1/notifications", { body, key: "hk_test_other_tenant" });
    // Its own sms cap of 1; email keeps the default of 1.
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.email), post(app, VALID.email)])).toEqual([202, 429, 202, 429]);
    expect(await statuses([other(VALID.sms), other(VALID.sms), other(VALID.sms), other(VALID.sms)])).toEqual([202, 202, 202, 429]);
  });

  test("counts by UTC day: a new day starts from zero (clock injected)", async () => {
    let now = Date.UTC(2030, 0, 1, 23, 59, 58);
    const app = gateway("cap-day", {}, { spendCaps: spendCaps({ sms: 2 }, () => now) });
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms)])).toEqual([202, 202]);
    const refused = await post(app, VALID.sms);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(((await refused.json()) as { detail: string }).detail).toContain("2030-01-02T00:00:00.000Z");
    now = Date.UTC(2030, 0, 2, 0, 0, 1);
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.sms)])).toEqual([202, 202, 429]);
  });

  test("counts refusals by channel in herald_daily_cap_refused_total", async () => {
    const metrics = createMetrics();
    const app = gateway("cap-metrics", { sms: 1 }, { metrics });
    await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.sms)]);
    expect(await metrics.render()).toContain('herald_daily_cap_refused_total{channel="sms"} 2');
  });
});

describe("a counter the store lost", () => {
  test("is rebuilt from the notifications Postgres holds for the tenant, channel and day (Redis flushed)", async () => {
    const under = "flushed:";
    const app = gateway("cap-flushed", { sms: 5 }, { store: redis(under) });
    expect(await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.sms)])).toEqual([202, 202, 202]);
    // Stored as the processor stores them, then the counter is gone.
    await claim(f.db.sql, await lastPublished(3), Date.now());
    await deleteRedisPrefix(`${prefix}${under}`);
    const after = await statuses([post(app, VALID.sms), post(app, VALID.sms), post(app, VALID.sms)]);
    expect(after.sort()).toEqual([202, 202, 429]);
  });

  test("is rebuilt from Postgres by a restarted single instance (in-memory store)", async () => {
    const first = gateway("cap-restart", { sms: 3 }, { store: createMemoryStore() });
    expect(await statuses([post(first, VALID.sms), post(first, VALID.sms)])).toEqual([202, 202]);
    await claim(f.db.sql, await lastPublished(2), Date.now());
    const restarted = gateway("cap-restart", { sms: 3 }, { store: createMemoryStore() });
    expect(await statuses([post(restarted, VALID.sms), post(restarted, VALID.sms)])).toEqual([202, 429]);
  });
});

describe("while a counter cannot be read", () => {
  test("a capped channel answers 503 with Retry-After (fail closed), an uncapped one is still accepted", async () => {
    const dead = createRedisStore({ url: "redis://127.0.0.1:1", prefix });
    stores.push(dead);
    const app = gateway("cap-store-down", { sms: 100 }, { store: dead });
    const before = await f.count();
    const res = await post(app, VALID.sms);
    expect([res.status, res.headers.get("retry-after")]).toEqual([503, "1"]);
    expect(((await res.json()) as { detail: string }).detail).toContain("spend-cap counter");
    expect((await post(app, VALID.email)).status).toBe(202);
    expect(await f.count()).toBe(before + 1);
  });

  test("a lost counter while Postgres does not answer is a 503 too, and no count is guessed", async () => {
    const pool = openPool("postgres://postgres@127.0.0.1:1/none");
    const store = redis();
    const caps: SpendCaps = { capsOf: () => ({ sms: 1 }), countAccepted: (t, ch, from, to) => countAccepted(pool.db, t, ch, from, to) };
    const app = gateway("cap-pg-down", {}, { store, spendCaps: caps });
    expect((await post(app, VALID.sms)).status).toBe(503);
    await pool.close();
    expect(await statuses([post(gateway("cap-pg-down", { sms: 1 }, { store }), VALID.sms)])).toEqual([202]);
  });
});

describe("a batch", () => {
  test("admits each channel's items up to its cap in order, refuses the rest with 429 lines (207), and counts only valid items", async () => {
    const app = gateway("cap-batch", { sms: 3 });
    const before = await f.count();
    const items = [VALID.sms, VALID.email, VALID.sms, { channel: "sms" }, VALID.sms, VALID.sms];
    const res = await send(app, "/v1/notifications/batch", { body: { notifications: items } });
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as {
      results: Array<{ status: string; error?: { status: number; errors?: Array<{ path: string; message: string }> } }>;
    };
    expect(results.map((r) => r.error?.status ?? r.status)).toEqual(["accepted", "accepted", "accepted", 400, "accepted", 429]);
    expect(results[5]?.error?.errors).toEqual([{ path: "channel", message: expect.stringContaining("daily cap of 3 sms") }]);
    expect(await f.count()).toBe(before + 4);
  });

  test("with every valid item past its cap is one 429 problem for the request, and publishes nothing", async () => {
    const app = gateway("cap-batch-all", { sms: 1 });
    expect((await post(app, VALID.sms)).status).toBe(202);
    const before = await f.count();
    const res = await send(app, "/v1/notifications/batch", { body: { notifications: [VALID.sms, VALID.sms] }, headers: { "idempotency-key": "b" } });
    expect(res.status).toBe(429);
    expect((await res.json()) as object).toMatchObject({ type: "https://herald.dev/problems/daily_cap", errors: [{ path: "notifications" }] });
    expect(await f.count()).toBe(before);
  });

  test("gives back the count of items whose publish failed", async () => {
    const store = redis();
    const failing = gateway("cap-batch-publish", { sms: 2 }, { store, publisher: broken.publisher });
    expect((await send(failing, "/v1/notifications/batch", { body: { notifications: [VALID.sms, VALID.sms] } })).status).toBe(503);
    const healthy = gateway("cap-batch-publish", { sms: 2 }, { store });
    expect(await statuses([post(healthy, VALID.sms), post(healthy, VALID.sms), post(healthy, VALID.sms)])).toEqual([202, 202, 429]);
  });
});

describe("a send by template", () => {
  let app: App;
  const content = { variables: { type: "object" }, locales: { default: { email: { subject: "Shipped", text: "On its way" }, sms: { body: "Shipped" } } } };
  beforeAll(async () => {
    await createTemplate(f.db.db, "cap-template", { name: "shipped", category: "orders", content });
    await publishTemplate(f.db.db, "cap-template", "shipped");
    await putUser(f.db.db, "cap-template", "ada", { email: "ada@example.com", phone: "+14155550100" });
    app = gateway("cap-template", { sms: 1 }, { templateSends: templateSendDeps(f.db.sql, createTemplateCache(f.db.db)) });
  });
  const byTemplate = (over: Record<string, unknown> = {}) => ({ userId: "ada", template: "shipped", data: {}, ...over });

  test("counts each channel it fans out to: past the sms cap, the sms line is a 429 and the email still goes (207)", async () => {
    const first = await post(app, byTemplate());
    expect(first.status).toBe(202);
    const before = await f.count();
    const second = await post(app, byTemplate());
    expect(second.status).toBe(207);
    const { notifications } = (await second.json()) as { notifications: Array<{ channel: string; status: string; error?: { status: number } }> };
    expect(notifications.map((l) => [l.channel, l.error?.status ?? l.status])).toEqual([
      ["email", "accepted"],
      ["sms", 429],
    ]);
    expect(await f.count()).toBe(before + 1);
  });

  test("to the capped channel alone is one 429 problem, nothing published", async () => {
    const before = await f.count();
    const res = await post(app, byTemplate({ channel: "sms" }));
    expect(res.status).toBe(429);
    expect((await res.json()) as object).toMatchObject({ type: "https://herald.dev/problems/daily_cap", errors: [{ path: "channel" }] });
    expect(await f.count()).toBe(before);
  });
});
