import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateApiKey, isWellFormedApiKey } from "./api-key.ts";
import { createApiKey, hashApiKey, revokeApiKey } from "./db/api-keys.ts";
import { updateTenant } from "./db/tenants.ts";
import { openTenantDirectory } from "./tenancy.ts";
import { createTenantDirectory, type StoredKey, type TenancySource } from "./tenant-directory.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/services.ts";

const defaults = { rateLimit: () => ({ perSecond: 5, burst: 10 }), dailyCaps: { sms: 100 }, retentionDays: 90 };

/** A source that counts its lookups, for what the cache saves; the Postgres one is tested below. */
function countingSource(keys: Map<string, StoredKey>) {
  const calls = { keys: 0, tenants: 0, touched: [] as string[] };
  const source: TenancySource = {
    keyByHash: async (hash) => {
      calls.keys++;
      await Bun.sleep(5);
      return keys.get(hash);
    },
    tenant: async () => {
      calls.tenants++;
      return { rateLimit: { perSecond: 1, burst: 2 }, dailyCaps: { sms: 3 }, retentionDays: null };
    },
    touch: async (ids) => void calls.touched.push(...ids),
  };
  return { source, calls };
}

describe("API key text", () => {
  test("generated keys are well formed; one changed character, a wrong prefix or length is not", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const key = generateApiKey();
      expect(isWellFormedApiKey(key)).toBe(true);
      seen.add(key);
    }
    expect(seen.size).toBe(1000);
    const key = generateApiKey();
    const flipped = `${key.slice(0, 10)}${key[10] === "A" ? "B" : "A"}${key.slice(11)}`;
    expect(isWellFormedApiKey(flipped)).toBe(false);
    expect(isWellFormedApiKey(key.replace("hk_live_", "hk_test_"))).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${key}0`)).toBe(false);
  });
});

describe("the tenant directory's cache", () => {
  test("bootstrap keys hold every scope without a lookup; a malformed key is refused without one", async () => {
    const { source, calls } = countingSource(new Map());
    const dir = createTenantDirectory({ bootstrap: new Map([["boot", "acme"]]), source, defaults, sha256: hashApiKey });
    const principal = await dir.authenticate("boot");
    expect(principal).toMatchObject({ tenant: "acme", keyId: null, actor: "tenant:acme" });
    expect([...(principal?.scopes ?? [])].sort()).toEqual(["admin", "inbox", "read", "send"]);
    expect(await dir.authenticate("hk_live_nope")).toBeUndefined();
    expect(await dir.authenticate(`hk_live_${"A".repeat(38)}`)).toBeUndefined();
    expect(calls.keys).toBe(0);
  });

  test("concurrent first uses of a key share one lookup; later ones answer from memory, synchronously", async () => {
    const key = generateApiKey();
    const hash = await hashApiKey(key);
    const { source, calls } = countingSource(new Map([[hash, { id: "k1", tenantId: "acme", scopes: ["read"], expiresAt: null, revokedAt: null }]]));
    const dir = createTenantDirectory({ bootstrap: new Map(), source, defaults, sha256: (t) => new Bun.CryptoHasher("sha256").update(t).digest("hex") });
    const found = await Promise.all(Array.from({ length: 20 }, () => dir.authenticate(key)));
    expect(new Set(found.map((p) => p?.actor))).toEqual(new Set(["key:k1"]));
    expect(calls.keys).toBe(1);
    const again = dir.authenticate(key);
    expect(again instanceof Promise).toBe(false);
    await dir.flushUsage();
    expect(calls.touched).toEqual(["k1"]);
  });

  test("an unknown key is remembered briefly; an announced change, or the ttl, makes it look again", async () => {
    let now = 0;
    const key = generateApiKey();
    const hash = await hashApiKey(key);
    const keys = new Map<string, StoredKey>();
    const { source, calls } = countingSource(keys);
    const dir = createTenantDirectory({ bootstrap: new Map(), source, defaults, sha256: hashApiKey, ttlMs: 60_000, unknownTtlMs: 5_000, now: () => now });
    expect(await dir.authenticate(key)).toBeUndefined();
    expect(await dir.authenticate(key)).toBeUndefined();
    expect(calls.keys).toBe(1);
    keys.set(hash, { id: "k2", tenantId: "acme", scopes: ["send"], expiresAt: null, revokedAt: null });
    dir.changed({ kind: "key", hash });
    expect((await dir.authenticate(key))?.keyId).toBe("k2");
    // Revoked in the store, not announced: trusted until the ttl runs out.
    keys.set(hash, { id: "k2", tenantId: "acme", scopes: ["send"], expiresAt: null, revokedAt: new Date(0) });
    now += 59_000;
    expect((await dir.authenticate(key))?.keyId).toBe("k2");
    now += 2_000;
    expect(await dir.authenticate(key)).toBeUndefined();
  });

  test("an expiry passes without a lookup; forgetAll drops keys and settings", async () => {
    let now = 1_000_000;
    const key = generateApiKey();
    const hash = await hashApiKey(key);
    const { source, calls } = countingSource(
      new Map([[hash, { id: "k3", tenantId: "acme", scopes: ["send"], expiresAt: new Date(now + 1_000), revokedAt: null }]]),
    );
    const dir = createTenantDirectory({ bootstrap: new Map(), source, defaults, sha256: hashApiKey, now: () => now });
    expect((await dir.authenticate(key))?.keyId).toBe("k3");
    now += 1_000;
    expect(await dir.authenticate(key)).toBeUndefined();
    expect(calls.keys).toBe(1);
    expect(await dir.settings("acme")).toEqual({ rateLimit: { perSecond: 1, burst: 2 }, dailyCaps: { sms: 3 }, retentionDays: 90 });
    dir.forgetAll();
    expect(dir.peek("acme")).toBeUndefined();
    await dir.settings("acme");
    expect(calls.tenants).toBe(2);
  });

  test("while the source fails, what it last answered serves up to staleIfErrorMs past expiry, asked again at most every second; then 503s", async () => {
    let now = 0;
    const key = generateApiKey();
    const hash = await hashApiKey(key);
    const { source } = countingSource(new Map([[hash, { id: "k5", tenantId: "acme", scopes: ["send"], expiresAt: null, revokedAt: null }]]));
    let down = false;
    let tries = 0;
    const failing: TenancySource = {
      keyByHash: (h) => {
        tries++;
        return down ? Promise.reject(new Error("connection refused")) : source.keyByHash(h);
      },
      tenant: (id) => (down ? Promise.reject(new Error("connection refused")) : source.tenant(id)),
      touch: source.touch,
    };
    const errors: unknown[] = [];
    const dir = createTenantDirectory({
      bootstrap: new Map(),
      source: failing,
      defaults,
      sha256: hashApiKey,
      ttlMs: 60_000,
      staleIfErrorMs: 30_000,
      onError: (err) => errors.push(err),
      now: () => now,
    });
    expect((await dir.authenticate(key))?.keyId).toBe("k5");
    await dir.settings("acme");
    down = true;
    now = 61_000; // expired 1 s ago, the source failing
    expect((await dir.authenticate(key))?.keyId).toBe("k5");
    expect((await dir.settings("acme")).dailyCaps).toEqual({ sms: 3 });
    expect(errors).toHaveLength(2);
    // Within the next second the stale answers serve without asking the failing source again.
    const asked = tries;
    now += 500;
    expect((await dir.authenticate(key))?.keyId).toBe("k5");
    expect(tries).toBe(asked);
    now = 60_000 + 29_000;
    expect((await dir.authenticate(key))?.keyId).toBe("k5");
    expect(errors).toHaveLength(2); // told once per outage, not per request
    // More than staleIfErrorMs past expiry: the failure is the answer (the request 503s).
    now = 60_000 + 31_000;
    await expect(Promise.resolve(dir.authenticate(key))).rejects.toThrow("connection refused");
    await expect(Promise.resolve(dir.settings("acme"))).rejects.toThrow("connection refused");
    // An announced change leaves nothing to stand in: a revocation heard is never served stale.
    down = false;
    expect((await dir.authenticate(key))?.keyId).toBe("k5");
    dir.changed({ kind: "key", hash });
    down = true;
    now += 61_000;
    await expect(Promise.resolve(dir.authenticate(key))).rejects.toThrow("connection refused");
  });

  test("without a source: the configured settings, a rate limit of 0 meaning none", async () => {
    const dir = createTenantDirectory({
      bootstrap: new Map(),
      defaults: { ...defaults, rateLimit: (t) => (t === "free" ? { perSecond: 0, burst: 1 } : null) },
      sha256: () => "",
    });
    expect(dir.settings("free")).toEqual({ rateLimit: null, dailyCaps: { sms: 100 }, retentionDays: 90 });
  });
});

describe("the directory over Postgres, hearing changes through LISTEN", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const open = () =>
    openTenantDirectory({ db: db.db, listen: db.listen, bootstrap: new Map(), rateLimit: () => null, dailyCaps: {}, retentionDays: 30, touchEveryMs: 50 });

  test("a revocation and a tenant's new limit are heard as they commit, and last use is stamped", async () => {
    const { directory, close } = await open();
    try {
      const by = { actor: "test", clientAddress: null };
      const issued = await createApiKey(db.db, { tenantId: "acme", scopes: ["send"] }, by);
      expect((await directory.authenticate(issued.key))?.keyId).toBe(issued.id);
      expect(await directory.settings("acme")).toEqual({ rateLimit: null, dailyCaps: {}, retentionDays: 30 });
      await updateTenant(db.db, "acme", { rateLimit: { perSecond: 10, burst: 20 }, retentionDays: 7 }, by);
      await revokeApiKey(db.db, issued.id, {}, by);
      const deadline = Date.now() + 2_000;
      while (directory.peek("acme") !== undefined || (await directory.authenticate(issued.key)) !== undefined) {
        if (Date.now() > deadline) throw new Error("the changes were not heard within 2 s");
        await Bun.sleep(10);
      }
      expect(await directory.settings("acme")).toEqual({ rateLimit: { perSecond: 10, burst: 20 }, dailyCaps: {}, retentionDays: 7 });
      // Stamped by the periodic flush (every 50 ms here), not by the request.
      const stampedBy = Date.now() + 2_000;
      while ((await db.sql.run("select last_used_at from api_keys where id = $1", [issued.id]))[0]?.last_used_at == null) {
        if (Date.now() > stampedBy) throw new Error("last_used_at was not stamped within 2 s");
        await Bun.sleep(20);
      }
    } finally {
      await close();
    }
  });

  test("a cut LISTEN connection comes back and the cache starts again from Postgres", async () => {
    const { directory, close } = await open();
    try {
      const by = { actor: "test", clientAddress: null };
      const issued = await createApiKey(db.db, { tenantId: "acme", scopes: ["send"] }, by);
      expect((await directory.authenticate(issued.key))?.keyId).toBe(issued.id);
      await db.sql.run(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and state = 'idle' and query ilike 'listen%herald_tenancy%' and pid <> pg_backend_pid()",
        [],
      );
      // Revoked while the listener may be down: the reconnect's forgetAll covers what it missed.
      await revokeApiKey(db.db, issued.id, {}, by);
      const deadline = Date.now() + 10_000;
      while ((await directory.authenticate(issued.key)) !== undefined) {
        if (Date.now() > deadline) throw new Error("the revoked key still works 10 s after the listener was cut");
        await Bun.sleep(50);
      }
    } finally {
      await close();
    }
  });
});
