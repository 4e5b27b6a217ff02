// A redis-server of the test's own dies or hangs: keyless requests must not wait on it, keyed ones get a fast 503, all recover after.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { REMEMBER_DEADLINE_MS } from "../../idempotency.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../../../test/support/gateway-fixture.ts";
import { startPrivateRedis, type PrivateRedis } from "../../../test/support/redis-server.ts";
import { createRedisStore } from "./redis-store.ts";

let redis: PrivateRedis;
let fx: AppFixture | undefined;

beforeAll(async () => {
  redis = await startPrivateRedis();
  fx = await createAppFixture({ store: createRedisStore({ url: redis.url, prefix: "outage:" }) });
});
afterAll(async () => {
  try {
    await fx?.cleanup();
  } finally {
    await redis?.remove();
  }
});

const app = () => fx!.app;
const post = (key?: string) => send(app(), "/v1/notifications", { body: VALID.email, headers: key ? { "idempotency-key": key } : {} });

/** Latencies in ms of `n` POSTs, `concurrency` in flight at a time, with each answer's status. */
async function measure(n: number, concurrency: number, key?: (i: number) => string): Promise<{ ms: number[]; statuses: Set<number> }> {
  const ms: number[] = [];
  const statuses = new Set<number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const started = performance.now();
        const res = await post(key?.(i));
        await res.arrayBuffer();
        ms.push(performance.now() - started);
        statuses.add(res.status);
      }
    }),
  );
  return { ms, statuses };
}

function percentile(ms: number[], p: number): number {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const summary = (label: string, ms: number[]) =>
  console.log(
    `${label}: p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (n=${ms.length})`,
  );

test("with Redis killed, keyless POSTs answer 202 without waiting on it, keyed ones a fast 503, and both recover when it is back", async () => {
  const warm = await measure(50, 10);
  expect([...warm.statuses]).toEqual([202]);
  summary("redis up, keyless", warm.ms);

  await redis.stop();
  const keyless = await measure(200, 10);
  summary("redis down, keyless", keyless.ms);
  expect([...keyless.statuses]).toEqual([202]);
  expect(percentile(keyless.ms, 99)).toBeLessThan(100);

  const keyed = await measure(50, 10, (i) => `down-${i}`);
  summary("redis down, keyed", keyed.ms);
  expect([...keyed.statuses]).toEqual([503]);
  expect(percentile(keyed.ms, 99)).toBeLessThan(100);

  await redis.start();
  // Back within a second or two: a keyed request is accepted once more, and replayed.
  const deadline = Date.now() + 5_000;
  let status = (await post("after-outage")).status;
  while (status !== 202 && Date.now() < deadline) {
    await Bun.sleep(50);
    status = (await post("after-outage")).status;
  }
  expect(status).toBe(202);
  expect((await post("after-outage")).headers.get("idempotency-replayed")).toBe("true");
  // And a keyless one is remembered again: read-your-writes before the processor wrote anything.
  const { id } = (await (await post()).json()) as { id: string };
  expect(await (await send(app(), `/v1/notifications/${id}`)).json()).toMatchObject({ id, status: "accepted" });
}, 60_000);

test("with Redis hung, keyless POSTs still answer 202 within the remember deadline, and the late writes land once it resumes", async () => {
  expect((await post()).status).toBe(202); // connected again after the previous test
  redis.pause();
  let late: { id: string };
  try {
    const keyless = await measure(50, 10);
    summary("redis hung, keyless", keyless.ms);
    expect([...keyless.statuses]).toEqual([202]);
    expect(percentile(keyless.ms, 99)).toBeLessThan(REMEMBER_DEADLINE_MS + 100);
    late = (await (await post()).json()) as { id: string };
  } finally {
    redis.resume();
  }
  // Its read-your-writes copy was written after the 202 went out.
  const deadline = Date.now() + 5_000;
  let res = await send(app(), `/v1/notifications/${late.id}`);
  while (res.status !== 200 && Date.now() < deadline) {
    await Bun.sleep(20);
    res = await send(app(), `/v1/notifications/${late.id}`);
  }
  expect(await res.json()).toMatchObject({ id: late.id, status: "accepted" });
}, 30_000);

test("a connection the server closes (an idle timeout) is reopened for the next request, which is not refused", async () => {
  expect((await post("before-idle-close")).status).toBe(202);
  const admin = new Bun.RedisClient(redis.url);
  try {
    await admin.send("CLIENT", ["KILL", "TYPE", "normal", "SKIPME", "yes"]);
  } finally {
    admin.close();
  }
  await Bun.sleep(20);
  expect((await post("after-idle-close")).status).toBe(202);
  expect((await post("after-idle-close")).headers.get("idempotency-replayed")).toBe("true");
});
