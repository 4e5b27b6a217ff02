import { RedisClient } from "bun";

/** Upstash's REST endpoint over a real Redis (`/`, `/pipeline`, `/multi-exec`, base64 replies), so the adapter is tested on its real protocol. */
export interface UpstashCompatibleServer {
  url: string;
  stop(): Promise<void>;
}

type Reply = { result: unknown } | { error: string };

/** Commands that would change the state of the shared connection for every other request. */
const CONNECTION_COMMANDS = new Set(["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SELECT", "SUBSCRIBE", "PSUBSCRIBE", "QUIT", "RESET", "HELLO", "MONITOR"]);

/** Reshapes Bun's RESP3 values into the RESP2 shapes Upstash answers with. */
function toWire(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return base64 ? Buffer.from(value).toString("base64") : value;
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Uint8Array) return base64 ? Buffer.from(value).toString("base64") : Buffer.from(value).toString();
  if (Array.isArray(value)) return value.map((v) => toWire(v, base64));
  if (typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [toWire(k, base64), toWire(v, base64)]);
  return toWire(String(value), base64);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Validates one JSON command: a non-empty array of strings, numbers or booleans. */
function parseCommand(raw: unknown): [string, string[]] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error("ERR command must be a non-empty array");
  const parts = raw.map((part: unknown) => {
    if (typeof part === "string" || typeof part === "number" || typeof part === "boolean") return String(part);
    throw new Error("ERR command arguments must be strings or numbers");
  });
  const [name = "", ...args] = parts;
  return [name.toUpperCase(), args];
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startUpstashCompatibleServer(opts: { redisUrl: string; token: string }): Promise<UpstashCompatibleServer> {
  const shared = new RedisClient(opts.redisUrl);
  // MULTI/EXEC needs a connection of its own, used by one transaction at a time.
  const tx = new RedisClient(opts.redisUrl);
  let txQueue: Promise<unknown> = Promise.resolve();
  await Promise.all([shared.connect(), tx.connect()]);

  async function single(raw: unknown, base64: boolean): Promise<Reply> {
    try {
      const [name, args] = parseCommand(raw);
      if (CONNECTION_COMMANDS.has(name)) throw new Error(`ERR ${name} is not supported by this server`);
      return { result: toWire(await shared.send(name, args), base64) };
    } catch (err) {
      return { error: errorMessage(err) };
    }
  }

  async function transaction(raws: unknown[], base64: boolean): Promise<Reply[] | Reply> {
    const commands = raws.map(parseCommand);
    await tx.send("MULTI", []);
    try {
      // Issued without awaiting in between, so Bun pipelines them; a queueing error aborts the EXEC anyway.
      await Promise.all(commands.map(([name, args]) => tx.send(name, args)));
    } catch (err) {
      await tx.send("DISCARD", []);
      return { error: errorMessage(err) };
    }
    const results = (await tx.send("EXEC", [])) as unknown[];
    return results.map((r): Reply => (r instanceof Error ? { error: r.message } : { result: toWire(r, base64) }));
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.headers.get("authorization") !== `Bearer ${opts.token}`) {
        return Response.json({ error: "Unauthorized" }, { status: 401 });
      }
      if (req.method !== "POST") return Response.json({ error: "ERR only POST is supported" }, { status: 405 });
      const base64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
      let body: unknown;
      try {
        body = await req.json();
      } catch {
        return Response.json({ error: "ERR body is not JSON" }, { status: 400 });
      }
      const path = new URL(req.url).pathname.replace(/\/+$/, "");
      if (path === "") {
        const reply = await single(body, base64);
        return Response.json(reply, { status: "error" in reply ? 400 : 200 });
      }
      if (path !== "/pipeline" && path !== "/multi-exec") return Response.json({ error: "ERR unknown path" }, { status: 404 });
      if (!Array.isArray(body)) return Response.json({ error: "ERR body must be an array of commands" }, { status: 400 });
      const commands: unknown[] = body;
      if (path === "/pipeline") {
        // Issued together on one connection, so Redis runs them in order in one round trip.
        return Response.json(await Promise.all(commands.map((c) => single(c, base64))));
      }
      try {
        const run = txQueue.then(() => transaction(commands, base64));
        txQueue = run.catch(() => undefined);
        const reply = await run;
        return Response.json(reply, { status: Array.isArray(reply) ? 200 : 400 });
      } catch (err) {
        return Response.json({ error: errorMessage(err) }, { status: 400 });
      }
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    async stop() {
      await server.stop(true);
      shared.close();
      tx.close();
    },
  };
}
