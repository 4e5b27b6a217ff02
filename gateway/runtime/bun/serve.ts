import type { Hono } from "hono";
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

/** Seconds a connection may send nothing: past Bun's default of 10, so an inbox stream's heartbeat (every 15) keeps it open. */
const IDLE_TIMEOUT_S = 30;

/**
 * The Bun entry: serves the runtime-neutral app. The only file in gateway/
 * allowed to touch `Bun.*`; a Deno or Node entry would be just as small.
 */
export function serveGateway(app: Hono<BaseEnv>, opts: ServeOptions): Bun.Server<undefined> {
  return Bun.serve({ port: opts.port, hostname: opts.hostname, idleTimeout: IDLE_TIMEOUT_S, fetch: app.fetch });
}
