import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { and, count, eq, inArray } from "drizzle-orm";
import { ensureStreams } from "../lib/nats/streams.ts";
import { DEFAULT_STREAM_OPTIONS } from "../schemas/subjects.ts";
import { notifications } from "../schemas/tables.ts";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { startNatsCluster, type NatsCluster } from "./support/nats-cluster.ts";
import { createTestDatabase, deleteRedisPrefix, testNamespace, topology, type TestDatabase } from "./support/services.ts";
import { heraldTestEnv, post } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

// The stream leader dies mid-load: every 202 is still sent exactly once, and a
// client that retries its 5xx with the same Idempotency-Key ends with all it asked for.

const TOTAL = 2000;
const IN_FLIGHT = 32;
const ACK_WAIT_MS = 5000;

let cluster: NatsCluster;
let db: TestDatabase;
let receiver: WebhookReceiver;
let gateway: HeraldProcess | undefined;
let processor: HeraldProcess | undefined;
const namespace = testNamespace();

beforeAll(async () => {
  cluster = await startNatsCluster();
  db = await createTestDatabase();
  const nc = await cluster.connect();
  try {
    await ensureStreams(nc, topology(namespace), { ...DEFAULT_STREAM_OPTIONS, ackWaitMs: ACK_WAIT_MS, replicas: 3 });
  } finally {
    await nc.close();
  }
  receiver = startWebhookReceiver();
  const env = heraldTestEnv(namespace, db.url, {
    HERALD_ACK_WAIT_MS: String(ACK_WAIT_MS),
    HERALD_PUBLISH_TIMEOUT_MS: "2000",
    HERALD_STREAM_REPLICAS: "3",
    NATS_URL: cluster.servers,
  });
  [gateway, processor] = await Promise.all([startHerald("gateway", env), startHerald("processor", env)]);
}, 60_000);

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await receiver?.stop();
  await cluster?.stop();
  await deleteRedisPrefix(`${namespace}:`);
  await db?.drop();
  rmSync(`/tmp/herald-test-${namespace}`, { recursive: true, force: true });
});

interface Load {
  ids: string[];
  /** Answers other than 202 by status ("none": the connection failed), each retried. */
  failures: Record<string, number>;
  /** The longest stretch with no 202 answered, in ms. */
  longestGapMs: number;
}

/** POSTs `TOTAL` keyed webhooks, `IN_FLIGHT` at a time, retrying every non-202 with the same key as a careful client does; `onAccepted` sees the running count. */
async function load(gatewayUrl: string, onAccepted: (n: number) => void): Promise<Load> {
  const ids: string[] = new Array(TOTAL);
  const failures: Record<string, number> = {};
  const stats = { accepted: 0, last202: Date.now(), longestGapMs: 0 };
  let next = 0;
  async function send(i: number): Promise<string> {
    const body = { userId: `u-${i % 50}`, channel: "webhook", payload: { url: receiver.url(), body: { i } } };
    for (let attempt = 0; ; attempt++) {
      const res = await post(gatewayUrl, "/v1/notifications", body, { "idempotency-key": `cluster-${i}` }).catch(() => null);
      if (res?.status === 202) {
        const now = Date.now();
        stats.longestGapMs = Math.max(stats.longestGapMs, now - stats.last202);
        stats.last202 = now;
        return ((await res.json()) as { id: string }).id;
      }
      await res?.body?.cancel();
      if (res && res.status < 500) throw new Error(`request ${i} answered ${res.status}`);
      const status = String(res?.status ?? "none");
      failures[status] = (failures[status] ?? 0) + 1;
      if (attempt >= 40) throw new Error(`request ${i} still failing after ${attempt} retries`);
      await Bun.sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  }
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        ids[i] = await send(i);
        onAccepted(++stats.accepted);
      }
    }),
  );
  return { ids, failures, longestGapMs: stats.longestGapMs };
}

test("2,000 webhooks with the work stream's leader killed mid-load: every one sent exactly once", async () => {
  const url = gateway?.url ?? "";
  const work = topology(namespace).streams.work;
  const leader = await cluster.leaderOf(work);
  let killed: Promise<void> | null = null;
  const started = Date.now();
  const result = await load(url, (n) => {
    // Kill while requests are being accepted; bring the node back a few seconds later.
    if (n === 400 && !killed)
      killed = cluster.kill(leader, "SIGKILL").then(async () => {
        await Bun.sleep(3000);
        await cluster.restart(leader);
      });
  });
  const acceptedMs = Date.now() - started;
  await killed;
  const newLeader = await cluster.leaderOf(work);

  const ids = result.ids;
  expect(new Set(ids).size).toBe(TOTAL);
  await eventually(
    async () => {
      const [sent] = await db.db
        .select({ n: count() })
        .from(notifications)
        .where(and(inArray(notifications.id, ids), eq(notifications.status, "sent")));
      return sent?.n === TOTAL;
    },
    { timeoutMs: 60_000, everyMs: 250, label: `${TOTAL} notifications sent` },
  );
  const sentMs = Date.now() - started;
  // Late duplicates would arrive after the last first delivery: give them a moment.
  await Bun.sleep(1000);
  const successes = receiver.successes();
  const twice = ids.filter((id) => successes.get(id) !== 1);
  expect(twice).toEqual([]);
  expect(successes.size).toBe(TOTAL);
  expect(receiver.rejected()).toBe(0);
  const [rows] = await db.db.select({ n: count() }).from(notifications);
  expect(rows?.n).toBe(TOTAL);
  console.log(
    `nats-cluster failover: killed ${cluster.nodes[leader]?.name} (work leader; now ${cluster.nodes[newLeader]?.name}); ` +
      `non-202 answers retried ${JSON.stringify(result.failures)}, longest gap between 202s ${result.longestGapMs} ms; ` +
      `all accepted in ${acceptedMs} ms, all sent in ${sentMs} ms`,
  );
}, 120_000);
