import { Redis } from "@upstash/redis";
import {
  acceptedKey,
  bucketArgs,
  bucketKey,
  DAILY_GIVE_BACK_LUA,
  DAILY_TAKE_LUA,
  dailyKey,
  dailyTakeArgs,
  decodeAdmission,
  decodeDailyTake,
  decodeView,
  encodeCompleted,
  encodeView,
  idempotencyKey,
  PENDING_PREFIX,
  RELEASE_IF_PENDING_LUA,
  runClaim,
  TOKEN_BUCKET_LUA,
} from "./codec.ts";
import type { GatewayStore } from "./types.ts";

export interface UpstashStoreOptions {
  /** The database's REST URL (`UPSTASH_REDIS_REST_URL`). */
  url: string;
  /** The REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  token: string;
  /** Prepended to every key, e.g. `herald:`. */
  prefix: string;
}

/**
 * The store on Upstash Redis over its REST API: `fetch` only, so the gateway
 * can dedupe from edge runtimes that cannot open TCP sockets. Records are the
 * same strings the Redis adapter writes, so both can share one database.
 */
export function createUpstashStore(opts: UpstashStoreOptions): GatewayStore {
  const redis = new Redis({
    url: opts.url,
    token: opts.token,
    // The client would otherwise JSON.parse every reply; the codec owns the encoding.
    automaticDeserialization: false,
  });
  const { prefix } = opts;

  return {
    kind: "upstash",

    claim(tenant, key, bodyHash, pendingTtlMs) {
      const k = idempotencyKey(prefix, tenant, key);
      return runClaim(
        {
          setIfAbsent: async (value) => (await redis.set(k, value, { nx: true, px: pendingTtlMs })) !== null,
          get: () => redis.get<string>(k),
        },
        bodyHash,
      );
    },

    async complete(tenant, key, bodyHash, response, ttlMs) {
      await redis.set(idempotencyKey(prefix, tenant, key), encodeCompleted(bodyHash, response), { px: ttlMs });
    },

    async release(tenant, key) {
      // Atomic check-and-delete: a completed record must never be released.
      await redis.eval(RELEASE_IF_PENDING_LUA, [idempotencyKey(prefix, tenant, key)], [PENDING_PREFIX]);
    },

    async remember(tenant, views, ttlMs) {
      // An empty pipeline throws in @upstash/redis; one HTTP request carries all the SETs otherwise.
      if (views.length === 0) return;
      const pipeline = redis.pipeline();
      for (const view of views) pipeline.set(acceptedKey(prefix, tenant, view.id), encodeView(view), { px: ttlMs });
      await pipeline.exec();
    },

    async recall(tenant, id) {
      return decodeView(await redis.get<string>(acceptedKey(prefix, tenant, id)));
    },

    async takeTokens(tenant, perSecond, burst, cost) {
      return decodeAdmission(await redis.eval(TOKEN_BUCKET_LUA, [bucketKey(prefix, tenant)], bucketArgs(perSecond, burst, cost)));
    },

    async takeDaily(counter, wanted, cap, seed) {
      return decodeDailyTake(await redis.eval(DAILY_TAKE_LUA, [dailyKey(prefix, counter)], dailyTakeArgs(counter, wanted, cap, seed)));
    },

    async giveBackDaily(counter, n) {
      await redis.eval(DAILY_GIVE_BACK_LUA, [dailyKey(prefix, counter)], [String(n)]);
    },

    async ping() {
      await redis.ping();
    },

    // Stateless HTTP: nothing to close.
    async close() {},
  };
}
