import type { Channel } from "../../schemas/enums.ts";
import type { AcceptedView } from "../../schemas/views.ts";
/**
 * The gateway's only shared state: idempotency records (the first of the dedupe layers) and
 * a short-lived copy of what was just accepted, so a GET right after the 202
 * answers before the processor has written the row (read-your-writes).
 * Three adapters implement it: Redis over TCP, Upstash REST, and in-memory.
 */
export interface GatewayStore {
  readonly kind: "redis" | "upstash" | "memory";

  /**
   * Claims `(tenant, key)` for a request whose body hashes to `bodyHash`.
   * Atomic (`SET NX`): of two concurrent claims exactly one is `claimed`.
   * A claim left pending (a crashed gateway) expires after `pendingTtlMs`.
   */
  claim(tenant: string, key: string, bodyHash: string, pendingTtlMs: number): Promise<ClaimResult>;

  /** Stores the response for replay, for `ttlMs` (24 h by default). */
  complete(tenant: string, key: string, bodyHash: string, response: StoredResponse, ttlMs: number): Promise<void>;

  /** Drops a pending claim after a failed publish, so the client can retry with the same key. */
  release(tenant: string, key: string): Promise<void>;

  /** Remembers accepted notifications (read-your-writes), each for `ttlMs`; one round trip for many. */
  remember(tenant: string, views: readonly AcceptedView[], ttlMs: number): Promise<void>;

  /** The remembered view of an accepted notification, or null. */
  recall(tenant: string, id: string): Promise<AcceptedView | null>;

  /**
   * Takes `cost` tokens from the tenant's bucket shared by every gateway on
   * this store, atomically, on the store's clock. Left out by the in-memory
   * store, whose limiter is the gateway's own.
   */
  takeTokens?(tenant: string, perSecond: number, burst: number, cost: number): Promise<TokenAdmission>;

  /**
   * Adds up to `wanted` to a day's counter, never past `cap`, atomically for
   * every gateway on this store, and says how many it added. A counter the
   * store does not hold (a new day, a flushed Redis, a restarted instance)
   * starts from `seed`; without one the answer is `unseeded` and nothing changed.
   */
  takeDaily(counter: DayCounter, wanted: number, cap: number, seed?: number): Promise<DailyTake>;

  /** Takes `n` back off a day's counter (their publish failed); nothing when the store no longer holds it. */
  giveBackDaily(counter: DayCounter, n: number): Promise<void>;

  /** Round trip to the backing store, for /health/ready. */
  ping(): Promise<void>;

  close(): Promise<void>;
}

/** What a bucket said: 0 ms to wait when admitted, and the tokens left (negative when a large request left it in debt). */
export interface TokenAdmission {
  waitMs: number;
  remaining: number;
}

/** A tenant's count of notifications on one channel in one UTC day (a spend cap's counter). */
export interface DayCounter {
  tenant: string;
  channel: Channel;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  /** How long the store keeps it once created: past the day's end, so a late give-back still finds it. */
  ttlMs: number;
}

/** What `takeDaily` did: added `granted` (0 at the cap), leaving the count at `used`; or nothing, for want of a seed. */
export type DailyTake = { kind: "taken"; granted: number; used: number } | { kind: "unseeded" };

export type ClaimResult = { kind: "claimed" } | { kind: "in_flight" } | { kind: "replay"; response: StoredResponse } | { kind: "mismatch" };

/** A response to replay byte for byte. */
export interface StoredResponse {
  status: number;
  body: string;
}
