// The ioredis store against a redis-server of the test's own that dies and comes back: it fails fast while Redis is away and recovers by itself.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitForPort } from "../../../lib/probe.ts";
import { eventually } from "../../../test/support/eventually.ts";
import type { GatewayStore } from "../../store/types.ts";
import { createIoRedisStore } from "./redis-store.ts";

const port = freePort();
const dir = mkdtempSync(join(tmpdir(), "herald-ioredis-"));
let redis: Subprocess | null = null;
let store: GatewayStore;

async function startRedis(): Promise<void> {
  redis = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdout: "ignore",
    stderr: "ignore",
  });
  if (!(await waitForPort("127.0.0.1", port, 5_000))) throw new Error(`redis-server did not listen on ${port}`);
}

async function stopRedis(): Promise<void> {
  redis?.kill("SIGKILL");
  await redis?.exited;
  redis = null;
}

beforeAll(async () => {
  await startRedis();
  store = createIoRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: "ioredis-outage:" });
});
afterAll(async () => {
  await store?.close();
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

test("claims, completes and replays; with Redis gone a command fails at once; it reconnects by itself when Redis is back", async () => {
  expect(await store.claim("t1", "k1", "hash-1", 60_000)).toEqual({ kind: "claimed" });
  await store.complete("t1", "k1", "hash-1", { status: 202, body: "{}" }, 60_000);
  expect(await store.claim("t1", "k1", "hash-1", 60_000)).toEqual({ kind: "replay", response: { status: 202, body: "{}" } });

  await stopRedis();
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

  await startRedis();
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
  const closed = createIoRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: "ioredis-closed:" });
  await closed.ping();
  await closed.close();
  await expect(closed.ping()).rejects.toThrow("closed");
});
