// The contract both Node peers implement, kept in one place so Express and
// Fastify differ only in what the framework itself does (routing, body
// parsing, serialisation, error plumbing). Same order as Herald's hot path:
// key lookup in memory → zod → one Redis SET NX → JetStream
// publish awaiting the ack → 202.
import { createHash, randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
// ioredis rather than node-redis: @fastify/redis wraps ioredis, so it is what a
// Fastify team gets, and it is at least as common under Express. Its
// `enableAutoPipelining` batches commands issued in the same tick into one
// write, which is what Bun's client does for Herald, so neither side gets a
// pipelining advantage the other lacks.
import { Redis } from "ioredis";
import { IdempotencyKey, NotificationRequest } from "./dist/request.mjs";

const PENDING_TTL_MS = 30_000;
const COMPLETED_TTL_MS = 24 * 60 * 60 * 1000;
const PENDING_PREFIX = '{"state":"pending"';
// Atomic check-and-delete, as Herald's store does: a GET then DEL could drop a record completed in between.
const RELEASE_IF_PENDING_LUA = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** An error that renders as problem+json; both peers map it in their error handler. */
export class HttpError extends Error {
  constructor(status, title, detail, { errors, headers } = {}) {
    super(detail);
    this.status = status;
    this.title = title;
    this.errors = errors;
    this.headers = headers ?? {};
  }
}

/** RFC 9457 body shared by every error response (as Herald's). */
export function problemBody(status, title, detail, errors) {
  const body = { type: "about:blank", title, status, detail, requestId: randomUUID() };
  if (errors) body.errors = errors;
  return body;
}

/** Config read once at startup ; fails fast with the names of the missing keys. */
export function readConfig(env) {
  const missing = ["PORT", "NATS_URL", "REDIS_URL", "HERALD_NAMESPACE", "HERALD_API_KEYS"].filter((k) => !env[k]);
  if (missing.length > 0) throw new Error(`missing environment: ${missing.join(", ")}`);
  const keys = new Map();
  for (const pair of env.HERALD_API_KEYS.split(",")) {
    const [tenant, key] = pair.split(":");
    if (!tenant || !key) throw new Error(`HERALD_API_KEYS: bad entry "${pair}" (want tenant:key)`);
    keys.set(key, tenant);
  }
  return { port: Number(env.PORT), natsUrl: env.NATS_URL, redisUrl: env.REDIS_URL, namespace: env.HERALD_NAMESPACE, keys };
}

/**
 * RFC 9562 version 7 (48-bit ms timestamp, then random), as Herald's ids are.
 * Built on randomUUID, which draws from Node's pooled entropy cache instead
 * of a getRandomValues call per request.
 */
function uuidv7() {
  const ts = Date.now().toString(16).padStart(12, "0");
  return `${ts.slice(0, 8)}-${ts.slice(8)}-7${randomUUID().slice(15)}`;
}

/** Connects to NATS and Redis once; every request reuses both connections. */
export async function createCore(config) {
  // noAsyncTraces: without it nats.js builds an Error per request just to keep
  // a stack for a possible timeout. It is a documented one-line option Herald
  // uses too; leaving it off would hand Herald a win the framework did not earn.
  const nc = await connect({ servers: config.natsUrl, noAsyncTraces: true });
  const js = jetstream(nc);
  const redis = new Redis(config.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  const { namespace, keys } = config;

  function authenticate(header) {
    const tenant = header?.startsWith("Bearer ") ? keys.get(header.slice(7)) : undefined;
    if (!tenant) throw new HttpError(401, "Unauthorized", "a valid Bearer API key is required");
    return tenant;
  }

  function validate(body) {
    const parsed = NotificationRequest.safeParse(body);
    if (parsed.success) return parsed.data;
    const errors = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new HttpError(400, "Invalid request", "the body does not match the notification schema", { errors });
  }

  /** Returns a stored response to replay, or null once this request owns the key. */
  async function claim(redisKey, bodyHash) {
    const pending = JSON.stringify({ state: "pending", bodyHash });
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await redis.set(redisKey, pending, "PX", PENDING_TTL_MS, "NX")) === "OK") return null;
      const raw = await redis.get(redisKey);
      if (raw === null) continue; // expired or released in between: try to claim again
      const existing = JSON.parse(raw);
      if (existing.bodyHash !== bodyHash) {
        throw new HttpError(422, "Idempotency-Key reused", "this Idempotency-Key was used with a different body");
      }
      if (existing.state === "completed") return existing.response;
      break;
    }
    throw new HttpError(409, "Request in flight", "a request with this Idempotency-Key is still in flight", { headers: { "retry-after": "1" } });
  }

  /**
   * Accepts one notification: validated, deduped, published and acked.
   * Resolves to `{ status, body, replayed }` where `body` is an object for a
   * fresh 202 and the stored JSON text for a replay.
   */
  async function accept(authorization, body, idempotencyHeader) {
    const tenant = authenticate(authorization);
    const request = validate(body);
    let redisKey = null;
    let bodyHash = null;
    if (idempotencyHeader !== undefined) {
      const key = IdempotencyKey.safeParse(idempotencyHeader);
      if (!key.success) throw new HttpError(400, "Invalid Idempotency-Key", key.error.issues[0]?.message ?? "invalid");
      redisKey = `${namespace}:idem:${encodeURIComponent(tenant)}:${encodeURIComponent(key.data)}`;
      bodyHash = createHash("sha256").update(JSON.stringify(body)).digest("base64url");
      const stored = await claim(redisKey, bodyHash);
      if (stored) return { status: stored.status, body: stored.body, replayed: true };
    }

    const id = uuidv7();
    const acceptedAt = new Date().toISOString();
    const envelope = {
      v: 1,
      id,
      tenantId: tenant,
      userId: request.userId,
      channel: request.channel,
      type: request.type,
      priority: request.priority,
      payload: request.payload,
      metadata: request.metadata ?? null,
      idempotencyKey: idempotencyHeader ?? null,
      correlationId: null,
      scheduledFor: request.scheduledFor ?? null,
      acceptedAt,
    };
    try {
      await js.publish(`${namespace}.v1.send.${request.priority}.${request.channel}`, JSON.stringify(envelope), {
        msgID: `${tenant}:${idempotencyHeader ?? id}`,
      });
    } catch (err) {
      // A failed request stores nothing: free the key so the client's retry can claim it.
      if (redisKey) await redis.eval(RELEASE_IF_PENDING_LUA, 1, redisKey, PENDING_PREFIX).catch(() => undefined);
      throw new HttpError(503, "Service unavailable", `publish failed: ${err.message}`, { headers: { "retry-after": "1" } });
    }
    const response = { id, status: "accepted", acceptedAt };
    if (redisKey) {
      const completed = { state: "completed", bodyHash, response: { status: 202, body: JSON.stringify(response) } };
      await redis.set(redisKey, JSON.stringify(completed), "PX", COMPLETED_TTL_MS);
    }
    return { status: 202, body: response, replayed: false };
  }

  async function close() {
    await nc.drain();
    await redis.quit();
  }

  return { accept, close };
}
