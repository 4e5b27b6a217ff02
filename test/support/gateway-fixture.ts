// Shared setup for the gateway's tests: real NATS, Postgres and stores from test/support.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Envelope } from "../../schemas/envelope.ts";
import type { NotificationRequestInput } from "../../schemas/request.ts";
import { topology, type Topology } from "../../schemas/subjects.ts";
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from "./services.ts";
import { createApp, type GatewayDeps } from "../../gateway/app.ts";
import { createAckPublisher, type AckPublisher } from "../../lib/nats/ack-publisher.ts";
import { createWorkPublisher, type Publisher } from "../../lib/nats/work.ts";
import { createNotificationCanceller } from "../../lib/db/canceller.ts";
import { createInbox } from "../../lib/db/inbox-store.ts";
import { createNotificationReader } from "../../lib/db/reads.ts";
import { createMemoryStore } from "../../gateway/store/memory.ts";
import { ADMIN_KEY, OTHER_KEY, TENANT_KEY } from "./constants.ts";
import { silentLogger } from "./loggers.ts";

// gateway/idempotency.test.ts imports these two from here.

/** The tenants' keys, as the gateway's `keys` dependency. */
export const KEYS: ReadonlyMap<string, string> = new Map([
  [TENANT_KEY, "acme"],
  [OTHER_KEY, "beta"],
]);

/** The operator's key, as the admin routes' `keys` dependency. */
export const ADMIN_KEYS: ReadonlyMap<string, string> = new Map([[ADMIN_KEY, "ops"]]);

/** A valid request for each channel. */
export const VALID: Record<NotificationRequestInput["channel"], NotificationRequestInput> = {
  email: { userId: "user-1", channel: "email", payload: { to: "a@example.com", subject: "Hi", body: "Hello" } },
  sms: { userId: "user-1", channel: "sms", priority: "urgent", payload: { to: "+14155550100", body: "Hello" } },
  push: { userId: "user-1", channel: "push", priority: "high", payload: { to: "device-token-1", title: "Hi", body: "Hello" } },
  webhook: { userId: "user-1", channel: "webhook", payload: { url: "https://hooks.example.com/in", body: { a: 1 } } },
  in_app: { userId: "user-1", channel: "in_app", type: "system", payload: { title: "Hi", body: "Hello" }, metadata: { orderId: "o-1" } },
};

/** One namespace with its work stream, on the real NATS server. */
export interface StreamFixture {
  nc: NatsConnection;
  jsm: JetStreamManager;
  topo: Topology;
  publisher: Publisher;
  /** Events and dead letters, as the processor and the admin routes publish them. */
  out: AckPublisher;
  count(): Promise<number>;
  /** The stored message at `seq` (1-based): subject, Nats-Msg-Id and the parsed envelope. */
  message(seq: number): Promise<{ subject: string; msgId: string | undefined; envelope: Envelope }>;
  cleanup(): Promise<void>;
}

export async function createStreamFixture(opts: { withStream?: boolean } = {}): Promise<StreamFixture> {
  const nc = await connectTestNats();
  const jsm = await jetstreamManager(nc);
  const topo = topology(testNamespace());
  if (opts.withStream !== false) await addWorkStream(jsm, topo);
  const out = createAckPublisher(nc, { timeoutMs: 2_000 });
  return {
    nc,
    jsm,
    topo,
    publisher: createWorkPublisher(nc, topo, { timeoutMs: 2_000 }),
    out,
    count: async () => (await jsm.streams.info(topo.streams.work)).state.messages,
    async message(seq) {
      const m = await jsm.streams.getMessage(topo.streams.work, { seq });
      if (m === null) throw new Error(`no message at ${seq}`);
      return { subject: m.subject, msgId: m.header?.get("Nats-Msg-Id"), envelope: m.json<Envelope>() };
    },
    async cleanup() {
      out.close();
      await deleteNamespaceStreams(nc, topo);
      await nc.close();
    },
  };
}

export async function addWorkStream(jsm: JetStreamManager, topo: Topology): Promise<void> {
  await jsm.streams.add({ name: topo.streams.work, subjects: [topo.wildcards.work], duplicate_window: 120_000_000_000 });
}

/** Stream + database + memory store + app, the usual set for route tests. */
export interface AppFixture extends StreamFixture {
  db: TestDatabase;
  deps: GatewayDeps;
  app: ReturnType<typeof createApp>;
}

export async function createAppFixture(overrides: Partial<GatewayDeps> = {}): Promise<AppFixture> {
  const [stream, db] = await Promise.all([createStreamFixture(), createTestDatabase()]);
  const deps: GatewayDeps = {
    keys: KEYS,
    store: createMemoryStore(),
    publisher: stream.publisher,
    reader: createNotificationReader(db.db),
    canceller: createNotificationCanceller(db.db),
    inbox: createInbox(db.db),
    recipients: { db: db.db },
    readiness: [],
    logger: silentLogger,
    ...overrides,
  };
  return {
    ...stream,
    db,
    deps,
    app: createApp(deps),
    async cleanup() {
      await Promise.all([stream.cleanup(), db.drop(), deps.store.close()]);
    },
  };
}

/** Request options for `send`; `body` objects are JSON-encoded, strings sent as they are. */
export interface SendOptions {
  method?: string;
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
}

/** Calls the app in process, with the tenant's key and a JSON content type unless told otherwise. */
export function send(app: { request(path: string, init: RequestInit): Response | Promise<Response> }, path: string, opts: SendOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.key !== null) headers.authorization = `Bearer ${opts.key ?? TENANT_KEY}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  return Promise.resolve(app.request(path, { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers: { ...headers, ...opts.headers }, body }));
}

/** A publisher that holds every publish until `release()`, wrapping a real one. */
export function blockingPublisher(inner: Publisher): Publisher & { release(): void; started: Promise<void> } {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const startedPromise = new Promise<void>((r) => (started = r));
  return {
    started: startedPromise,
    release,
    async publish(envelope, msgId) {
      started();
      await gate;
      await inner.publish(envelope, msgId);
    },
  };
}
