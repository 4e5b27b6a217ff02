// The Deno entry (Deno 2): `deno run --allow-net --allow-env --allow-read --allow-sys gateway/runtime/deno/main.ts`.
import { connect } from "@nats-io/transport-node";
import { createMetrics } from "../../../lib/telemetry/metrics.ts";
import { ConfigError } from "../../../schemas/config.ts";
import { assembleGateway, type Platform } from "../assemble.ts";
import { peerAddresses } from "../peer-addresses.ts";
import { createIoRedisStore } from "../node/redis-store.ts";
import { nodeSha256Hex } from "../node/sha256.ts";

const peers = peerAddresses();

// Deno's Node compatibility gives it TCP for NATS and Redis; WebSocket is global.
const platform: Platform = {
  runtime: "deno",
  tcp: connect,
  redisStore: createIoRedisStore,
  metrics: createMetrics,
  hashBody: nodeSha256Hex,
  clientAddress: peers.clientAddress,
};

try {
  const gateway = await assembleGateway(Deno.env.toObject(), platform);
  const server = Deno.serve(
    { port: gateway.port, hostname: gateway.hostname, onListen: ({ port }) => gateway.logger.info({ hostname: gateway.hostname, port }, "gateway listening") },
    (req, info) => {
      peers.remember(req, info.remoteAddr.hostname);
      return gateway.app.fetch(req);
    },
  );
  // Stop taking requests first; in-flight ones finish before NATS closes.
  const onSignal = gateway.signalHandler(
    () => server.shutdown(),
    (code) => Deno.exit(code),
  );
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
} catch (err) {
  console.error(`herald gateway (deno): ${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  Deno.exit(err instanceof ConfigError ? 78 : 1);
}
