import { createMemoryStore } from "../gateway/store/memory.ts";
import { createRedisStore } from "../gateway/runtime/bun/redis-store.ts";
import { createUpstashStore } from "../gateway/store/upstash.ts";
import type { GatewayStore } from "../gateway/store/types.ts";

export interface StoreConfig {
  redisUrl?: string;
  upstashUrl?: string;
  upstashToken?: string;
  /** Key prefix, e.g. `herald:` (the namespace plus a colon). */
  prefix: string;
}

/**
 * Picks the store from config: Upstash when both its URL and token are set
 * (edge deployments), else Redis when a URL is set, else in-memory — which
 * dedupes only within one gateway instance.
 */
export function createStore(cfg: StoreConfig): GatewayStore {
  if (cfg.upstashUrl && cfg.upstashToken) {
    return createUpstashStore({ url: cfg.upstashUrl, token: cfg.upstashToken, prefix: cfg.prefix });
  }
  if (cfg.upstashUrl || cfg.upstashToken) {
    // Half a config is a typo, not a request for the fallback: fail at startup, not at the first duplicate.
    throw new Error("store: set both upstashUrl and upstashToken, or neither");
  }
  if (cfg.redisUrl) return createRedisStore({ url: cfg.redisUrl, prefix: cfg.prefix });
  return createMemoryStore();
}
