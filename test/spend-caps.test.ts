import { afterAll, beforeAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { and, count, eq } from "drizzle-orm";
import { utcDay } from "../gateway/daily-caps.ts";
import { dailyKey } from "../gateway/store/codec.ts";
import { notifications } from "../schemas/tables.ts";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { SERVICES } from "./support/services.ts";
import { ADMIN_KEY, OTHER_KEY } from "./support/constants.ts";
import { createStack, post, type Stack } from "./support/stack.ts";

// Spend caps across real processes: two `herald gateway`s on one Redis share
// a tenant's SMS cap, a restarted gateway keeps the count, and a counter
// Redis lost is rebuilt from the rows the processor stored.

const CAP = 6;
let stack: Stack;
let gateways: HeraldProcess[] = [];
let processor: HeraldProcess | undefined;
let redis: RedisClient;

beforeAll(async () => {
  stack = await createStack({ HERALD_DAILY_CAPS: `sms:${CAP}` });
  gateways = await Promise.all([startHerald("gateway", stack.env), startHerald("gateway", stack.env)]);
  redis = new RedisClient(SERVICES.redis);
});

afterAll(async () => {
  await Promise.all([...gateways, ...(processor ? [processor] : [])].map((p) => p.signal("SIGTERM")));
  redis?.close();
  await stack?.cleanup();
});

const sms = (i: number) => ({ userId: "u-capped", channel: "sms", payload: { to: "+14155550100", body: `Your code is ${i}` } });

/** Sends `n` SMS spread over both gateways, all at once; answers their statuses. */
async function sendSms(n: number, from: number): Promise<number[]> {
  const res = await Promise.all(Array.from({ length: n }, (_, i) => post(gateways[(from + i) % 2]?.url ?? "", "/v1/notifications", sms(from + i))));
  return res.map((r) => r.status);
}

test("two gateways share the cap, a restart keeps the count, a counter Redis lost is rebuilt from Postgres", async () => {
  expect(await sendSms(4, 0)).toEqual([202, 202, 202, 202]);

  // The count lives in Redis, not in the gateway: a restarted gateway admits only what is left.
  await gateways[0]?.signal("SIGTERM");
  gateways[0] = await startHerald("gateway", stack.env);
  const afterRestart = await sendSms(4, 4);
  expect(afterRestart.filter((s) => s === 202)).toHaveLength(CAP - 4);
  expect(afterRestart.filter((s) => s === 429)).toHaveLength(2);

  // Redis loses the counter; the gateways rebuild it from the rows the processor stored.
  processor = await startHerald("processor", stack.env);
  const stored = and(eq(notifications.tenantId, "acme"), eq(notifications.channel, "sms"));
  await eventually(async () => (await stack.db.db.select({ n: count() }).from(notifications).where(stored))[0]?.n === CAP, {
    label: `${CAP} sms rows`,
    timeoutMs: 30_000,
  });
  const key = dailyKey(`${stack.namespace}:`, { tenant: "acme", channel: "sms", day: utcDay(Date.now()).day, ttlMs: 0 });
  expect(await redis.send("GET", [key])).toBe(String(CAP));
  await redis.send("DEL", [key]);
  const res = await post(gateways[1]?.url ?? "", "/v1/notifications", sms(99));
  expect(res.status).toBe(429);
  expect(((await res.json()) as { type: string }).type).toBe("https://herald.dev/problems/daily_cap");
  expect(await redis.send("GET", [key])).toBe(String(CAP));
}, 90_000);

test("a tenant's own cap, stored through the admin API, replaces HERALD_DAILY_CAPS on every gateway", async () => {
  const put = await fetch(`${gateways[0]?.url}/admin/v1/tenants/beta`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ dailyCaps: { sms: 1 } }),
  });
  expect(put.status).toBe(200);
  const beta = (i: number, g: number) => post(gateways[g]?.url ?? "", "/v1/notifications", sms(i), { authorization: `Bearer ${OTHER_KEY}` });
  // The change reaches every gateway's directory when it commits (LISTEN), within seconds at worst.
  await eventually(async () => (await beta(100, 1)).status === 202, { label: "beta's first sms" });
  expect((await beta(101, 0)).status).toBe(429);
  expect((await beta(102, 1)).status).toBe(429);
}, 30_000);
