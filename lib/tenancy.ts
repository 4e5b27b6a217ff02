import type { Logger } from "pino";
import type { Database } from "../schemas/database.ts";
import type { TenantRateLimit } from "../schemas/tables.ts";
import type { Channel } from "../schemas/enums.ts";
import { findApiKeyByHash, hashApiKey, touchApiKeys } from "./db/api-keys.ts";
import type { Listen } from "./db/pool.ts";
import { parseTenancyChange, TENANCY_CHANNEL } from "./db/tenancy-changes.ts";
import { readTenant } from "./db/tenants.ts";
import { createTenantDirectory, type CachingTenantDirectory } from "./tenant-directory.ts";

export interface TenancyOptions {
  db: Database;
  listen: Listen;
  /** HERALD_API_KEYS. */
  bootstrap: ReadonlyMap<string, string>;
  /** The configured limit of a tenant without a stored one; null: not limited. */
  rateLimit(tenant: string): TenantRateLimit | null;
  dailyCaps: Partial<Record<Channel, number>>;
  retentionDays: number;
  /** A synchronous SHA-256 where the runtime has one (Bun); default Web Crypto's. */
  sha256?: (text: string) => string | Promise<string>;
  logger?: Logger;
  /** How often last-used times are written; default 10 s. */
  touchEveryMs?: number;
}

/**
 * A gateway's tenant directory over Postgres: managed keys and stored
 * settings, cached, with every change the writers announce (LISTEN on
 * herald_tenancy) dropped from the cache as it commits. Resolves once
 * listening (or after 5 s of trying: it keeps trying, and trusts the cache
 * only 3 s meanwhile, so a revocation still takes effect within 5 s).
 */
export async function openTenantDirectory(opts: TenancyOptions): Promise<{ directory: CachingTenantDirectory; close(): Promise<void> }> {
  const { db, logger } = opts;
  // Listening, a cached answer is trusted a minute (announcements drop it sooner); not listening, a few seconds.
  let listening = false;
  const directory = createTenantDirectory({
    bootstrap: opts.bootstrap,
    source: {
      keyByHash: (hash) => findApiKeyByHash(db, hash),
      tenant: (id) => readTenant(db, id),
      touch: (ids) => touchApiKeys(db, ids),
    },
    defaults: { rateLimit: opts.rateLimit, dailyCaps: opts.dailyCaps, retentionDays: opts.retentionDays },
    sha256: opts.sha256 ?? hashApiKey,
    ttlMs: () => (listening ? LISTENING_TTL_MS : DEAF_TTL_MS),
    onError: (err) => logger?.warn({ err }, "the tenant directory could not reach Postgres"),
  });
  let connects = 0;
  let closed = false;
  let unlisten: (() => Promise<void>) | undefined;
  const onPayload = (payload: string) => {
    const change = parseTenancyChange(payload);
    if (change !== null) directory.changed(change);
  };
  const onConnect = () => {
    // Announcements made while the connection was down are lost: start again from Postgres.
    if (connects++ > 0) logger?.info("listening for key and tenant changes again: cached keys and settings dropped");
    listening = true;
    directory.forgetAll();
  };
  const startListening = async (): Promise<void> => {
    try {
      unlisten = await opts.listen(TENANCY_CHANNEL, onPayload, onConnect);
    } catch (err) {
      if (closed) return;
      logger?.warn({ err }, `could not LISTEN for key and tenant changes; cached keys are trusted ${DEAF_TTL_MS / 1000} s until it can`);
      retry = setTimeout(() => void startListening(), LISTEN_RETRY_MS);
    }
  };
  let retry: ReturnType<typeof setTimeout> | undefined;
  // A gateway starts even while Postgres does not answer; until it listens, revocations take effect within DEAF_TTL_MS.
  await Promise.race([startListening(), new Promise((resolve) => setTimeout(resolve, LISTEN_START_WAIT_MS))]);
  const timer = setInterval(() => void directory.flushUsage(), opts.touchEveryMs ?? 10_000);
  (timer as { unref?: () => void }).unref?.();
  return {
    directory,
    async close() {
      closed = true;
      clearInterval(timer);
      if (retry !== undefined) clearTimeout(retry);
      await directory.flushUsage();
      // The listening connection may be gone (Postgres restarted): nothing is left to stop then.
      await unlisten?.().catch(() => {});
    },
  };
}

const LISTENING_TTL_MS = 60_000;
const DEAF_TTL_MS = 3_000;
const LISTEN_RETRY_MS = 5_000;
const LISTEN_START_WAIT_MS = 5_000;
