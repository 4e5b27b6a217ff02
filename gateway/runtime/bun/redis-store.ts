import type { RedisClient } from "bun";
import { redisCommandStore } from "../../store/codec.ts";
import type { GatewayStore } from "../../store/types.ts";

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prepended to every key, e.g. `herald:`; lets deployments and test runs share one server. */
  prefix: string;
}

/**
 * Bun's own reconnect queues commands while it retries, so during an outage
 * every request waited out the retries, even one that did not need the store.
 * The store reconnects by itself instead: straight away when a connection
 * drops, then in the background while Redis stays gone (`markDown`), failing
 * commands at once meanwhile.
 */
const CLIENT_OPTIONS = { connectionTimeout: 2_000, autoReconnect: false } as const;

/** Pause before each reconnect attempt while Redis is down, doubling from `first` up to `max`. */
const RECONNECT_DELAY_MS = { first: 100, max: 1_000 } as const;

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
  let closed = false;
  /** The connection was lost and not yet regained: commands fail at once instead of waiting. */
  let down = false;
  let connecting: Promise<void> | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryDelayMs: number = RECONNECT_DELAY_MS.first;

  /** One connect at a time, shared by whoever asks while it runs. */
  function connect(): Promise<void> {
    connecting ??= client
      .connect()
      .then(
        () => {
          down = false;
          retryDelayMs = RECONNECT_DELAY_MS.first;
        },
        (err: unknown) => {
          markDown();
          throw err;
        },
      )
      .finally(() => {
        connecting = null;
      });
    return connecting;
  }

  /**
   * Marks Redis gone and schedules the next reconnect attempt in the
   * background, so a restarted Redis is used again without a gateway restart
   * and without any request waiting for it. One timer at a time.
   */
  function markDown(): void {
    if (closed) return;
    down = true;
    if (retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (closed || client.connected) return;
      retryDelayMs = Math.min(retryDelayMs * 2, RECONNECT_DELAY_MS.max);
      // A failed attempt has called markDown, which scheduled the next one: nothing is left to handle.
      connect().catch(() => {});
    }, retryDelayMs);
    retry.unref?.();
  }

  client.onclose = () => {
    // A failed connect reports here too; its own promise handles that.
    if (closed || down || connecting !== null) return;
    // A connection that was up: reopen it at once, so a server closing idle clients costs no request a 503.
    connect().catch(() => {});
  };
  client.onconnect = () => {
    down = false;
  };

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
    if (down) throw new Error("redis store is disconnected: reconnecting in the background");
    // The first command, or one racing a close Bun has not reported yet.
    if (!client.connected) await connect();
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
    ...redisCommandStore(prefix, send),

    async close() {
      closed = true;
      clearTimeout(retry);
      client.close();
    },
  };
}
