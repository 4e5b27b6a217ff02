import { createMemoryStore } from "../../gateway/store/memory.ts";
import { createRedisStore } from "../../gateway/runtime/bun/redis-store.ts";
import { createIoRedisStore } from "../../gateway/runtime/node/redis-store.ts";
import type { GatewayStore } from "../../gateway/store/types.ts";
import { createUpstashStore } from "../../gateway/store/upstash.ts";
import { deleteRedisPrefix, SERVICES } from "./services.ts";
import { startUpstashCompatibleServer } from "./upstash-rest.ts";

/** One store ready for a test, and how to undo it. */
export interface TestStore {
  store: GatewayStore;
  /** Closes the store (and the REST server behind Upstash) and deletes every key under the prefix. */
  cleanup(): Promise<void>;
}

export interface StoreAdapter {
  /** Which adapter, as test names show it. */
  name: string;
  kind: GatewayStore["kind"];
  /** Creates the adapter on the real Redis, keys under `${prefix}${name}:` so adapters sharing the server and prefix stay apart. */
  create(prefix: string): Promise<TestStore>;
}

/** A store over Redis's own protocol on the real Redis, under a prefix of its own. */
function redisAdapter(name: string, suffix: string, create: (opts: { url: string; prefix: string }) => GatewayStore): StoreAdapter {
  return {
    name,
    kind: "redis",
    async create(base) {
      const prefix = `${base}${suffix}`;
      const store = create({ url: SERVICES.redis, prefix });
      // Fail in the hook with a clear error, not in the first test, when Redis is down.
      await store.ping();
      return {
        store,
        async cleanup() {
          await store.close();
          await deleteRedisPrefix(prefix);
        },
      };
    },
  };
}

/** Every store adapter for `describe.each`, each on the real Redis (Upstash through a REST server speaking its protocol). */
export const STORE_ADAPTERS: StoreAdapter[] = [
  redisAdapter("redis (Bun)", "redis:", createRedisStore),
  redisAdapter("redis (ioredis, Node and Deno)", "ioredis:", createIoRedisStore),
  {
    name: "upstash",
    kind: "upstash",
    async create(base) {
      const prefix = `${base}upstash:`;
      const token = `test-${crypto.randomUUID()}`;
      const server = await startUpstashCompatibleServer({ redisUrl: SERVICES.redis, token });
      const store = createUpstashStore({ url: server.url, token, prefix });
      try {
        await store.ping();
      } catch (err) {
        await server.stop();
        throw err;
      }
      return {
        store,
        async cleanup() {
          await store.close();
          await server.stop();
          await deleteRedisPrefix(prefix);
        },
      };
    },
  },
  {
    name: "memory",
    kind: "memory",
    async create() {
      const store = createMemoryStore();
      return { store, cleanup: () => store.close() };
    },
  },
];
