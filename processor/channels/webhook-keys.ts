import type { SigningSecrets } from "../../lib/db/webhook-secrets.ts";
import { RetryableError } from "./errors.ts";
import { webhookKey } from "./webhook-signature.ts";

/** How long a tenant's keys are used before they are read again: a rotation or revocation reaches every processor within it. */
export const TENANT_KEYS_TTL_MS = 5_000;

/** Each tenant's webhook signing keys, as the webhook sender asks for them. */
export interface TenantSigningKeys {
  /** Reads the keys of the tenants not cached (or cached too long) in one query; never rejects. */
  prepare(tenants: readonly string[]): Promise<void>;
  /**
   * The tenant's own keys valid now, current first; empty when it has none
   * (its webhooks are signed with the deployment's secret). Synchronous when
   * cached; rejects with a RetryableError when they cannot be read (Postgres,
   * HERALD_TOKEN_SECRET).
   */
  keysOf(tenant: string): readonly Buffer[] | Promise<readonly Buffer[]>;
}

export interface TenantSigningKeysOptions {
  /** The live secrets of these tenants (lib/db/webhook-secrets.ts `signingSecretsOf`); a tenant left out has none. */
  load(tenants: readonly string[]): Promise<Map<string, SigningSecrets>>;
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  loadedAt: number;
  keys: Array<{ key: Buffer; expiresAtMs: number | null }>;
  unreadable: number;
  /** The keys valid until `validUntil` (the earliest grace to end), kept so a send allocates nothing. */
  valid: readonly Buffer[];
  validUntil: number;
}

const NONE: readonly Buffer[] = [];

/**
 * Keys cached per tenant for `ttlMs`, so in steady state a send asks
 * Postgres nothing. Loads are shared: tenants asked for while a load of them
 * is under way wait for it instead of querying again. A secret whose grace
 * ends while cached stops signing at its expiry, not at the next load.
 */
export function cachedSigningKeys(opts: TenantSigningKeysOptions): TenantSigningKeys {
  const ttlMs = opts.ttlMs ?? TENANT_KEYS_TTL_MS;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<void>>();

  const fresh = (entry: Entry | undefined, at: number): entry is Entry => entry !== undefined && at - entry.loadedAt < ttlMs;

  /** One query for the tenants neither fresh nor being loaded; resolves when every asked tenant's load is done. */
  const load = (tenants: readonly string[]): Promise<void> => {
    const at = now();
    const missing = [...new Set(tenants)].filter((t) => !fresh(entries.get(t), at) && !loading.has(t));
    if (missing.length > 0) {
      const done = opts.load(missing).then((found) => {
        for (const tenant of missing) entries.set(tenant, toEntry(found.get(tenant), at));
      });
      const settled = done.finally(() => {
        for (const tenant of missing) loading.delete(tenant);
      });
      for (const tenant of missing) loading.set(tenant, settled);
    }
    return Promise.all(tenants.flatMap((t) => loading.get(t) ?? [])).then(() => undefined);
  };

  /** The keys of a fresh entry at `at`; the entry's list is recomputed when a grace ended since. */
  const validAt = (tenant: string, entry: Entry, at: number): readonly Buffer[] => {
    if (at < entry.validUntil) return entry.valid;
    const left = entry.keys.filter((k) => k.expiresAtMs === null || k.expiresAtMs > at);
    // Kept only when there is something to sign with (or the tenant has no secrets): a refusal must hold for every send.
    if (left.length > 0 || (entry.keys.length === 0 && entry.unreadable === 0)) {
      entry.valid = left.map((k) => k.key);
      entry.validUntil = earliest(left);
      return entry.valid;
    }
    if (entry.unreadable > 0) {
      throw new RetryableError("the tenant's webhook signing secrets do not open: HERALD_TOKEN_SECRET is unset on the processor or differs from the gateway's");
    }
    // Every key read ended while cached (a rotation since): read them again on the next attempt.
    entries.delete(tenant);
    throw new RetryableError("the tenant's webhook signing secrets changed while cached");
  };

  const afterLoad = async (tenant: string): Promise<readonly Buffer[]> => {
    try {
      await load([tenant]);
    } catch (err) {
      throw new RetryableError(`could not read the tenant's webhook signing secrets: ${err instanceof Error ? err.message : String(err)}`, undefined, {
        cause: err,
      });
    }
    const entry = entries.get(tenant);
    return entry === undefined ? NONE : validAt(tenant, entry, now());
  };

  return {
    prepare: (tenants) => load(tenants).catch(() => undefined),
    keysOf(tenant) {
      const entry = entries.get(tenant);
      const at = now();
      if (!fresh(entry, at)) return afterLoad(tenant);
      try {
        return validAt(tenant, entry, at);
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

/** When the first of these keys stops signing; Infinity when none has an end. */
function earliest(keys: Entry["keys"]): number {
  let at = Number.POSITIVE_INFINITY;
  for (const k of keys) if (k.expiresAtMs !== null && k.expiresAtMs < at) at = k.expiresAtMs;
  return at;
}

function toEntry(found: SigningSecrets | undefined, loadedAt: number): Entry {
  const keys = (found?.secrets ?? []).map((s) => ({ key: webhookKey(s.secret), expiresAtMs: s.expiresAt === null ? null : s.expiresAt.getTime() }));
  // validUntil 0: the first send works out the valid keys (and refuses unreadable ones).
  return { loadedAt, keys, unreadable: found?.unreadable ?? 0, valid: NONE, validUntil: 0 };
}
