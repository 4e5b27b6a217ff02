import { rmSync } from "node:fs";
import {
  connectTestNats,
  createTestDatabase,
  deleteNamespaceStreams,
  deleteRedisPrefix,
  SERVICES,
  testNamespace,
  topology,
  type TestDatabase,
} from "./services.ts";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { DEFAULT_STREAM_OPTIONS } from "../../schemas/subjects.ts";
import { ADMIN_KEY, OTHER_KEY, TENANT_KEY, TEST_WEBHOOK_SECRET } from "./constants.ts";

// The profiling scripts import the key from here.

/** One isolated environment on the real services: own database, namespace and Redis prefix. */
export interface Stack {
  namespace: string;
  db: TestDatabase;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** The environment a test's Herald processes run with: the test keys, its namespace and database, the machine's services unless `extra` says otherwise. */
export function heraldTestEnv(namespace: string, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HERALD_API_KEYS: `acme:${TENANT_KEY},beta:${OTHER_KEY}`,
    HERALD_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
    HERALD_NAMESPACE: namespace,
    HERALD_WEBHOOK_ALLOW_PRIVATE: "1",
    HERALD_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    DATABASE_URL: databaseUrl,
    REDIS_URL: SERVICES.redis,
    NATS_URL: SERVICES.nats,
    HERALD_RETRY_BASE_MS: "50",
    HERALD_DATA_DIR: `/tmp/herald-test-${namespace}`,
    ...extra,
  };
}

/** What `herald migrate` leaves, without which no gateway or processor starts; `extra` may set env and stream options. */
export async function createStack(extra: Record<string, string> = {}): Promise<Stack> {
  const namespace = testNamespace();
  const db = await createTestDatabase();
  const nc = await connectTestNats(extra.NATS_URL);
  try {
    await ensureStreams(nc, topology(namespace), {
      duplicateWindowMs: Number(extra.HERALD_DUPLICATE_WINDOW_MS ?? DEFAULT_STREAM_OPTIONS.duplicateWindowMs),
      ackWaitMs: Number(extra.HERALD_ACK_WAIT_MS ?? DEFAULT_STREAM_OPTIONS.ackWaitMs),
      maxAckPending: Number(extra.HERALD_MAX_ACK_PENDING ?? DEFAULT_STREAM_OPTIONS.maxAckPending),
    });
  } finally {
    await nc.close();
  }
  const env = heraldTestEnv(namespace, db.url, extra);
  return {
    namespace,
    db,
    env,
    async cleanup() {
      const nc = await connectTestNats();
      await deleteNamespaceStreams(nc, topology(namespace));
      await nc.close();
      await deleteRedisPrefix(`${namespace}:`);
      await db.drop();
      // `herald all` keeps dev credentials under HERALD_DATA_DIR.
      rmSync(env.HERALD_DATA_DIR ?? "", { recursive: true, force: true });
    },
  };
}

/** POSTs with the tenant's key; a `body` object is JSON-encoded, a string sent as it is. */
export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function get(base: string, path: string, key = TENANT_KEY): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

/** A notification's status as the gateway reports it to the tenant. */
export async function statusOf(base: string, id: string): Promise<string> {
  return ((await (await get(base, `/v1/notifications/${id}`)).json()) as { status: string }).status;
}
