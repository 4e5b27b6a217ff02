// The workerd (Cloudflare Workers) entry: a module Worker that hands every
// request to a Durable Object owning the gateway, built by
// `npm run build:workerd`; deploy/workerd/ holds its configuration.
import { DurableObject, type DurableObjectNamespace } from "cloudflare:workers";
import { ConfigError } from "../../../schemas/config.ts";
import { assembleGateway, type AssembledGateway, type Platform } from "../assemble.ts";

/** The Worker's bindings: the configuration as text bindings (vars and secrets), and the Durable Object. */
interface Env {
  HERALD_GATEWAY: DurableObjectNamespace;
  /** How many Durable Objects share the load, each with its own NATS connection; default 1. */
  HERALD_GATEWAY_SHARDS?: string;
  [key: string]: unknown;
}

/** No TCP here: NATS over WebSocket only, idempotency on Upstash REST or in memory; Postgres through `cloudflare:sockets`. */
const PLATFORM: Platform = { runtime: "workerd" };

/** The configuration the text bindings carry. */
function configOf(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/**
 * workerd lets an I/O object (a WebSocket, a socket) be used only by the
 * request that created it, except inside a Durable Object, whose requests
 * share one I/O context. So the gateway lives in one: its NATS connection
 * and Postgres pool are opened once and serve every request routed to it.
 */
export class GatewayHost extends DurableObject<Env> {
  private gateway: Promise<AssembledGateway> | null = null;

  private assembled(): Promise<AssembledGateway> {
    if (this.gateway === null) {
      const started = assembleGateway(configOf(this.env), PLATFORM);
      this.gateway = started;
      // A connection that closes for good (or never opened) is replaced on the next request.
      started.then(
        (gateway) => {
          void gateway.nc.closed().then(() => {
            if (this.gateway === started) this.gateway = null;
          });
        },
        () => {
          if (this.gateway === started) this.gateway = null;
        },
      );
    }
    return this.gateway;
  }

  override async fetch(request: Request): Promise<Response> {
    let gateway: AssembledGateway;
    try {
      gateway = await this.assembled();
    } catch (err) {
      const detail = err instanceof ConfigError ? err.message : "The gateway could not reach NATS or start; retry";
      if (!(err instanceof ConfigError)) console.error("herald gateway (workerd): could not start", err);
      return Response.json(
        { type: "about:blank", title: "Service Unavailable", status: 503, detail },
        { status: 503, headers: { "content-type": "application/problem+json", "retry-after": "1" } },
      );
    }
    return gateway.app.fetch(request);
  }
}

/** Requests spread over the shards by a random pick; each shard keeps its own connections. */
export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const shards = Math.max(1, Number(env.HERALD_GATEWAY_SHARDS ?? "1") || 1);
    const name = `gateway-${Math.floor(Math.random() * shards)}`;
    return env.HERALD_GATEWAY.get(env.HERALD_GATEWAY.idFromName(name)).fetch(request);
  },
};
