/**
 * What gateway/ and processor/ call to record a metric: a small typed interface
 * with no runtime dependency (no prom-client import), so the web-standard
 * gateway can take it through its deps and tests can leave it out. The
 * prom-client implementation is `createMetrics()` in ./metrics.ts; the default
 * is `NOOP_METRICS`.
 *
 * Label values are typed from the catalogue's closed sets (schemas/enums.ts,
 * schemas/metrics.ts), so a misspelt lane or operation fails to compile.
 */
import type { AttemptOutcome, Channel, Priority } from "../../schemas/enums.ts";
import type { BREAKER_STATES, DB_OPERATIONS, FAILURE_REASONS, STREAM_REPLICA_STATES } from "../../schemas/metrics.ts";

export type DbOperation = (typeof DB_OPERATIONS)[number];
export type FailureReason = (typeof FAILURE_REASONS)[number];
export type BreakerState = (typeof BREAKER_STATES)[number];
/** `invalid`: a message whose channel could not be decoded. */
export type MetricChannel = Channel | "invalid";
export type StreamKind = "work" | "events" | "dlq";
export type CallOutcome = "ok" | "error";

export type StreamReplicaState = (typeof STREAM_REPLICA_STATES)[number];

/** One lane consumer's counters as JetStream reports them (consumer info). */
export interface ConsumerStats {
  pending: number;
  ackPending: number;
  redelivered: number;
  maxAckPending: number;
}

export interface MetricsRecorder {
  /** One answered request. `route` is Hono's matched pattern (`c.req.routePath`), never the raw path. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** +1 when a request starts, -1 when its response is done. */
  httpInFlight(delta: 1 | -1): void;
  /** Notifications published and acked (a batch passes its count); not replays. */
  accepted(channel: Channel, lane: Priority, n?: number): void;
  idempotencyReplay(route: string): void;
  /** A request refused with 429 by the tenant's rate limit. */
  rateLimited(route: string): void;
  /** Notifications refused (429) because the tenant's daily cap on the channel was reached. */
  dailyCapRefused(channel: Channel, n: number): void;
  publishDuration(stream: StreamKind, outcome: CallOutcome, seconds: number): void;
  sent(channel: Channel, lane: Priority, provider: string): void;
  failed(channel: MetricChannel, lane: Priority, reason: FailureReason): void;
  /** acceptedAt → provider accepted, retries included. */
  endToEnd(channel: Channel, lane: Priority, seconds: number): void;
  /** A scheduler release: how many notifications, and how late after the latest due time. */
  scheduleReleased(count: number, lagSeconds: number): void;
  providerRequest(provider: string, channel: Channel, outcome: AttemptOutcome, seconds: number): void;
  /** A provider's circuit breaker changed state (and its state at start). */
  breakerState(channel: Channel, provider: string, state: BreakerState): void;
  /** A notification ended without a delivery or a dead letter: bounced by its provider, or suppressed before a send. */
  undelivered(channel: Channel, lane: Priority, status: "bounced" | "suppressed"): void;
  /** A notification deferred, no attempt begun, because every provider that takes it had an open breaker. */
  providerWait(channel: Channel): void;
  dbQuery(operation: DbOperation, outcome: CallOutcome, seconds: number): void;
  /** Queries in flight right now, counted by `timeQuery`; read as pool active / waiting. */
  dbInFlight(delta: 1 | -1): void;
  dbPoolMax(connections: number): void;
  consumer(lane: Priority, stats: ConsumerStats): void;
  dlqMessages(channel: MetricChannel, messages: number): void;
  /** A stream's copies, configured and current with its leader; `undefined` when its stream info could not be read. */
  streamReplicas(stream: StreamKind, replicas: Record<StreamReplicaState, number> | undefined): void;
  /** This process's NATS connection went up or down. */
  natsConnected(up: boolean): void;
  /** Rows a retention pass removed from a table: with their month partition, or in batches. */
  retentionRemoved(table: "notifications" | "delivery_attempts", how: "dropped" | "deleted", rows: number): void;
}

const noop = (): void => {};

/** Records nothing: the default when no metrics are wired (tests, embedders). */
export const NOOP_METRICS: MetricsRecorder = {
  httpRequest: noop,
  httpInFlight: noop,
  accepted: noop,
  idempotencyReplay: noop,
  rateLimited: noop,
  dailyCapRefused: noop,
  publishDuration: noop,
  sent: noop,
  failed: noop,
  endToEnd: noop,
  scheduleReleased: noop,
  providerRequest: noop,
  breakerState: noop,
  providerWait: noop,
  undelivered: noop,
  dbQuery: noop,
  dbInFlight: noop,
  dbPoolMax: noop,
  consumer: noop,
  dlqMessages: noop,
  streamReplicas: noop,
  natsConnected: noop,
  retentionRemoved: noop,
};

/** Seconds since a `performance.now()` reading. */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}

/**
 * Runs one Postgres call, recording its duration, outcome and the in-flight
 * count the pool gauges are derived from. Rethrows the call's error.
 */
export async function timeQuery<T>(metrics: MetricsRecorder, operation: DbOperation, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  metrics.dbInFlight(1);
  try {
    const result = await run();
    metrics.dbQuery(operation, "ok", secondsSince(started));
    return result;
  } catch (err) {
    metrics.dbQuery(operation, "error", secondsSince(started));
    throw err;
  } finally {
    metrics.dbInFlight(-1);
  }
}

/** Runs one JetStream publish (until its ack or error), recording its duration and outcome. */
export async function timePublish<T>(metrics: MetricsRecorder, stream: StreamKind, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await run();
    metrics.publishDuration(stream, "ok", secondsSince(started));
    return result;
  } catch (err) {
    metrics.publishDuration(stream, "error", secondsSince(started));
    throw err;
  }
}
