import { connectTestNats, createTestDatabase, deleteNamespaceStreams, deleteRedisPrefix, SERVICES, testNamespace, topology, type TestDatabase } from "./services.ts";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { DEFAULT_STREAM_OPTIONS } from "../../schemas/subjects.ts";
import { TEST_WEBHOOK_SECRET } from "./webhook-receiver.ts";

export const TENANT_KEY = "key-acme-0123456789";
export const OTHER_KEY = "key-beta-0123456789";

/** One isolated environment on the real services: own database, namespace and Redis prefix. */
export interface Stack {
  namespace: string;
  db: TestDatabase;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * A migrated database and the namespace's streams, as `herald migrate` leaves
 * them (a gateway or processor refuses to start without); `extra` may set the
 * stream options, e.g. a short HERALD_ACK_WAIT_MS.
 */
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
  const env: Record<string, string> = {
    HERALD_API_KEYS: `acme:${TENANT_KEY},beta:${OTHER_KEY}`,
    HERALD_ADMIN_KEYS: "ops:admin-key-0123456789",
    HERALD_NAMESPACE: namespace,
    HERALD_WEBHOOK_ALLOW_PRIVATE: "1",
    HERALD_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    DATABASE_URL: db.url,
    REDIS_URL: SERVICES.redis,
    NATS_URL: SERVICES.nats,
    HERALD_RETRY_BASE_MS: "50",
    HERALD_DATA_DIR: `/tmp/herald-test-${namespace}`,
    ...extra,
  };
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
    },
  };
}

/** POSTs JSON with the tenant's key. */
export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export function get(base: string, path: string, key = TENANT_KEY): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

/** Polls until `check` returns a value or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(everyMs);
  }
}
