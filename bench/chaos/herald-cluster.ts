// What the chaos run breaks: a three-node NATS cluster with R3 streams, a
// Redis and a Postgres cluster of its own (never the machine's), two
// gateways and two processors as child processes, and a signature-checking
// receiver whose answer the faults can change. Everything is registered with
// the cleanup as it is created.
import { rmSync } from "node:fs";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { freePort } from "../../lib/probe.ts";
import { DEFAULT_STREAM_OPTIONS } from "../../schemas/subjects.ts";
import { heraldTestEnv } from "../../test/support/stack.ts";
import { startHerald, type HeraldProcess } from "../../test/support/herald-process.ts";
import { startNatsCluster, type NatsCluster } from "../../test/support/nats-cluster.ts";
import { startPrivateRedis, type PrivateRedis } from "../../test/support/redis-server.ts";
import { createTestDatabase, deleteNamespaceStreams, testNamespace, topology, type TestDatabase } from "../../test/support/services.ts";
import { startWebhookReceiver, type Answer, type WebhookReceiver } from "../../test/support/webhook-receiver.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { startPrivatePostgres, type PrivatePostgres } from "./private-postgres.ts";

const ACK_WAIT_MS = 8000;
/** How long a processor waits for the webhook receiver's answer (HERALD_WEBHOOK_TIMEOUT_MS); the timeout fault answers later. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface ChaosStack {
  namespace: string;
  /** The work stream's name, whose leader a fault kills. */
  work: string;
  cluster: NatsCluster;
  redis: PrivateRedis;
  db: TestDatabase;
  /** The run's own Postgres cluster, which holds its database and which a fault stops. */
  postgres: PrivatePostgres;
  receiver: WebhookReceiver;
  /** What the receiver answers every verified request; a fault swaps it. */
  answer: { current: Answer };
  gateways: HeraldProcess[];
  processors: HeraldProcess[];
  /** SIGKILLs `gateways[i]` and starts it again on the same port. */
  restartGateway(i: number): Promise<void>;
  /** SIGKILLs `processors[i]` and starts a new one in its place. */
  restartProcessor(i: number): Promise<void>;
  /** Resolves when every gateway's /health/ready and every processor's metrics-port /health/ready answer 200. */
  waitReady(timeoutMs: number): Promise<void>;
}

export async function startChaosStack(cleanup: Cleanup, log: (line: string) => void): Promise<ChaosStack> {
  const namespace = testNamespace();
  const cluster = await startNatsCluster();
  cleanup.defer("NATS cluster", () => cluster.stop());
  const nc = await cluster.connect();
  try {
    await ensureStreams(nc, topology(namespace), { ...DEFAULT_STREAM_OPTIONS, ackWaitMs: ACK_WAIT_MS, replicas: 3 });
  } finally {
    await nc.close();
  }
  cleanup.defer("namespace streams", async () => {
    const c = await cluster.connect();
    await deleteNamespaceStreams(c, topology(namespace));
    await c.close();
  });
  const redis = await startPrivateRedis();
  cleanup.defer("Redis", () => redis.remove());
  const pg = await startPrivatePostgres();
  cleanup.defer("Postgres cluster", () => pg.remove());
  const db = await createTestDatabase(pg.adminUrl);
  cleanup.defer("database", () => db.drop());
  const answer = { current: { status: 200 } as Answer };
  const receiver = startWebhookReceiver({ "/hook": () => answer.current });
  cleanup.defer("webhook receiver", () => receiver.stop());
  log(`namespace ${namespace}, database ${db.name} on ${pg.adminUrl}, NATS ${cluster.servers}, Redis ${redis.url}`);

  const env = heraldTestEnv(namespace, db.url, {
    // Retries that outlast the provider's 60 s outage (40 attempts, backoff to 5 s: ~2 min), so a
    // round tests what Herald does with them, not the size of the retry budget.
    HERALD_RETRY_BASE_MS: "100",
    HERALD_RETRY_MAX_MS: "5000",
    HERALD_MAX_ATTEMPTS: "40",
    HERALD_ACK_WAIT_MS: String(ACK_WAIT_MS),
    HERALD_PUBLISH_TIMEOUT_MS: "2000",
    HERALD_WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
    HERALD_STREAM_REPLICAS: "3",
    HERALD_DATA_DIR: `/tmp/herald-chaos-${namespace}`,
    REDIS_URL: redis.url,
    NATS_URL: cluster.servers,
  });
  cleanup.defer("data directory", () => rmSync(env.HERALD_DATA_DIR ?? "", { recursive: true, force: true }));
  const gatewayPorts = [freePort(), freePort()];
  const gateways: HeraldProcess[] = [];
  const processors: HeraldProcess[] = [];
  cleanup.defer("gateways and processors", async () => {
    await Promise.all([...gateways, ...processors].map((p) => p.signal("SIGKILL")));
  });
  const startGateway = (i: number) => startHerald("gateway", { ...env, HERALD_PORT: String(gatewayPorts[i]) });
  const startProcessor = () => startHerald("processor", env);
  gateways.push(...(await Promise.all([startGateway(0), startGateway(1)])));
  processors.push(...(await Promise.all([startProcessor(), startProcessor()])));

  return {
    namespace,
    work: topology(namespace).streams.work,
    cluster,
    redis,
    db,
    postgres: pg,
    receiver,
    answer,
    gateways,
    processors,
    async restartGateway(i) {
      await gateways[i]?.signal("SIGKILL");
      gateways[i] = await startGateway(i);
    },
    async restartProcessor(i) {
      await processors[i]?.signal("SIGKILL");
      processors[i] = await startProcessor();
    },
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const urls = [...gateways.map((g) => `${g.url}/health/ready`), ...(await Promise.all(processors.map(processorProbe)))];
        const answers = await Promise.all(urls.map((u) => (u ? ready(u) : false)));
        if (answers.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`not every process ready within ${timeoutMs} ms`);
        await Bun.sleep(100);
      }
    },
  };
}

/** A processor's probe address: it serves them on the metrics port it logs once listening. */
async function processorProbe(p: HeraldProcess): Promise<string | null> {
  const line = await p.waitForLog((l) => l.msg === "metrics and health probes listening", 5000).catch(() => null);
  return line ? `http://127.0.0.1:${String(line.port)}/health/ready` : null;
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}
