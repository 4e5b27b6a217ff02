// The ioredis store against a redis-server of the test's own that dies and comes back: it fails fast while Redis is away and recovers by itself.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually } from "../../../test/support/eventually.ts";
import { startPrivateRedis, type PrivateRedis } from "../../../test/support/redis-server.ts";
import type { GatewayStore } from "../../store/types.ts";
import { createIoRedisStore } from "./redis-store.ts";

let redis: PrivateRedis;
let store: GatewayStore;

beforeAll(async () => {
  redis = await startPrivateRedis();
  store = createIoRedisStore({ url: redis.url, prefix: "ioredis-outage:" });
});
afterAll(async () => {
  await store?.close();
  await redis?.remove();
});

test("claims, completes and replays; with Redis gone a command fails at once; it reconnects by itself when Redis is back", async () => {
  expect(await store.claim("t1", "k1", "hash-1", 60_000)).toEqual({ kind: "claimed" });
  await store.complete("t1", "k1", "hash-1", { status: 202, body: "{}" }, 60_000);
  expect(await store.claim("t1", "k1", "hash-1", 60_000)).toEqual({ kind: "replay", response: { status: 202, body: "{}" } });

  await redis.stop();
  await eventually(
    async () =>
      (await store
        .ping()
        .then(() => false)
        .catch(() => true)) || null,
    { timeoutMs: 5_000 },
  );
  const started = performance.now();
  await expect(store.claim("t1", "k2", "hash-2", 60_000)).rejects.toThrow();
  expect(performance.now() - started).toBeLessThan(250);

  await redis.start();
  await eventually(
    async () =>
      (await store
        .ping()
        .then(() => true)
        .catch(() => false)) || null,
    { timeoutMs: 10_000, everyMs: 50 },
  );
  expect(await store.claim("t1", "k2", "hash-2", 60_000)).toEqual({ kind: "claimed" });
});

test("after close a command fails instead of reconnecting", async () => {
  const closed = createIoRedisStore({ url: redis.url, prefix: "ioredis-closed:" });
  await closed.ping();
  await closed.close();
  await expect(closed.ping()).rejects.toThrow("closed");
});
