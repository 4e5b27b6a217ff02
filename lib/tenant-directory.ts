import { API_KEY_SCOPES, type ApiKeyScope, type Channel } from "../schemas/enums.ts";
import type { TenantRateLimit } from "../schemas/tables.ts";
import type { Principal, TenantDirectory, TenantSettings } from "../schemas/tenancy.ts";
import { isWellFormedApiKey } from "./api-key.ts";
import type { TenancyChange } from "./db/tenancy-changes.ts";

/** A managed key as the store answers for its hash. */
export interface StoredKey {
  id: string;
  tenantId: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A tenant's stored settings; null fields: the configured default. */
export interface StoredTenant {
  rateLimit: TenantRateLimit | null;
  dailyCaps: Partial<Record<Channel, number>>;
  retentionDays: number | null;
}

/** Where managed keys and tenant rows come from (lib/db/api-keys.ts, lib/db/tenants.ts). */
export interface TenancySource {
  keyByHash(hash: string): Promise<StoredKey | undefined>;
  tenant(id: string): Promise<StoredTenant | undefined>;
  /** Stamps last-used times; called at most every `touchEveryMs`. */
  touch(ids: readonly string[]): Promise<void>;
}

/** The configured defaults a tenant without stored settings gets. */
export interface TenancyDefaults {
  /** The configured limit of a tenant (HERALD_RATE_LIMIT, _TENANTS); null: not limited. */
  rateLimit(tenant: string): TenantRateLimit | null;
  dailyCaps: Partial<Record<Channel, number>>;
  retentionDays: number;
}

export interface DirectoryOptions {
  /** HERALD_API_KEYS: key → tenant, every scope. */
  bootstrap: ReadonlyMap<string, string>;
  /** None: bootstrap keys only, configured settings only. */
  source?: TenancySource;
  defaults: TenancyDefaults;
  /** Lower-case hex SHA-256 of a key's text. */
  sha256(text: string): string | Promise<string>;
  /**
   * How long a cached answer is trusted without a change announced: the
   * bound on a revocation missed while the announcements were cut off.
   * Read at each caching, so the owner can shorten it while not listening.
   */
  ttlMs?: number | (() => number);
  /**
   * How long past its expiry a cached answer still serves while the source
   * fails (Postgres unreachable); default 60 s. No writer can commit a
   * revocation to a Postgres that is down, so this bounds only what a gateway
   * cut off from a Postgres the others still reach may miss.
   */
  staleIfErrorMs?: number;
  /** How long an unknown (well-formed) key is remembered as unknown. */
  unknownTtlMs?: number;
  /** Most entries per cache; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
  /** Told when a lookup fails; the request then answers 503. */
  onError?: (err: unknown) => void;
}

/** The directory, plus what its owner drives: announcements, last-used stamps. */
export interface CachingTenantDirectory extends TenantDirectory {
  /** A change announced by a writer: the cached key or tenant is dropped. */
  changed(change: TenancyChange): void;
  /** Everything dropped: the announcements may have been missed (a reconnect). */
  forgetAll(): void;
  /** Writes the keys used since the last call (`last_used_at`). */
  flushUsage(): Promise<void>;
}

interface Cached<T> {
  value: T;
  until: number;
  /** Set while it serves past its expiry because the source failed: when it expired. */
  staleSince?: number;
}

/** While the source fails, a stale answer is served without asking it again for this long. */
const STALE_RETRY_MS = 1000;

const ALL_SCOPES: ReadonlySet<ApiKeyScope> = new Set(API_KEY_SCOPES);

/**
 * API keys and tenant settings for the gateway's hot path: a bootstrap key
 * is a map lookup; a managed key is hashed and looked up in memory, and in
 * Postgres only the first time (concurrent first requests share one query).
 * A key that is not well formed is refused without a lookup. Writers
 * announce every change when it commits; the owner passes announcements to
 * `changed`, and `forgetAll` after a reconnect, so a revocation takes effect
 * as soon as it is heard, and within `ttlMs` if it never is. While the source
 * fails, an answer expired less than `staleIfErrorMs` ago still serves, so a
 * Postgres restart does not turn every request into a 503.
 */
export function createTenantDirectory(opts: DirectoryOptions): CachingTenantDirectory {
  const now = opts.now ?? Date.now;
  const ttl = opts.ttlMs ?? 60_000;
  const ttlMs = () => (typeof ttl === "number" ? ttl : ttl());
  const unknownTtlMs = opts.unknownTtlMs ?? 5_000;
  const staleIfErrorMs = opts.staleIfErrorMs ?? 60_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const bootstrap = new Map<string, Principal>(
    [...opts.bootstrap].map(([key, tenant]) => [key, { tenant, keyId: null, scopes: ALL_SCOPES, actor: `tenant:${tenant}` }]),
  );
  const keys = new Map<string, Cached<(StoredKey & { principal: Principal }) | null>>();
  const keyLoads = new Map<string, Promise<Principal | undefined>>();
  const tenants = new Map<string, Cached<TenantSettings>>();
  const tenantLoads = new Map<string, Promise<TenantSettings>>();
  let used = new Set<string>();
  // A change heard while a lookup was in flight: the lookup's answer may predate it and is not cached.
  let generation = 0;

  const remember = <T>(map: Map<string, Cached<T>>, key: string, value: T, forMs: number) => {
    map.delete(key);
    map.set(key, { value, until: now() + forMs });
    if (map.size > maxEntries) map.delete(map.keys().next().value as string);
  };

  /**
   * The source's answer, or, when it fails, the value of the entry for `key`
   * that may stand in: one expired no longer than `staleIfErrorMs` ago, kept
   * (and not asked for again) for STALE_RETRY_MS more. An announced change
   * deletes an entry, and one heard during the read (`started` passed) leaves
   * nothing to stand in: the failure is then thrown again.
   */
  const readOrStandIn = async <R, T>(
    map: Map<string, Cached<T>>,
    key: string,
    started: number,
    read: () => Promise<R>,
  ): Promise<{ fresh: R } | { stale: T }> => {
    try {
      return { fresh: await read() };
    } catch (err) {
      const stale = generation === started ? map.get(key) : undefined;
      const since = stale?.staleSince ?? stale?.until;
      if (stale === undefined || since === undefined || now() - since > staleIfErrorMs) throw err;
      if (stale.staleSince === undefined) opts.onError?.(err);
      map.set(key, { value: stale.value, until: now() + STALE_RETRY_MS, staleSince: since });
      return { stale: stale.value };
    }
  };

  const settingsOf = (tenant: string, stored: StoredTenant | undefined): TenantSettings => {
    const rateLimit = stored?.rateLimit ?? opts.defaults.rateLimit(tenant);
    return {
      rateLimit: rateLimit !== null && rateLimit.perSecond > 0 ? rateLimit : null,
      dailyCaps: { ...opts.defaults.dailyCaps, ...(stored?.dailyCaps ?? {}) },
      retentionDays: stored?.retentionDays ?? opts.defaults.retentionDays,
    };
  };

  const live = (entry: StoredKey & { principal: Principal }): Principal | undefined => {
    if (entry.revokedAt !== null) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt.getTime() <= now()) return undefined;
    used.add(entry.id);
    return entry.principal;
  };

  const loadKey = async (source: TenancySource, hash: string): Promise<Principal | undefined> => {
    const started = generation;
    const read = await readOrStandIn(keys, hash, started, () => source.keyByHash(hash));
    if ("stale" in read) return read.stale === null ? undefined : live(read.stale);
    const row = read.fresh;
    const entry =
      row === undefined ? null : { ...row, principal: { tenant: row.tenantId, keyId: row.id, scopes: new Set(row.scopes), actor: `key:${row.id}` } };
    if (generation === started) remember(keys, hash, entry, entry === null ? Math.min(unknownTtlMs, ttlMs()) : ttlMs());
    return entry === null ? undefined : live(entry);
  };

  const byHash = (hash: string): Principal | undefined | Promise<Principal | undefined> => {
    const cached = keys.get(hash);
    if (cached !== undefined && cached.until > now()) return cached.value === null ? undefined : live(cached.value);
    const source = opts.source;
    if (source === undefined) return undefined;
    let load = keyLoads.get(hash);
    if (load === undefined) {
      load = loadKey(source, hash).finally(() => keyLoads.delete(hash));
      keyLoads.set(hash, load);
    }
    return load;
  };

  const loadTenant = async (source: TenancySource, tenant: string): Promise<TenantSettings> => {
    const started = generation;
    const read = await readOrStandIn(tenants, tenant, started, () => source.tenant(tenant));
    if ("stale" in read) return read.stale;
    const settings = settingsOf(tenant, read.fresh);
    if (generation === started) remember(tenants, tenant, settings, ttlMs());
    return settings;
  };

  return {
    authenticate(key) {
      const boot = bootstrap.get(key);
      if (boot !== undefined) return boot;
      if (opts.source === undefined || !isWellFormedApiKey(key)) return undefined;
      const hash = opts.sha256(key);
      return typeof hash === "string" ? byHash(hash) : hash.then(byHash);
    },
    settings(tenant) {
      const cached = tenants.get(tenant);
      if (cached !== undefined && cached.until > now()) return cached.value;
      const source = opts.source;
      if (source === undefined) {
        const settings = settingsOf(tenant, undefined);
        remember(tenants, tenant, settings, Number.POSITIVE_INFINITY);
        return settings;
      }
      let load = tenantLoads.get(tenant);
      if (load === undefined) {
        load = loadTenant(source, tenant).finally(() => tenantLoads.delete(tenant));
        tenantLoads.set(tenant, load);
      }
      return load;
    },
    peek(tenant) {
      const cached = tenants.get(tenant);
      return cached !== undefined && cached.until > now() ? cached.value : undefined;
    },
    changed(change) {
      generation++;
      if (change.kind === "key") keys.delete(change.hash);
      else tenants.delete(change.id);
    },
    forgetAll() {
      generation++;
      keys.clear();
      tenants.clear();
    },
    async flushUsage() {
      if (used.size === 0 || opts.source === undefined) return;
      const ids = [...used];
      used = new Set();
      try {
        await opts.source.touch(ids);
      } catch (err) {
        opts.onError?.(err);
      }
    },
  };
}
