/**
 * The metric catalogue: the contract between Herald's instrumentation and
 * everything that reads it (alerts, recording rules, dashboards, runbooks).
 *
 * The instrumentation registers exactly these names, types, help texts, label
 * names and buckets; `deploy/` may use nothing else (checked by
 * test/deploy.test.ts). Renaming a metric here therefore breaks the alerts
 * that use it at test time, not silently in production.
 *
 * Every label combination with a closed value set should be created at 0 when
 * the process starts (prom-client: `.labels(...).inc(0)`, `histogram.zero(...)`):
 * `increase()` cannot see the first increment of a series that appears at 1,
 * so the error alerts would miss the first errors.
 *
 * Labels are bounded on purpose: every label is either a closed value set or
 * a set bounded by the code (route patterns, registered providers). Tenant,
 * user, notification and request ids belong in logs and traces, never here —
 * one series per id would exhaust Prometheus.
 */
import { ATTEMPT_OUTCOMES, CHANNELS, PRIORITIES } from "./enums.ts";

/** A label whose values are listed, or bounded by the code in a way `boundedBy` names. */
export type LabelSpec = { readonly help: string; readonly values: readonly string[] } | { readonly help: string; readonly boundedBy: string };

export const METRIC_TYPES = ["counter", "gauge", "histogram"] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: Readonly<Record<string, LabelSpec>>;
  /** Upper bounds in seconds, ascending; histograms only. */
  readonly buckets?: readonly number[];
}

/**
 * The DB call sites the instrumentation times, one per store function (lib/db/notification-repository.ts:
 * claim, readStates, beginAttempts, writeOutcomes, markFailed; lib/db/schedules.ts;
 * lib/db/reads.ts; lib/db/usage.ts; readiness; migrations), so the set stays closed.
 */
export const DB_OPERATIONS = [
  "claim",
  "read_states",
  "begin_attempts",
  "write_outcomes",
  "mark_failed",
  "schedule",
  "release_schedules",
  "find_suppressions",
  "record_suppressions",
  "mark_suppressed",
  "resolve_recipients",
  "get_notification",
  "list_notifications",
  "list_attempts",
  "cancel_notification",
  "list_inbox",
  "mark_read",
  "apply_delivery_reports",
  "count_day",
  "readiness",
  "migrate",
] as const;

/** Why a notification ended `failed` (and went to the DLQ). */
export const FAILURE_REASONS = ["permanent_error", "attempts_exhausted", "invalid_message", "unstorable", "stalled", "idempotency_conflict"] as const;

/** A provider's circuit breaker (processor/failover.ts); the gauge's value is the index here. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export const BREAKER_STATE_VALUES = { closed: 0, open: 1, half_open: 2 } as const satisfies Record<(typeof BREAKER_STATES)[number], number>;

/** What `herald_jetstream_stream_replicas` counts: the copies a stream should have, and those current with its leader. */
export const STREAM_REPLICA_STATES = ["configured", "current"] as const;

/** Label specs shared by several metrics, so one label means the same thing everywhere. */
const L = {
  route: {
    help: "matched Hono route pattern (routePath), e.g. /v1/notifications/:id; `unmatched` when no route matched. Never the raw path.",
    boundedBy: "the routes registered in gateway/app.ts",
  },
  method: { help: "HTTP method", values: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"] },
  /** A client that went away before its answer is 499 (nginx's "client closed request"): a 4xx, never a 5xx alerts count. */
  statusClass: {
    help: "response status class; 499 (the client closed the connection or stalled past the idle timeout) is 4xx",
    values: ["1xx", "2xx", "3xx", "4xx", "5xx"],
  },
  lane: { help: "priority lane (one durable consumer each)", values: PRIORITIES },
  /** `invalid`: a message whose channel could not be decoded (it dead-letters to `<ns>.v1.dlq.invalid`). */
  channel: { help: "notification channel; `invalid` when the message could not be decoded", values: [...CHANNELS, "invalid"] },
  provider: {
    help: "provider name of the channel's sender (Sender.provider), e.g. webhook, sink",
    boundedBy: "the senders registered in processor/channels/index.ts",
  },
  stream: {
    help: "logical stream: work (HERALD), events (HERALD_EVENTS) or dlq (HERALD_DLQ), independent of HERALD_NAMESPACE",
    values: ["work", "events", "dlq"],
  },
  okOrError: { help: "ok, or error when the call threw or timed out", values: ["ok", "error"] },
  attemptOutcome: { help: "provider call outcome, as recorded in delivery_attempts.outcome", values: ATTEMPT_OUTCOMES },
  operation: { help: "which query shape ran", values: DB_OPERATIONS },
  reason: { help: "why the notification failed", values: FAILURE_REASONS },
} as const satisfies Record<string, LabelSpec>;

/** HTTP latency: 0.25 is a bound because the accept-latency alert thresholds p95 at 250 ms (exact, not interpolated). */
export const HTTP_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Backend round trips (JetStream publish ack, Postgres query): sub-millisecond on loopback, seconds when degraded. */
export const BACKEND_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
/** Provider calls: tens of ms to the webhook timeout (HERALD_WEBHOOK_TIMEOUT_MS, 10 s by default). */
export const PROVIDER_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
/** Accepted → sent, including retries with backoff (HERALD_RETRY_MAX_MS caps one wait at 5 min). */
export const END_TO_END_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

/** deploy/prometheus/prometheus.yml scrapes a lone processor here (HERALD_METRICS_PORT). */
export const DEFAULT_METRICS_PORT = 9464;

/** Every Herald metric. Keys are for code; `name` is what Prometheus sees. */
export const METRICS = {
  httpRequests: {
    name: "herald_http_requests_total",
    type: "counter",
    help: "HTTP requests answered by the gateway.",
    labels: { route: L.route, method: L.method, status_class: L.statusClass },
  },
  httpRequestDuration: {
    name: "herald_http_request_duration_seconds",
    type: "histogram",
    help: "Time from receiving an HTTP request to its response, in seconds.",
    labels: { route: L.route, method: L.method, status_class: L.statusClass },
    buckets: HTTP_BUCKETS_SECONDS,
  },
  httpInFlight: {
    name: "herald_http_in_flight_requests",
    type: "gauge",
    help: "HTTP requests the gateway is working on right now.",
    labels: {},
  },
  notificationsAccepted: {
    name: "herald_notifications_accepted_total",
    type: "counter",
    help: "Notifications accepted (202, published and acked by JetStream); replays are not counted again.",
    labels: { channel: L.channel, lane: L.lane },
  },
  notificationsSent: {
    name: "herald_notifications_sent_total",
    type: "counter",
    help: "Notifications a provider accepted (status sent).",
    labels: { channel: L.channel, lane: L.lane, provider: L.provider },
  },
  notificationsFailed: {
    name: "herald_notifications_failed_total",
    type: "counter",
    help: "Notifications that ended failed and were dead-lettered (retries in between are not failures).",
    labels: { channel: L.channel, lane: L.lane, reason: L.reason },
  },
  endToEnd: {
    name: "herald_notification_end_to_end_seconds",
    type: "histogram",
    help: "Time from acceptance (acceptedAt) to a provider accepting the notification, retries included, in seconds.",
    labels: { channel: L.channel, lane: L.lane },
    buckets: END_TO_END_BUCKETS_SECONDS,
  },
  consumerPending: {
    name: "herald_jetstream_consumer_pending",
    type: "gauge",
    help: "Messages in a lane not yet delivered to any processor (consumer num_pending).",
    labels: { lane: L.lane },
  },
  consumerAckPending: {
    name: "herald_jetstream_consumer_ack_pending",
    type: "gauge",
    help: "Messages of a lane delivered but not yet acked, naked or termed (consumer num_ack_pending); capped by HERALD_MAX_ACK_PENDING.",
    labels: { lane: L.lane },
  },
  consumerRedelivered: {
    name: "herald_jetstream_consumer_redelivered",
    type: "gauge",
    help: "Messages of a lane delivered more than once and still outstanding (consumer num_redelivered).",
    labels: { lane: L.lane },
  },
  consumerMaxAckPending: {
    name: "herald_jetstream_consumer_max_ack_pending",
    type: "gauge",
    help: "The lane consumer's max_ack_pending, so ack_pending can be read as a saturation ratio.",
    labels: { lane: L.lane },
  },
  publishDuration: {
    name: "herald_jetstream_publish_duration_seconds",
    type: "histogram",
    help: "Time from a JetStream publish to its ack (or its error), in seconds.",
    labels: { stream: L.stream, outcome: L.okOrError },
    buckets: BACKEND_BUCKETS_SECONDS,
  },
  providerRequestDuration: {
    name: "herald_provider_request_duration_seconds",
    type: "histogram",
    help: "Duration of one provider call (one delivery attempt), in seconds.",
    labels: { provider: L.provider, channel: L.channel, outcome: L.attemptOutcome },
    buckets: PROVIDER_BUCKETS_SECONDS,
  },
  providerBreakerState: {
    name: "herald_provider_breaker_state",
    type: "gauge",
    help: "A provider's circuit breaker in this processor: 0 closed, 1 open (skipped; the channel's next provider takes its messages), 2 half-open (one trial call out).",
    labels: { channel: L.channel, provider: L.provider },
  },
  notificationsUndelivered: {
    name: "herald_notifications_undelivered_total",
    type: "counter",
    help: "Notifications the processor ended without a delivery and without a dead letter: bounced (the provider said the address can never receive) or suppressed (the address was already known bad for the tenant).",
    labels: { channel: L.channel, lane: L.lane, status: { help: "the status it ended in", values: ["bounced", "suppressed"] } },
  },
  providerWaits: {
    name: "herald_provider_waits_total",
    type: "counter",
    help: "Notifications deferred to the scheduler, no attempt begun, because every provider that takes them had an open breaker.",
    labels: { channel: L.channel },
  },
  idempotencyReplays: {
    name: "herald_idempotency_replays_total",
    type: "counter",
    help: "Requests answered from the idempotency store with the first response (Idempotency-Replayed: true).",
    labels: { route: L.route },
  },
  rateLimited: {
    name: "herald_rate_limited_total",
    type: "counter",
    help: "Requests refused with 429 because the tenant's rate limit (HERALD_RATE_LIMIT) was used up.",
    labels: { route: L.route },
  },
  dailyCapRefused: {
    name: "herald_daily_cap_refused_total",
    type: "counter",
    help: "Notifications refused (429 daily_cap) because the tenant's spend cap for the channel and UTC day was reached (HERALD_DAILY_CAPS or the tenant's own).",
    labels: { channel: { help: "the capped channel", values: CHANNELS } },
  },
  scheduleReleased: {
    name: "herald_scheduler_released_total",
    type: "counter",
    help: "Scheduled notifications the scheduler handed back to their lanes when they came due.",
    labels: {},
  },
  scheduleLag: {
    name: "herald_scheduler_release_lag_seconds",
    type: "histogram",
    help: "How late a release was: from the latest due time among the notifications it released to their publish being acked, in seconds.",
    labels: {},
    buckets: BACKEND_BUCKETS_SECONDS,
  },
  dbQueryDuration: {
    name: "herald_db_query_duration_seconds",
    type: "histogram",
    help: "Duration of one Postgres query or batch statement, in seconds.",
    labels: { operation: L.operation, outcome: L.okOrError },
    buckets: BACKEND_BUCKETS_SECONDS,
  },
  dbPoolMax: {
    name: "herald_db_pool_max_connections",
    type: "gauge",
    help: "Connections this process's Postgres pool may open.",
    labels: {},
  },
  dbPoolActive: {
    name: "herald_db_pool_active_connections",
    type: "gauge",
    help: "Pool connections running a query now (queries in flight, capped at the pool size).",
    labels: {},
  },
  dbPoolWaiting: {
    name: "herald_db_pool_waiting_queries",
    type: "gauge",
    help: "Queries waiting for a free pool connection (queries in flight beyond the pool size).",
    labels: {},
  },
  retentionRemoved: {
    name: "herald_retention_removed_total",
    type: "counter",
    help: "Rows the retention pass removed (lib/db/retention.ts): with their month partition (dropped) or in batches (deleted).",
    labels: {
      table: { help: "the table the rows were in", values: ["notifications", "delivery_attempts"] },
      how: { help: "dropped with their month, or deleted in batches", values: ["dropped", "deleted"] },
    },
  },
  dlqMessages: {
    name: "herald_dlq_messages",
    type: "gauge",
    help: "Dead letters held in the DLQ stream, per channel subject (kept HERALD_DLQ_MAX_AGE_DAYS days).",
    labels: { channel: L.channel },
  },
  streamReplicas: {
    name: "herald_jetstream_stream_replicas",
    type: "gauge",
    help: "A stream's copies as its stream info reports them: configured (num_replicas), and current (the leader plus the followers it reports current; 0 while the stream has no leader). Dropped while stream info cannot be read.",
    labels: {
      stream: L.stream,
      state: { help: "configured, or current with the leader", values: STREAM_REPLICA_STATES },
    },
  },
  natsConnected: {
    name: "herald_nats_connected",
    type: "gauge",
    help: "Whether this process's NATS connection is up: 1, or 0 from a disconnect until the client reconnects.",
    labels: {},
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;
export type MetricName = (typeof METRICS)[MetricKey]["name"];
/** The label names of one metric, e.g. `LabelName<"httpRequests">` = "route" | "method" | "status_class". */
export type LabelName<K extends MetricKey> = keyof (typeof METRICS)[K]["labels"] & string;

/** Every catalogue name, for code and tests that must not spell names by hand. */
export const METRIC_NAMES: readonly MetricName[] = Object.values(METRICS).map((m) => m.name);

/** A metric's label names in declaration order: what prom-client's `labelNames` takes. */
export function labelNames<K extends MetricKey>(key: K): LabelName<K>[] {
  return Object.keys(METRICS[key].labels) as LabelName<K>[];
}

/**
 * prom-client's default process metrics that deploy/ relies on. Checked present
 * under Bun 1.4.5 with prom-client 15.1.3 `collectDefaultMetrics()`.
 */
export const DEFAULT_PROCESS_METRICS = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "process_start_time_seconds",
  "process_open_fds",
  "process_max_fds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_heap_size_used_bytes",
] as const;

/** Label names that would be unbounded (one series per entity); none may appear in the catalogue. */
export const FORBIDDEN_LABELS = [
  "id",
  "user_id",
  "userid",
  "notification_id",
  "notificationid",
  "tenant",
  "tenant_id",
  "tenantid",
  "request_id",
  "requestid",
  "correlation_id",
  "trace_id",
  "idempotency_key",
  "path",
  "url",
  "to",
  "recipient",
  "error",
] as const;
