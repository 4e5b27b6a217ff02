// Shared by this folder's tests: real NATS + real Postgres, isolated per test file.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import { createAckPublisher, type AckPublisher } from "../../lib/nats/ack-publisher.ts";
import type { Channel, Priority } from "../../schemas/enums.ts";
import type { Envelope } from "../../schemas/envelope.ts";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace, topology, type TestDatabase } from "./services.ts";
import type { MetricsRecorder } from "../../lib/telemetry/recorder.ts";
import { createInboxSender, createSinkSender, createWebhookSender, type SinkRecorder } from "../../processor/channels/index.ts";
import type { Sender, Senders } from "../../processor/channels/types.ts";
import type { Resolver } from "../../processor/resolve.ts";
import { createProcessor, type Processor, type ProcessorOptions } from "../../processor/processor.ts";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { TEST_WEBHOOK_SECRET } from "./constants.ts";
import { silentLogger } from "./loggers.ts";

export const DEFAULT_OPTIONS: ProcessorOptions = {
  batchSize: 64,
  channelConcurrency: 16,
  maxAttempts: 3,
  retryBaseMs: 20,
  retryMaxMs: 200,
  stallLimit: 10,
  schedulerPollMs: 50,
};

/** One test file's isolated world: own namespace, streams and database. */
export interface Harness {
  nc: NatsConnection;
  db: TestDatabase;
  topo: ReturnType<typeof topology>;
  /** Events and dead letters as the processor publishes them (for the tools a test runs beside it). */
  out: AckPublisher;
  log: Logger;
  start(
    senders: Record<Channel, Sender | readonly Sender[]>,
    options?: Partial<ProcessorOptions>,
    metrics?: MetricsRecorder,
    resolver?: Resolver,
  ): Promise<Processor>;
  publish(e: Envelope, msgId?: string): Promise<void>;
  publishRaw(subject: string, data: string): Promise<void>;
  row(id: string): Promise<typeof notifications.$inferSelect | undefined>;
  attempts(id: string): Promise<(typeof deliveryAttempts.$inferSelect)[]>;
  /** Every message of a stream, oldest first. */
  readStream(stream: string): Promise<{ subject: string; data: unknown }[]>;
  /** True when the lane has nothing pending and nothing awaiting an ack. */
  laneIdle(priority?: Priority): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** Creates the namespace's streams and a fresh database; `cleanup()` removes both. */
export async function createHarness(streams: { maxAckPending?: number; ackWaitMs?: number } = {}): Promise<Harness> {
  const topo = topology(testNamespace());
  const [nc, db] = await Promise.all([connectTestNats(), createTestDatabase()]);
  await ensureStreams(nc, topo, { duplicateWindowMs: 60_000, ackWaitMs: streams.ackWaitMs ?? 5_000, maxAckPending: streams.maxAckPending ?? 4096 });
  const js = jetstream(nc);
  const running: Processor[] = [];
  const out = createAckPublisher(nc, { timeoutMs: 5_000 });
  const log = silentLogger;
  return {
    nc,
    db,
    topo,
    out,
    log,
    async start(senders, options = {}, metrics, resolver) {
      const p = createProcessor({
        nc,
        db: db.db,
        sql: db.sql,
        topology: topo,
        senders,
        logger: log,
        options: { ...DEFAULT_OPTIONS, ...options },
        ...(metrics ? { metrics } : {}),
        ...(resolver ? { resolver } : {}),
      });
      await p.start();
      running.push(p);
      return p;
    },
    async publish(e, msgId = `${e.tenantId}:${e.id}`) {
      await js.publish(topo.sendSubject(e.priority, e.channel), JSON.stringify(e), { msgID: msgId });
    },
    async publishRaw(subject, data) {
      await js.publish(subject, data);
    },
    async row(id) {
      const [r] = await db.db.select().from(notifications).where(eq(notifications.id, id));
      return r;
    },
    attempts: (id) => db.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, id)).orderBy(deliveryAttempts.attempt),
    async readStream(stream) {
      const jsm = await jetstreamManager(nc);
      const { state } = await jsm.streams.info(stream);
      const out: { subject: string; data: unknown }[] = [];
      for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (m) out.push({ subject: m.subject, data: m.json() });
      }
      return out;
    },
    async laneIdle(priority = "normal") {
      const info = await (await jetstreamManager(nc)).consumers.info(topo.streams.work, topo.laneConsumer(priority));
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    async cleanup() {
      await Promise.all(running.map((p) => p.stop()));
      out.close();
      await deleteNamespaceStreams(nc, topo);
      await nc.close();
      await db.drop();
    },
  };
}

const PAYLOADS: Record<Exclude<Channel, "webhook">, Record<string, unknown>> = {
  email: { to: "a@example.com", subject: "Hi", body: "Hello" },
  sms: { to: "+14155550100", body: "Hello" },
  push: { to: "device-token", title: "Hi", body: "Hello" },
  in_app: { title: "Hi", body: "Hello" },
};

/** A valid envelope; webhooks need `payload` with a url. */
export function envelope(over: Partial<Envelope> = {}): Envelope {
  const channel = over.channel ?? "in_app";
  return {
    v: 1,
    id: crypto.randomUUID(),
    tenantId: "acme",
    userId: "user-1",
    channel,
    type: "transactional",
    priority: "normal",
    payload: channel === "webhook" ? {} : PAYLOADS[channel],
    metadata: null,
    idempotencyKey: null,
    correlationId: "corr-1",
    scheduledFor: null,
    acceptedAt: new Date().toISOString(),
    ...over,
  };
}

/** Every channel's sender as a test runs them: webhooks signed with the test secret and allowed on loopback, the rest recorded by `sink`. */
export function testSenders(sink?: SinkRecorder): Senders {
  return {
    email: createSinkSender("email", sink),
    sms: createSinkSender("sms", sink),
    push: createSinkSender("push", sink),
    in_app: createInboxSender(sink),
    webhook: createWebhookSender({ secret: TEST_WEBHOOK_SECRET, timeoutMs: 3000, allowPrivate: true }),
  };
}
