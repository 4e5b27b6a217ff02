import { acceptedKey, dailyKey, decodeRecord, decodeView, encodeCompleted, encodeView, idempotencyKey, runClaim } from "./codec.ts";
import type { GatewayStore } from "./types.ts";

interface Entry {
  value: string;
  expiresAt: number;
}

/** How often expired entries are dropped; reads already ignore them, this only bounds memory. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * An in-process store for tests and single-instance deployments. It is not
 * shared between processes, so idempotency holds only within one gateway.
 * TTLs are checked on every read and swept periodically by an unref'd timer
 * that never keeps the process alive.
 */
export function createMemoryStore(): GatewayStore {
  const entries = new Map<string, Entry>();
  // No key prefix is needed: the map belongs to this store alone.
  const prefix = "";

  function read(key: string): string | null {
    const entry = entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return null;
    }
    return entry.value;
  }

  function write(key: string, value: string, ttlMs: number): void {
    entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  }, SWEEP_INTERVAL_MS);
  sweep.unref?.();

  return {
    kind: "memory",

    claim(tenant, key, bodyHash, pendingTtlMs) {
      const k = idempotencyKey(prefix, tenant, key);
      return runClaim(
        {
          // Both run synchronously inside one microtask, so no other claim can interleave.
          setIfAbsent: async (value) => {
            if (read(k) !== null) return false;
            write(k, value, pendingTtlMs);
            return true;
          },
          get: async () => read(k),
        },
        bodyHash,
      );
    },

    async complete(tenant, key, bodyHash, response, ttlMs) {
      write(idempotencyKey(prefix, tenant, key), encodeCompleted(bodyHash, response), ttlMs);
    },

    async release(tenant, key) {
      const k = idempotencyKey(prefix, tenant, key);
      // A completed record must survive: releasing it would let a retry publish twice.
      if (decodeRecord(read(k))?.state === "pending") entries.delete(k);
    },

    async remember(tenant, views, ttlMs) {
      for (const view of views) write(acceptedKey(prefix, tenant, view.id), encodeView(view), ttlMs);
    },

    async recall(tenant, id) {
      return decodeView(read(acceptedKey(prefix, tenant, id)));
    },

    async takeDaily(counter, wanted, cap, seed) {
      const k = dailyKey(prefix, counter);
      // Synchronous from the read to the write, so no other take interleaves (what Redis's script does).
      let used = read(k);
      if (used === null) {
        if (seed === undefined) return { kind: "unseeded" };
        write(k, String(seed), counter.ttlMs);
        used = String(seed);
      }
      const granted = Math.min(wanted, cap - Number(used));
      if (granted <= 0) return { kind: "taken", granted: 0, used: Number(used) };
      const entry = entries.get(k);
      if (entry) entry.value = String(Number(used) + granted);
      return { kind: "taken", granted, used: Number(used) + granted };
    },

    async giveBackDaily(counter, n) {
      const k = dailyKey(prefix, counter);
      const used = read(k);
      const entry = entries.get(k);
      if (used !== null && entry) entry.value = String(Number(used) - n);
    },

    async ping() {},

    async close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
