import type { RedisClient } from "bun";
import {
  acceptedKey,
  decodeView,
  encodeCompleted,
  encodeView,
  idempotencyKey,
  PENDING_PREFIX,
  RELEASE_IF_PENDING_LUA,
  runClaim,
} from "./codec.ts";
import type { GatewayStore } from "./types.ts";

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prepended to every key, e.g. `herald:`; lets deployments and test runs share one server. */
  prefix: string;
}

/**
 * Bun retries a lost connection with growing backoff and queues commands
 * meanwhile; its default of 20 retries holds a request ~30 s during an outage.
 * Five retries fail it within about two seconds, so the gateway answers 503
 * and /health/ready turns red instead of hanging.
 */
const CLIENT_OPTIONS = { connectionTimeout: 2_000, maxRetries: 5 } as const;

interface QueuedCommand {
  command: string;
  args: string[];
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/**
 * The store on Redis over TCP, through Bun's built-in client. Bun-only: the
 * client is looked up on the `Bun` global when the store is created (not at
 * import), so a bundle for another runtime can still import `store/index.ts`.
 * Commands issued in one event-loop turn go to Redis in one write (see `send`).
 */
export function createRedisStore(opts: RedisStoreOptions): GatewayStore {
  const client: RedisClient = new Bun.RedisClient(opts.url, CLIENT_OPTIONS);
  const { prefix } = opts;
  let reviving: Promise<void> | null = null;
  let closed = false;

  /**
   * Once Bun has used up its retries the client stays closed for good
   * ("Connection has failed") until `connect()` is called, so a Redis restart
   * would otherwise need a gateway restart. One shared attempt per outage.
   */
  function revive(): Promise<void> {
    reviving ??= client.connect().finally(() => {
      reviving = null;
    });
    return reviving;
  }

  /**
   * Bun pipelines the commands issued within one callback into one write, but
   * the gateway issues each request's commands from that request's own
   * callback, so every command went out in a write(2) of its own (strace of a
   * saturated gateway: as many sends to Redis as HTTP responses). Commands
   * wait here until the end of the event-loop turn and are handed to the
   * client together: one write for every request the turn handled.
   */
  let queue: QueuedCommand[] = [];
  let flushScheduled = false;

  function flush(): void {
    flushScheduled = false;
    const batch = queue;
    queue = [];
    for (const entry of batch) {
      if (closed) {
        entry.reject(new Error("redis store is closed"));
        continue;
      }
      try {
        void client.send(entry.command, entry.args).then(entry.resolve, entry.reject);
      } catch (err) {
        entry.reject(err);
      }
    }
  }

  async function send(command: string, args: string[]): Promise<unknown> {
    // After close() a command must fail, not quietly open a new connection.
    if (closed) throw new Error("redis store is closed");
    if (!client.connected) await revive();
    return new Promise((resolve, reject) => {
      queue.push({ command, args, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
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
      // MSET cannot carry a TTL; issuing every SET before awaiting any lets Bun send them as one pipeline.
      const px = String(ttlMs);
      await Promise.all(
        views.map((view) => send("SET", [acceptedKey(prefix, tenant, view.id), encodeView(view), "PX", px])),
      );
    },

    async recall(tenant, id) {
      return decodeView((await send("GET", [acceptedKey(prefix, tenant, id)])) as string | null);
    },

    async ping() {
      await send("PING", []);
    },

    async close() {
      closed = true;
      client.close();
    },
  };
}
