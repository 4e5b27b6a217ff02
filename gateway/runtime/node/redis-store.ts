import { Redis } from "ioredis";
import { acceptedKey, decodeView, encodeCompleted, encodeView, idempotencyKey, PENDING_PREFIX, RELEASE_IF_PENDING_LUA, runClaim } from "../../store/codec.ts";
import type { GatewayStore } from "../../store/types.ts";

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prepended to every key, e.g. `herald:`; lets deployments and test runs share one server. */
  prefix: string;
}

/** Pause before each reconnect attempt while Redis is down, doubling from 100 ms up to 1 s. */
const reconnectDelayMs = (attempt: number) => Math.min(100 * 2 ** (attempt - 1), 1_000);

/**
 * The store on Redis over TCP through ioredis, for Node and Deno (through
 * its Node compatibility). Like the Bun store it never queues a command
 * while Redis is away: the command fails at once (the request gets a 503)
 * and ioredis reconnects in the background. Commands issued in one
 * event-loop turn go out as one pipeline.
 */
export function createIoRedisStore(opts: RedisStoreOptions): GatewayStore {
  const client = new Redis(opts.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: reconnectDelayMs,
  });
  // Without a listener ioredis reports a lost connection as an uncaught error; readiness and the 503s say it instead.
  client.on("error", () => {});
  const { prefix } = opts;
  let closed = false;
  /** The first connection, awaited by the commands issued before it is up; afterwards commands never wait. */
  let first: Promise<void> | null = client.connect().finally(() => {
    first = null;
  });
  first.catch(() => {});

  async function send(command: string, args: string[]): Promise<unknown> {
    if (closed) throw new Error("redis store is closed");
    if (client.status !== "ready") {
      if (first === null) throw new Error("redis store is disconnected: reconnecting in the background");
      await first;
    }
    return client.call(command, ...args);
  }

  return {
    kind: "redis",

    claim(tenant, key, bodyHash, pendingTtlMs) {
      const k = idempotencyKey(prefix, tenant, key);
      return runClaim(
        {
          setIfAbsent: async (value) => (await send("SET", [k, value, "NX", "PX", String(pendingTtlMs)])) !== null,
          get: async () => (await send("GET", [k])) as string | null,
        },
        bodyHash,
      );
    },

    async complete(tenant, key, bodyHash, response, ttlMs) {
      await send("SET", [idempotencyKey(prefix, tenant, key), encodeCompleted(bodyHash, response), "PX", String(ttlMs)]);
    },

    async release(tenant, key) {
      // Atomic check-and-delete: a GET then DEL could delete a record completed in between.
      await send("EVAL", [RELEASE_IF_PENDING_LUA, "1", idempotencyKey(prefix, tenant, key), PENDING_PREFIX]);
    },

    async remember(tenant, views, ttlMs) {
      const px = String(ttlMs);
      await Promise.all(views.map((view) => send("SET", [acceptedKey(prefix, tenant, view.id), encodeView(view), "PX", px])));
    },

    async recall(tenant, id) {
      return decodeView((await send("GET", [acceptedKey(prefix, tenant, id)])) as string | null);
    },

    async ping() {
      await send("PING", []);
    },

    async close() {
      closed = true;
      client.disconnect();
    },
  };
}
