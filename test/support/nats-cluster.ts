import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort, waitForPort } from "../../lib/probe.ts";

/** The committed node config: the cluster the tests run is the one operators are given. */
export const CLUSTER_NODE_CONF = new URL("../../deploy/nats/cluster-node.conf", import.meta.url).pathname;

const HOST = "127.0.0.1";

export interface ClusterNode {
  /** Its `server_name`, as stream info reports a leader: `herald-<index>`. */
  name: string;
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  httpPort: number;
  running: boolean;
}

/** Three nats-server children of a test's own, routed into one JetStream cluster on loopback. */
export interface NatsCluster {
  nodes: readonly ClusterNode[];
  /** Every node's client URL, comma-joined: a NATS_URL for Herald. */
  servers: string;
  /** Signals one node and waits for it to exit; its ports and store stay for `restart`. */
  kill(node: number, signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts a stopped node again on the same ports and store directory. */
  restart(node: number): Promise<void>;
  /** The index of the node leading `stream`'s replicas. */
  leaderOf(stream: string): Promise<number>;
  /** Resolves once the running nodes agree on a JetStream meta leader. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** A client connection to every node, for a test's own stream and consumer calls. */
  connect(): Promise<NatsConnection>;
  /** Kills every node and removes their directories. */
  stop(): Promise<void>;
}

/** How to tear down each running cluster synchronously. */
const live = new Map<NatsCluster, () => void>();
// A failed or interrupted test run must not leave nodes listening.
process.once("exit", () => {
  for (const teardown of live.values()) teardown();
});

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "herald-nats-cluster-"));
  const nodes = Array.from({ length: size }, (_, i) => ({
    name: `herald-${i}`,
    port: freePort(),
    httpPort: freePort(),
    clusterPort: freePort(),
    storeDir: join(dir, `herald-${i}`),
  }));
  const routes = Object.fromEntries(nodes.map((n, i) => [`NATS_ROUTE_${i + 1}`, `nats-route://${HOST}:${n.clusterPort}`]));
  const children: Array<ReturnType<typeof Bun.spawn> | null> = nodes.map(() => null);
  const views: ClusterNode[] = nodes.map((n) => ({ name: n.name, url: `nats://${HOST}:${n.port}`, port: n.port, httpPort: n.httpPort, running: false }));

  async function start(i: number): Promise<void> {
    const n = nodes[i];
    const view = views[i];
    if (!n || !view || children[i]) return;
    mkdirSync(n.storeDir, { recursive: true });
    children[i] = Bun.spawn(["nats-server", "-c", CLUSTER_NODE_CONF], {
      env: {
        PATH: process.env.PATH ?? "",
        NATS_SERVER_NAME: n.name,
        NATS_LISTEN: `${HOST}:${n.port}`,
        NATS_HTTP: `${HOST}:${n.httpPort}`,
        NATS_CLUSTER_LISTEN: `${HOST}:${n.clusterPort}`,
        NATS_STORE_DIR: n.storeDir,
        ...routes,
      },
      stdout: "ignore",
      stderr: "ignore",
    });
    view.running = true;
    if (!(await waitForPort(HOST, n.port, 10_000))) throw new Error(`nats-server ${n.name} did not listen on ${n.port}`);
  }

  const cluster: NatsCluster = {
    nodes: views,
    servers: views.map((v) => v.url).join(","),
    async kill(i, signal = "SIGKILL") {
      const child = children[i];
      children[i] = null;
      const view = views[i];
      if (view) view.running = false;
      child?.kill(signal);
      await child?.exited;
    },
    restart: start,
    async leaderOf(stream) {
      const nc = await cluster.connect();
      try {
        const info = await (await jetstreamManager(nc)).streams.info(stream);
        const index = views.findIndex((v) => v.name === info.cluster?.leader);
        if (index < 0) throw new Error(`stream ${stream} has no leader among the nodes (${info.cluster?.leader ?? "none"})`);
        return index;
      } finally {
        await nc.close();
      }
    },
    async waitForMetaLeader(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const leaders = await Promise.all(views.filter((v) => v.running).map((v) => metaLeader(v.httpPort)));
        const first = leaders[0];
        if (first && leaders.every((l) => l === first)) return first;
        await Bun.sleep(100);
      }
      throw new Error(`no JetStream meta leader within ${timeoutMs} ms`);
    },
    connect: () => connect({ servers: views.map((v) => v.url), name: "herald-test", maxReconnectAttempts: -1, reconnectTimeWait: 250 }),
    async stop() {
      await Promise.all(views.map((_, i) => cluster.kill(i)));
      live.delete(cluster);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.set(cluster, () => {
    for (const child of children) child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await Promise.all(nodes.map((_, i) => start(i)));
    await cluster.waitForMetaLeader();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** The meta leader a node's /jsz reports, or null while there is none (or the node does not answer). */
async function metaLeader(httpPort: number): Promise<string | null> {
  try {
    const res = await fetch(`http://${HOST}:${httpPort}/jsz`, { signal: AbortSignal.timeout(1000) });
    const jsz = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
    return jsz.meta_cluster?.leader || null;
  } catch {
    return null;
  }
}
