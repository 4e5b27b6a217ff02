// The peers (Express 5 and Fastify on Node) and bare Bun.serve under exactly
// the load Herald got. Each peer publishes into a namespace of its own whose
// streams are created by Herald's own ensureStreams, so the broker does the
// same work per message for every system.
import type { NatsConnection } from "@nats-io/transport-node";
import type { BenchPlan } from "../args.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { freePort, startServer } from "../lib/process.ts";
import { benchNamespace, createWorkStream, deleteNamespaceStreams } from "../lib/stream.ts";
import { buildPeerSchemas } from "../peers/build.ts";
import { checkContract } from "../peers/checks.ts";
import type { HttpRun } from "../types.ts";
import { measureHttp, singleLoad } from "./http-load.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PEER_KEY = "key-peer-0123456789";

export const PEERS = [
  { name: "express", cmd: ["node", "bench/peers/express.mjs"] },
  { name: "fastify", cmd: ["node", "bench/peers/fastify.mjs"] },
] as const;

export interface PeerServices {
  nc: NatsConnection;
  natsUrl: string;
  redisUrl: string;
  /** Deletes every Redis key under a prefix. */
  deleteRedisPrefix(prefix: string): Promise<void>;
}

/** Starts, contract-checks, measures and stops one peer; everything it created is removed after. */
async function measurePeer(peer: (typeof PEERS)[number], plan: BenchPlan, svc: PeerServices, cleanup: Cleanup): Promise<HttpRun> {
  const namespace = benchNamespace(`bp${peer.name.slice(0, 2)}`);
  cleanup.defer(`${peer.name} Redis keys`, () => svc.deleteRedisPrefix(`${namespace}:`));
  cleanup.defer(`${peer.name} streams`, () => deleteNamespaceStreams(svc.nc, namespace));
  const stream = await createWorkStream(svc.nc, namespace);
  const env = { NODE_ENV: "production", NATS_URL: svc.natsUrl, REDIS_URL: svc.redisUrl, HERALD_NAMESPACE: namespace, HERALD_API_KEYS: `acme:${PEER_KEY}` };
  const server = await startServer({ cmd: [...peer.cmd], env, port: await freePort(), cwd: ROOT });
  cleanup.defer(`${peer.name} process`, () => server.stop());
  try {
    // A fast peer that answers the wrong thing would make the comparison meaningless.
    await checkContract(server.url, PEER_KEY);
    return await measureHttp(
      { name: peer.name, pid: server.pid, stream: { nc: svc.nc, name: stream } },
      singleLoad(server.url, PEER_KEY, plan.connections),
      plan.warmupS,
      plan.durationS,
    );
  } finally {
    await server.stop();
  }
}

export async function peersPhase(plan: BenchPlan, svc: PeerServices, cleanup: Cleanup, log: (line: string) => void): Promise<HttpRun[]> {
  await buildPeerSchemas();
  const runs: HttpRun[] = [];
  for (const peer of PEERS) {
    log(`peers: ${peer.name}…`);
    runs.push(await measurePeer(peer, plan, svc, cleanup));
  }
  return runs;
}
