import type { Hono } from "hono";
import { peerAddress } from "../../audit-context.ts";
import type { BaseEnv } from "../../context.ts";

/** Where the gateway listens; the CLI passes HERALD_PORT and HERALD_HOST. */
export interface ServeOptions {
  port: number;
  hostname: string;
}

/** SHA-256 in native code on the calling thread, without `crypto.subtle`'s worker-thread hop. */
export function bunSha256Hex(bytes: Uint8Array<ArrayBuffer>): string {
  return Bun.SHA256.hash(bytes, "hex");
}

/** `GatewayDeps.clientAddress` for Bun, which knows a request's peer only through the server serving it. */
export interface BunClientAddress {
  clientAddress(req: Request): string | undefined;
  /** The server `serveGateway` started; until then no address is known. */
  bind(server: Bun.Server<undefined>): void;
}

/**
 * The TCP peer of each request (`server.requestIP`), for the audit log.
 * Never `X-Forwarded-For`, which any client can write: behind a proxy the
 * audit log names the proxy.
 */
export function bunClientAddress(): BunClientAddress {
  let server: Bun.Server<undefined> | undefined;
  return {
    clientAddress: (req) => peerAddress(server?.requestIP(req)?.address),
    bind(s) {
      server = s;
    },
  };
}

/** The path of the inbox's Server-Sent Events: a stream that must outlive the idle timeout between heartbeats. */
const STREAM_PATH = "/v1/inbox/stream";

/**
 * The Bun entry: serves the runtime-neutral app. The only file in gateway/
 * allowed to touch `Bun.*`; a Deno or Node entry would be just as small.
 * Bun's idle timeout (10 s) stays for every request but the inbox stream,
 * which sends a heartbeat every 15 s: a request that stalls still gets cut.
 */
export function serveGateway(app: Hono<BaseEnv>, opts: ServeOptions): Bun.Server<undefined> {
  return Bun.serve({
    port: opts.port,
    hostname: opts.hostname,
    fetch(req, server) {
      if (req.url.includes(STREAM_PATH)) server.timeout(req, 0);
      return app.fetch(req, server);
    },
  });
}
