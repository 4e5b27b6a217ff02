import { Redis } from "ioredis";
import { redisCommandStore } from "../../store/codec.ts";
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
    ...redisCommandStore(prefix, send),

    async close() {
      closed = true;
      client.disconnect();
    },
  };
}
