// The Node entry (Node 20 or newer): `node dist/node/gateway.mjs`, built by `npm run build:node`.
import { serve, type Http2Bindings, type HttpBindings } from "@hono/node-server";
import { connect } from "@nats-io/transport-node";
import type { WsSocketFactory } from "@nats-io/nats-core";
import WebSocket from "ws";
import { createMetrics } from "../../../lib/telemetry/metrics.ts";
import { ConfigError } from "../../../schemas/config.ts";
import { assembleGateway, type Platform } from "../assemble.ts";
import { peerAddresses } from "../peer-addresses.ts";
import { createIoRedisStore } from "./redis-store.ts";
import { nodeSha256Hex } from "./sha256.ts";

/** `ws`'s client speaks the W3C WebSocket interface NATS's WebSocket transport drives. */
const webSocketFactory: WsSocketFactory = async (url) => ({
  socket: new WebSocket(url) as unknown as globalThis.WebSocket,
  encrypted: url.startsWith("wss://"),
});

const peers = peerAddresses();

const platform: Platform = {
  runtime: "node",
  tcp: connect,
  // Node 20 has no global WebSocket; the `ws` package stands in for NATS_URL=ws://.
  nats: { wsFactory: webSocketFactory },
  redisStore: createIoRedisStore,
  metrics: createMetrics,
  hashBody: nodeSha256Hex,
  clientAddress: peers.clientAddress,
};

async function main(): Promise<void> {
  const gateway = await assembleGateway(process.env, platform);
  const fetch = (req: Request, env: HttpBindings | Http2Bindings) => {
    peers.remember(req, env.incoming.socket.remoteAddress);
    return gateway.app.fetch(req, env);
  };
  const server = serve({ fetch, port: gateway.port, hostname: gateway.hostname }, (info) => {
    gateway.logger.info({ hostname: gateway.hostname, port: info.port }, "gateway listening");
  });
  // Stop taking requests first; in-flight ones finish before NATS closes.
  const stopServing = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const onSignal = gateway.signalHandler(stopServing, (code) => process.exit(code));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `herald gateway (node): ${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(err instanceof ConfigError ? 78 : 1);
});
