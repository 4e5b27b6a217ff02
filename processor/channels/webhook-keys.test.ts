import { describe, expect, test } from "bun:test";
import type { SigningSecrets } from "../../lib/db/webhook-secrets.ts";
import { RetryableError } from "./errors.ts";
import { cachedSigningKeys } from "./webhook-keys.ts";
import { webhookKey } from "./webhook-signature.ts";

const A = `whsec_${btoa("tenant a's current secret!")}`;
const A_OLD = `whsec_${btoa("tenant a's previous secret")}`;
const B = `whsec_${btoa("tenant b's current secret!")}`;

/** A loader over a fixed table that records every call. */
function table(rows: Record<string, SigningSecrets>) {
  const calls: string[][] = [];
  let failing: Error | null = null;
  return {
    calls,
    fail(err: Error | null) {
      failing = err;
    },
    async load(tenants: readonly string[]) {
      calls.push([...tenants]);
      if (failing) throw failing;
      return new Map(tenants.flatMap((t) => (rows[t] ? [[t, rows[t]] as const] : [])));
    },
  };
}

const current = (secret: string) => ({ secret, expiresAt: null });

describe("tenant signing keys", () => {
  test("reads a tenant's keys once and serves them from memory until the TTL passes", async () => {
    const db = table({ a: { secrets: [current(A)], unreadable: 0 } });
    let now = 1_000;
    const keys = cachedSigningKeys({ load: db.load, ttlMs: 5_000, now: () => now });
    expect(await keys.keysOf("a")).toEqual([webhookKey(A)]);
    now += 4_999;
    await keys.keysOf("a");
    expect(db.calls).toEqual([["a"]]);
    now += 1;
    await keys.keysOf("a");
    expect(db.calls).toEqual([["a"], ["a"]]);
  });

  test("prepare reads every tenant of a batch in one load; the sends then ask nothing", async () => {
    const db = table({ a: { secrets: [current(A)], unreadable: 0 }, b: { secrets: [current(B)], unreadable: 0 } });
    const keys = cachedSigningKeys({ load: db.load });
    await keys.prepare(["a", "b", "a", "none"]);
    expect(db.calls).toEqual([["a", "b", "none"]]);
    expect(await keys.keysOf("b")).toEqual([webhookKey(B)]);
    expect(await keys.keysOf("none")).toEqual([]);
    expect(db.calls).toHaveLength(1);
  });

  test("sends that ask while a load is under way wait for it instead of loading again", async () => {
    const db = table({ a: { secrets: [current(A)], unreadable: 0 } });
    const keys = cachedSigningKeys({ load: db.load });
    const [x, y] = await Promise.all([keys.keysOf("a"), keys.keysOf("a"), keys.prepare(["a"])]);
    expect(x).toEqual([webhookKey(A)]);
    expect(y).toEqual([webhookKey(A)]);
    expect(db.calls).toEqual([["a"]]);
  });

  test("a tenant without secrets caches as none, so its sends ask nothing either", async () => {
    const db = table({});
    const keys = cachedSigningKeys({ load: db.load });
    expect(await keys.keysOf("none")).toEqual([]);
    expect(await keys.keysOf("none")).toEqual([]);
    expect(db.calls).toHaveLength(1);
  });

  test("serves a cached tenant's keys synchronously, the same list each time", async () => {
    const keys = cachedSigningKeys({ load: table({ a: { secrets: [current(A)], unreadable: 0 } }).load });
    await keys.prepare(["a"]);
    const first = keys.keysOf("a");
    expect(first).not.toBeInstanceOf(Promise);
    expect(keys.keysOf("a")).toBe(first);
  });

  test("signs with the current key first and a rotated-out one until its grace ends, without reading again", async () => {
    let now = 10_000;
    const db = table({ a: { secrets: [current(A), { secret: A_OLD, expiresAt: new Date(12_000) }], unreadable: 0 } });
    const keys = cachedSigningKeys({ load: db.load, ttlMs: 60_000, now: () => now });
    expect(await keys.keysOf("a")).toEqual([webhookKey(A), webhookKey(A_OLD)]);
    now = 12_000;
    expect(await keys.keysOf("a")).toEqual([webhookKey(A)]);
    expect(db.calls).toHaveLength(1);
  });

  test("secrets that do not open fail every send as retryable, naming HERALD_TOKEN_SECRET, and never fall back to the deployment's", async () => {
    const db = table({ a: { secrets: [], unreadable: 2 } });
    const keys = cachedSigningKeys({ load: db.load });
    // The first send reads, the next ones find the refusal cached: each must be refused.
    for (let i = 0; i < 3; i++) {
      const err = await Promise.resolve(keys.keysOf("a")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetryableError);
      expect((err as Error).message).toContain("HERALD_TOKEN_SECRET");
    }
    expect(db.calls).toHaveLength(1);
  });

  test("a failed read fails the send as retryable and is tried again by the next; prepare never rejects", async () => {
    const db = table({ a: { secrets: [current(A)], unreadable: 0 } });
    const keys = cachedSigningKeys({ load: db.load });
    db.fail(new Error("connection refused"));
    await keys.prepare(["a"]);
    const err = await Promise.resolve(keys.keysOf("a")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toContain("connection refused");
    db.fail(null);
    expect(await keys.keysOf("a")).toEqual([webhookKey(A)]);
  });
});
