import type { ApiKeyScope, Channel } from "./enums.ts";
import type { TenantRateLimit } from "./tables.ts";

/** Who a request's API key speaks for, and what it may do. */
export interface Principal {
  tenant: string;
  /** The managed key's id; null for a bootstrap key (HERALD_API_KEYS). */
  keyId: string | null;
  scopes: ReadonlySet<ApiKeyScope>;
  /** How the audit log names it: `key:<id>` or `tenant:<id>` for a bootstrap key. */
  actor: string;
}

/** A tenant's stored settings with the configured defaults filled in where it has none. */
export interface TenantSettings {
  /** Null: not limited. */
  rateLimit: TenantRateLimit | null;
  /** Notifications accepted per UTC day and channel; a channel not named: no cap. */
  dailyCaps: Partial<Record<Channel, number>>;
  retentionDays: number;
}

/**
 * API keys and tenant settings as a gateway sees them: cached in memory,
 * dropped when a writer (lib/db/api-keys.ts, lib/db/tenants.ts) announces a
 * change, so a revoked key stops working on every gateway within seconds.
 */
export interface TenantDirectory {
  /** The principal of a key; undefined: unknown, revoked or expired (401). */
  authenticate(key: string): Principal | undefined | Promise<Principal | undefined>;
  /** The tenant's settings, defaults included. */
  settings(tenant: string): TenantSettings | Promise<TenantSettings>;
  /** The settings if already loaded, for synchronous callers (the rate limiter); undefined: not loaded. */
  peek(tenant: string): TenantSettings | undefined;
}
