import type { Database, Sql } from "../../schemas/database.ts";
import { publishedVersionOf, versionKeyOf, versionsAmong, type PublishedVersion, type VersionKey } from "../db/templates.ts";

/** The gateway's view of which version a send by template gets, read from Postgres at most once per template per TTL. */
export interface TemplateCache {
  /** The published version of the tenant's template; null for an unknown or unpublished one (also cached for the TTL). */
  published(tenantId: string, name: string): Promise<PublishedVersion | null>;
  /** Forgets one template, so this gateway sees a publish at once (other instances within the TTL). */
  invalidate(tenantId: string, name: string): void;
}

type Entry = { at: number; value: Promise<PublishedVersion | null> };

/**
 * A TTL cache of published versions for the accept path; concurrent misses
 * of one template share one read, a failed read is not kept, and the oldest
 * entries go first beyond `maxEntries`.
 */
export function createTemplateCache(db: Database, ttlMs = 5_000, opts: { maxEntries?: number; now?: () => number } = {}): TemplateCache {
  const entries = new Map<string, Entry>();
  const maxEntries = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const keyOf = (tenantId: string, name: string) => `${tenantId}\u0000${name}`;
  return {
    published(tenantId, name) {
      const key = keyOf(tenantId, name);
      const hit = entries.get(key);
      const t = now();
      if (hit !== undefined && t - hit.at < ttlMs) return hit.value;
      entries.delete(key);
      const value = publishedVersionOf(db, tenantId, name);
      entries.set(key, { at: t, value });
      value.catch(() => entries.get(key)?.value === value && entries.delete(key));
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return value;
    },
    invalidate(tenantId, name) {
      entries.delete(keyOf(tenantId, name));
    },
  };
}

/** The processor's versions: a version never changes, so one read each for the life of the process. */
export interface VersionCache {
  /** The versions among the keys that exist, keyed by `versionKeyOf`; the ones not cached are read in one statement. */
  among(keys: VersionKey[]): Promise<Map<string, PublishedVersion>>;
  readonly size: number;
}

/** Versions kept until `maxEntries`, least recently used dropped first; versions not found are asked again next time. */
export function createVersionCache(sql: Sql, opts: { maxEntries?: number } = {}): VersionCache {
  const cache = new Map<string, PublishedVersion>();
  const maxEntries = opts.maxEntries ?? 10_000;
  return {
    async among(keys) {
      const found = new Map<string, PublishedVersion>();
      const missing = new Map<string, VersionKey>();
      for (const k of keys) {
        const id = versionKeyOf(k);
        const hit = cache.get(id);
        if (hit === undefined) missing.set(id, k);
        else {
          cache.delete(id);
          cache.set(id, hit);
          found.set(id, hit);
        }
      }
      if (missing.size === 0) return found;
      for (const [id, v] of await versionsAmong(sql, [...missing.values()])) {
        cache.set(id, v);
        found.set(id, v);
      }
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      return found;
    },
    get size() {
      return cache.size;
    },
  };
}
