import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testNamespace } from "../../test/support/services.ts";
import { STORE_ADAPTERS, type TestStore } from "../../test/support/stores.ts";
import type { DayCounter, GatewayStore } from "./types.ts";
import type { AcceptedView } from "../../schemas/views.ts";

const DAY_MS = 86_400_000;
const PREFIX = `herald:${testNamespace()}:`;
const response = { status: 202, body: '{"id":"n-1","status":"accepted"}' };

function view(id: string): AcceptedView {
  return {
    id,
    userId: "user-1",
    channel: "email",
    type: "transactional",
    priority: "normal",
    status: "accepted",
    createdAt: "2026-01-01T00:00:00.000Z",
    scheduledFor: null,
    metadata: { orderId: "o-1" },
    correlationId: null,
  };
}

describe.each(STORE_ADAPTERS)("$name store", (adapter) => {
  let handle: TestStore;
  let store: GatewayStore;
  // A fresh idempotency key per test, so tests never depend on each other's records.
  let n = 0;
  const freshKey = () => `key-${++n}`;

  beforeAll(async () => {
    handle = await adapter.create(PREFIX);
    store = handle.store;
  });
  afterAll(() => handle.cleanup());

  test("reports its kind", () => {
    expect(store.kind).toBe(adapter.kind);
  });

  test("claims an unused key", async () => {
    expect(await store.claim("t1", freshKey(), "h1", 10_000)).toEqual({ kind: "claimed" });
  });

  test("answers in_flight to a second claim with the same body while the first is pending", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 10_000);
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "in_flight" });
  });

  test("replays the stored response once the first request completed", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 10_000);
    await store.complete("t1", key, "h1", response, DAY_MS);
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "replay", response });
  });

  test("replays a non-ASCII body byte for byte", async () => {
    const key = freshKey();
    const unicode = { status: 202, body: '{"note":"déjà vu ✓ 😀","quote":"\\"x\\""}' };
    await store.claim("t1", key, "h1", 10_000);
    await store.complete("t1", key, "h1", unicode, DAY_MS);
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "replay", response: unicode });
  });

  test("answers mismatch when the key is reused with another body, pending or completed", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 10_000);
    expect(await store.claim("t1", key, "h2", 10_000)).toEqual({ kind: "mismatch" });
    await store.complete("t1", key, "h1", response, DAY_MS);
    expect(await store.claim("t1", key, "h2", 10_000)).toEqual({ kind: "mismatch" });
  });

  test("frees the key after release so the client can retry", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 10_000);
    await store.release("t1", key);
    expect(await store.claim("t1", key, "h2", 10_000)).toEqual({ kind: "claimed" });
  });

  test("keeps a completed record when release comes late", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 10_000);
    await store.complete("t1", key, "h1", response, DAY_MS);
    await store.release("t1", key);
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "replay", response });
  });

  test("releasing a key that was never claimed is a no-op", async () => {
    await store.release("t1", freshKey());
  });

  test("lets a pending claim expire after pendingTtlMs", async () => {
    const key = freshKey();
    await store.claim("t1", key, "h1", 300);
    expect(await store.claim("t1", key, "h1", 300)).toEqual({ kind: "in_flight" });
    await Bun.sleep(450);
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "claimed" });
  });

  test("grants exactly one of 20 concurrent claims", async () => {
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claim("t1", key, "h1", 10_000)));
    expect(results.filter((r) => r.kind === "claimed")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "in_flight")).toHaveLength(19);
  });

  test("keeps tenants apart", async () => {
    const key = freshKey();
    expect(await store.claim("t1", key, "h1", 10_000)).toEqual({ kind: "claimed" });
    expect(await store.claim("t2", key, "h2", 10_000)).toEqual({ kind: "claimed" });
  });

  test("does not collide when a ':' moves between tenant and key", async () => {
    expect(await store.claim("a:b", "c", "h1", 10_000)).toEqual({ kind: "claimed" });
    expect(await store.claim("a", "b:c", "h2", 10_000)).toEqual({ kind: "claimed" });
    await store.remember("a:b", [view("c")], 10_000);
    expect(await store.recall("a", "b:c")).toBeNull();
  });

  test("recalls remembered views, and only for their tenant", async () => {
    const views = [view("n-1"), view("n-2"), { ...view("n-3"), status: "scheduled" as const, scheduledFor: "2026-02-01T00:00:00.000Z" }];
    await store.remember("t1", views, 10_000);
    for (const v of views) expect(await store.recall("t1", v.id)).toEqual(v);
    expect(await store.recall("t2", "n-1")).toBeNull();
    expect(await store.recall("t1", "missing")).toBeNull();
  });

  test("accepts an empty batch to remember", async () => {
    await store.remember("t1", [], 10_000);
  });

  test("forgets remembered views after their ttl", async () => {
    await store.remember("t1", [view("short")], 200);
    await Bun.sleep(350);
    expect(await store.recall("t1", "short")).toBeNull();
  });

  test("answers ping", async () => {
    await store.ping();
  });

  describe("a day's counter", () => {
    let days = 0;
    // A day of its own per test: counters never carry over between tests.
    const counter = (tenant = "t1"): DayCounter => ({ tenant, channel: "sms", day: `2026-01-${String(++days).padStart(2, "0")}`, ttlMs: 10_000 });

    test("answers unseeded for a counter it does not hold, and creates nothing", async () => {
      const c = counter();
      expect(await store.takeDaily(c, 1, 5)).toEqual({ kind: "unseeded" });
      expect(await store.takeDaily(c, 1, 5)).toEqual({ kind: "unseeded" });
    });

    test("starts from the seed, then adds up to the cap and no further", async () => {
      const c = counter();
      expect(await store.takeDaily(c, 1, 5, 3)).toEqual({ kind: "taken", granted: 1, used: 4 });
      expect(await store.takeDaily(c, 3, 5)).toEqual({ kind: "taken", granted: 1, used: 5 });
      expect(await store.takeDaily(c, 1, 5)).toEqual({ kind: "taken", granted: 0, used: 5 });
    });

    test("ignores a second seed once the counter exists", async () => {
      const c = counter();
      await store.takeDaily(c, 1, 10, 0);
      expect(await store.takeDaily(c, 1, 10, 7)).toEqual({ kind: "taken", granted: 1, used: 2 });
    });

    test("refuses everything when the seed is already past the cap", async () => {
      expect(await store.takeDaily(counter(), 2, 5, 9)).toEqual({ kind: "taken", granted: 0, used: 9 });
    });

    test("of 20 concurrent takes of one against a cap of 7, admits exactly 7", async () => {
      const c = counter();
      await store.takeDaily(c, 0, 7, 0);
      const takes = await Promise.all(Array.from({ length: 20 }, () => store.takeDaily(c, 1, 7)));
      expect(takes.filter((t) => t.kind === "taken" && t.granted === 1)).toHaveLength(7);
    });

    test("gives back what a failed publish took, and nothing to a counter it no longer holds", async () => {
      const c = counter();
      await store.takeDaily(c, 3, 3, 0);
      await store.giveBackDaily(c, 2);
      expect(await store.takeDaily(c, 5, 3)).toEqual({ kind: "taken", granted: 2, used: 3 });
      const gone = counter();
      await store.giveBackDaily(gone, 1);
      expect(await store.takeDaily(gone, 1, 3)).toEqual({ kind: "unseeded" });
    });

    test("keeps tenants and channels apart", async () => {
      const c = counter("t1");
      await store.takeDaily(c, 2, 2, 0);
      expect(await store.takeDaily({ ...c, tenant: "t2" }, 1, 2)).toEqual({ kind: "unseeded" });
      expect(await store.takeDaily({ ...c, channel: "email" }, 1, 2)).toEqual({ kind: "unseeded" });
    });

    test("forgets a counter after its ttl", async () => {
      const c = { ...counter(), ttlMs: 200 };
      await store.takeDaily(c, 1, 5, 0);
      await Bun.sleep(350);
      expect(await store.takeDaily(c, 1, 5)).toEqual({ kind: "unseeded" });
    });
  });
});
