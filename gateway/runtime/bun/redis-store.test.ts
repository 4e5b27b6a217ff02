import { afterAll, describe, expect, test } from "bun:test";
import { deleteRedisPrefix, SERVICES, testNamespace } from "../../../test/support/services.ts";
import { createRedisStore } from "./redis-store.ts";

// Behaviour every adapter shares is in store.test.ts; this is what only the Redis adapter does.
const PREFIX = `herald:${testNamespace()}:redis-only:`;
afterAll(() => deleteRedisPrefix(PREFIX));

/** How many reads the Redis server has processed, over all its clients (INFO stats). */
async function serverReads(): Promise<number> {
  const probe = new Bun.RedisClient(SERVICES.redis);
  try {
    const stats = (await probe.send("INFO", ["stats"])) as string;
    const match = /total_reads_processed:(\d+)/.exec(stats);
    if (!match) throw new Error("INFO stats has no total_reads_processed");
    return Number(match[1]);
  } finally {
    probe.close();
  }
}

describe("redis store", () => {
  test("sends the commands of every request handled in one event-loop turn together", async () => {
    const store = createRedisStore({ url: SERVICES.redis, prefix: PREFIX });
    try {
      await store.ping();
      const requests = 40;
      const before = await serverReads();
      // Each claim from a timer callback of its own, as the gateway's requests each arrive in one.
      const claims = await Promise.all(
        Array.from({ length: requests }, (_, i) => new Promise((r) => setTimeout(r, 0)).then(() => store.claim("t1", `turn-${i}`, "h1", 10_000))),
      );
      const reads = (await serverReads()) - before;
      expect(claims.every((c) => c.kind === "claimed")).toBe(true);
      // One command per read would be 40 here (plus the INFO probe's own); one turn's batch is a read or a few.
      expect(reads).toBeLessThan(requests / 4);
    } finally {
      await store.close();
    }
  });

  test("keeps the order of commands within a turn: a completed record replays in the same turn", async () => {
    const store = createRedisStore({ url: SERVICES.redis, prefix: PREFIX });
    try {
      const response = { status: 202, body: '{"id":"n-1"}' };
      const [claimed, , replay] = await Promise.all([
        store.claim("t1", "ordered", "h1", 10_000),
        store.complete("t1", "ordered", "h1", response, 60_000),
        store.claim("t1", "ordered", "h1", 10_000),
      ]);
      expect(claimed).toEqual({ kind: "claimed" });
      expect(replay).toEqual({ kind: "replay", response });
    } finally {
      await store.close();
    }
  });

  test("fails a command still waiting for its turn when the store is closed, without reconnecting", async () => {
    const store = createRedisStore({ url: SERVICES.redis, prefix: PREFIX });
    await store.ping();
    const pending = store.recall("t1", "never-sent");
    await store.close();
    await expect(pending).rejects.toThrow("redis store is closed");
    await expect(store.ping()).rejects.toThrow("redis store is closed");
  });
});
