import type { ClaimResult, DailyTake, DayCounter, GatewayStore, StoredResponse, TokenAdmission } from "./types.ts";
import type { AcceptedView } from "../../schemas/views.ts";

/**
 * The one encoding of store records shared by every adapter, so a record
 * written through Redis can be read back through Upstash (same server) and
 * the claim rules live in exactly one place.
 */
export type IdempotencyRecord = { state: "pending"; bodyHash: string } | { state: "completed"; bodyHash: string; response: StoredResponse };

/** Key of an idempotency record; each part is URI-encoded so a ':' inside a tenant or key cannot collide. */
export function idempotencyKey(prefix: string, tenant: string, key: string): string {
  return `${prefix}idem:${encodeURIComponent(tenant)}:${encodeURIComponent(key)}`;
}

/** Key of a tenant's shared rate-limit bucket. */
export function bucketKey(prefix: string, tenant: string): string {
  return `${prefix}rate:${encodeURIComponent(tenant)}`;
}

/**
 * A token bucket in one script, so of two gateways taking at once each sees
 * the other's take: refill by the elapsed time on Redis's own clock (gateways'
 * clocks never meet), then take `cost` when at least min(cost, burst) is
 * there (a request larger than the bucket is admitted once it is full and
 * leaves it in debt). Returns {wait ms, tokens left, rounded down}. The key
 * expires once a full bucket would have refilled.
 * ARGV: tokens per ms, burst, cost.
 */
export const TOKEN_BUCKET_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then tokens = burst at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local needed = math.min(cost, burst)
local wait = 0
if tokens >= needed then tokens = tokens - cost else wait = math.ceil((needed - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {wait, math.floor(tokens)}`;

/** The SHA-1 Redis names a script by (EVALSHA). */
function scriptSha(script: string): Promise<string> {
  return crypto.subtle
    .digest("SHA-1", new TextEncoder().encode(script))
    .then((d) => [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join(""));
}

const bucketSha = scriptSha(TOKEN_BUCKET_LUA);

/** The script's arguments for a policy: the rate per millisecond, the burst and the cost. */
export function bucketArgs(perSecond: number, burst: number, cost: number): string[] {
  return [String(perSecond / 1000), String(burst), String(cost)];
}

/** The script's reply, `[wait, remaining]`, as an admission; anything else counts as admitted with nothing known left. */
export function decodeAdmission(reply: unknown): TokenAdmission {
  if (!Array.isArray(reply)) return { waitMs: 0, remaining: 0 };
  return { waitMs: Number(reply[0]) || 0, remaining: Number(reply[1]) || 0 };
}

/** Key of a spend cap's counter: one per tenant, channel and UTC day. */
export function dailyKey(prefix: string, counter: DayCounter): string {
  return `${prefix}cap:${encodeURIComponent(counter.tenant)}:${counter.channel}:${counter.day}`;
}

/**
 * A day's counter in one script, so of two gateways taking at once neither
 * passes the cap: when the key is missing it is created from the seed
 * (ARGV[4]) or, without one, nothing happens and -1 says so; then up to the
 * wanted number is added, never past the cap. Returns {added, count after},
 * {0, count} at the cap. ARGV: wanted, cap, TTL in ms, seed or ''.
 */
export const DAILY_TAKE_LUA = `local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[4] == '' then return {-1, 0} end
  v = ARGV[4]
  redis.call('SET', KEYS[1], v, 'PX', ARGV[3])
end
local used = tonumber(v)
local granted = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if granted <= 0 then return {0, used} end
return {granted, redis.call('INCRBY', KEYS[1], granted)}`;

/** Subtracts ARGV[1] from KEYS[1] only while it exists: a counter recreated from a seed never goes below what Postgres holds. */
export const DAILY_GIVE_BACK_LUA = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('DECRBY', KEYS[1], ARGV[1])`;

const dailyTakeSha = scriptSha(DAILY_TAKE_LUA);

/** `DAILY_TAKE_LUA`'s arguments. */
export function dailyTakeArgs(counter: DayCounter, wanted: number, cap: number, seed?: number): string[] {
  return [String(wanted), String(cap), String(Math.max(1, Math.ceil(counter.ttlMs))), seed === undefined ? "" : String(seed)];
}

/** The script's reply as a take; anything else throws, since a cap that guesses would bound nothing. */
export function decodeDailyTake(reply: unknown): DailyTake {
  const [granted, used] = Array.isArray(reply) ? reply.map(Number) : [];
  if (granted === undefined || used === undefined || Number.isNaN(granted) || Number.isNaN(used)) {
    throw new Error(`unexpected reply from the daily counter script: ${JSON.stringify(reply)}`);
  }
  return granted < 0 ? { kind: "unseeded" } : { kind: "taken", granted, used };
}

/** Key of a remembered accepted view. */
export function acceptedKey(prefix: string, tenant: string, id: string): string {
  return `${prefix}acc:${encodeURIComponent(tenant)}:${encodeURIComponent(id)}`;
}

export function encodePending(bodyHash: string): string {
  return JSON.stringify({ state: "pending", bodyHash } satisfies IdempotencyRecord);
}

export function encodeCompleted(bodyHash: string, response: StoredResponse): string {
  const record: IdempotencyRecord = { state: "completed", bodyHash, response: { status: response.status, body: response.body } };
  return JSON.stringify(record);
}

/**
 * Decodes a stored record; anything unreadable counts as absent rather than
 * throwing, so a corrupted or foreign value cannot wedge a key forever
 * (it still expires with its TTL).
 */
export function decodeRecord(raw: string | null | undefined): IdempotencyRecord | null {
  if (raw == null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.bodyHash !== "string") return null;
  if (v.state === "pending") return { state: "pending", bodyHash: v.bodyHash };
  const r = v.response as Record<string, unknown> | undefined;
  if (v.state === "completed" && r && typeof r.status === "number" && typeof r.body === "string") {
    return { state: "completed", bodyHash: v.bodyHash, response: { status: r.status, body: r.body } };
  }
  return null;
}

/**
 * Classifies a claim that lost the `SET NX` race against the record already
 * there. A different body wins over "in flight": the client reused a key for
 * another request, which retrying will never fix (422, not 409).
 */
export function classifyExisting(existing: IdempotencyRecord, bodyHash: string): Exclude<ClaimResult, { kind: "claimed" }> {
  if (existing.bodyHash !== bodyHash) return { kind: "mismatch" };
  switch (existing.state) {
    case "pending":
      return { kind: "in_flight" };
    case "completed":
      return { kind: "replay", response: existing.response };
    default: {
      const unreachable: never = existing;
      throw new Error(`unknown record ${JSON.stringify(unreachable)}`);
    }
  }
}

export function encodeView(view: AcceptedView): string {
  return JSON.stringify(view);
}

/** Views are only ever written by `remember`, so a parse failure means corruption: treat it as absent. */
export function decodeView(raw: string | null | undefined): AcceptedView | null {
  if (raw == null) return null;
  try {
    return JSON.parse(raw) as AcceptedView;
  } catch {
    return null;
  }
}

/** The two primitives an adapter must supply for `claim`; the retry and classification are shared. */
export interface ClaimOps {
  /** `SET key pending NX PX ttl`; true when this call created the record. */
  setIfAbsent(value: string): Promise<boolean>;
  /** `GET key`. */
  get(): Promise<string | null>;
}

/**
 * Runs the claim protocol: try `SET NX`; on failure read what is there and
 * classify it. The read can find nothing when the other record expired or was
 * released in between, so the claim is retried a few times; a value that
 * cannot be decoded is reported as in flight (409, safe to retry) until its TTL ends.
 */
export async function runClaim(ops: ClaimOps, bodyHash: string): Promise<ClaimResult> {
  const pending = encodePending(bodyHash);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await ops.setIfAbsent(pending)) return { kind: "claimed" };
    const raw = await ops.get();
    if (raw === null) continue;
    const existing = decodeRecord(raw);
    return existing ? classifyExisting(existing, bodyHash) : { kind: "in_flight" };
  }
  return { kind: "in_flight" };
}

/**
 * Deletes KEYS[1] only while it still holds a pending claim. Checking the
 * encoded prefix instead of decoding keeps the script tiny; `encodePending`
 * always starts with exactly this text and a completed record never does.
 */
export const RELEASE_IF_PENDING_LUA = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** ARGV[1] of `RELEASE_IF_PENDING_LUA`. */
export const PENDING_PREFIX = '{"state":"pending"';

/** One Redis command, its arguments as strings, its reply as the client returns it. */
export type RedisSend = (command: string, args: string[]) => Promise<unknown>;

/** Runs a script by its SHA: its text is sent (and hashed by Redis) only when Redis does not hold it yet. */
async function evalBySha(send: RedisSend, script: string, sha: Promise<string>, keysAndArgs: string[]): Promise<unknown> {
  try {
    return await send("EVALSHA", [await sha, ...keysAndArgs]);
  } catch (err) {
    if (!String(err instanceof Error ? err.message : err).includes("NOSCRIPT")) throw err;
    return send("EVAL", [script, ...keysAndArgs]);
  }
}

/**
 * The store's operations as Redis commands, for any client that can send a
 * command (Bun's, ioredis); the adapter owns the connection and `close`.
 */
export function redisCommandStore(prefix: string, send: RedisSend): Omit<GatewayStore, "kind" | "close"> {
  return {
    claim(tenant, key, bodyHash, pendingTtlMs) {
      const k = idempotencyKey(prefix, tenant, key);
      return runClaim(
        {
          setIfAbsent: async (value) => (await send("SET", [k, value, "NX", "PX", String(pendingTtlMs)])) !== null,
          get: async () => (await send("GET", [k])) as string | null,
        },
        bodyHash,
      );
    },

    async complete(tenant, key, bodyHash, response, ttlMs) {
      await send("SET", [idempotencyKey(prefix, tenant, key), encodeCompleted(bodyHash, response), "PX", String(ttlMs)]);
    },

    async release(tenant, key) {
      // Atomic check-and-delete: a GET then DEL could delete a record completed in between.
      await send("EVAL", [RELEASE_IF_PENDING_LUA, "1", idempotencyKey(prefix, tenant, key), PENDING_PREFIX]);
    },

    async remember(tenant, views, ttlMs) {
      // MSET cannot carry a TTL; issuing every SET before awaiting any lets the client send them as one pipeline.
      const px = String(ttlMs);
      await Promise.all(views.map((view) => send("SET", [acceptedKey(prefix, tenant, view.id), encodeView(view), "PX", px])));
    },

    async recall(tenant, id) {
      return decodeView((await send("GET", [acceptedKey(prefix, tenant, id)])) as string | null);
    },

    async takeTokens(tenant, perSecond, burst, cost) {
      const args = ["1", bucketKey(prefix, tenant), ...bucketArgs(perSecond, burst, cost)];
      return decodeAdmission(await evalBySha(send, TOKEN_BUCKET_LUA, bucketSha, args));
    },

    async takeDaily(counter, wanted, cap, seed) {
      const args = ["1", dailyKey(prefix, counter), ...dailyTakeArgs(counter, wanted, cap, seed)];
      return decodeDailyTake(await evalBySha(send, DAILY_TAKE_LUA, dailyTakeSha, args));
    },

    async giveBackDaily(counter, n) {
      // Off the hot path (a failed publish): the script's text every time is fine.
      await send("EVAL", [DAILY_GIVE_BACK_LUA, "1", dailyKey(prefix, counter), String(n)]);
    },

    async ping() {
      await send("PING", []);
    },
  };
}
