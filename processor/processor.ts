import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createAckPublisher, type AckPublisher } from "../lib/nats/ack-publisher.ts";
import { createInboxFeedPublisher } from "../lib/nats/inbox-feed.ts";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { NOOP_ERROR_REPORTER, type ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import type { Database, Sql } from "../schemas/database.ts";
import { PRIORITIES, type Channel, type Priority } from "../schemas/enums.ts";
import type { Topology } from "../schemas/subjects.ts";
import type { Sender } from "./channels/types.ts";
import type { LaneContext } from "./context.ts";
import { runLane } from "./lane.ts";
import { retryPolicies, type RetryPolicy } from "./outcome.ts";
import { createScheduler, type Scheduler } from "./scheduler.ts";
import { createMaintenance, type Maintenance } from "./maintenance.ts";
import { createLimiter, type Limiter } from "./limiter.ts";
import { createRoutes, type BreakerOptions } from "./failover.ts";
import type { Resolver } from "./resolver-types.ts";
import { createStatusWebhooks, type StatusWebhookOptions, type StatusWebhooks } from "./status-webhooks/status-webhooks.ts";

/** How long a batch waits for the streams to ack its events, dead letters and releases (the JetStream client's default). */
const PUBLISH_ACK_TIMEOUT_MS = 5000;

/** Notifications the scheduler releases per transaction. */
const SCHEDULER_BATCH = 1000;

/** Release transactions in flight at once: most of a release is waiting on Postgres and the stream. */
const SCHEDULER_CONCURRENCY = 4;

/** Batches a lane may work at once; JetStream's max_ack_pending bounds the total across instances. */
const LANE_IN_FLIGHT_BATCHES = 4;

export interface ProcessorOptions {
  /** Messages pulled per lane per batch. */
  batchSize: number;
  /** In-flight sends per channel, shared by all lanes. */
  channelConcurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Channels with attempts or backoff of their own (HERALD_RETRY_POLICIES); the rest use the three above. */
  retryPolicies?: ReadonlyMap<Channel, Partial<RetryPolicy>>;
  /** Deliveries of one message without a new attempt before it is failed as stalled. */
  stallLimit: number;
  /** Each email, SMS and push provider's circuit breaker; default: open after 5 failures in a row, a trial after 30 s. */
  breaker?: BreakerOptions;
  /** How often the scheduler looks for due notifications. */
  schedulerPollMs: number;
  /** HERALD_RETENTION_DAYS. */
  retentionDays?: number;
  /** How often a retention pass runs; 0 or absent: never (partitions are still kept ahead when `session` is given). */
  retentionEveryMs?: number;
}

export interface ProcessorDeps {
  nc: NatsConnection;
  /** The database for the scheduler's transactions. */
  db: Database;
  /** The same database for the batch statements, prepared once per connection. */
  sql: Sql;
  topology: Topology;
  /** Each channel's provider, or its providers in the order they are tried (HERALD_EMAIL_PROVIDERS, …). */
  senders: Record<Channel, Sender | readonly Sender[]>;
  logger: Logger;
  options: ProcessorOptions;
  /** Counters and timings (lib/telemetry's registry); default: nowhere. */
  metrics?: MetricsRecorder;
  /** Spans continuing the gateway's trace from the message headers; none when left out. */
  tracer?: Tracer;
  /** Where unexpected errors (a batch that threw, a lane loop that crashed) are reported (SENTRY_DSN); default: nowhere. */
  errorReporter?: ErrorReporter;
  /** Recipients, templates and preferences (processor/resolver.ts); none: explicit sends only, no quiet hours. */
  resolver?: Resolver;
  /** One connection of its own per call (lib/db/connect.ts): the month partitions ahead and the retention passes; none: neither runs here. */
  session?: <T>(fn: (sql: Sql) => Promise<T>) => Promise<T>;
  /** Tenants' status webhooks (processor/status-webhooks/); none: not sent from here. */
  statusWebhooks?: StatusWebhookOptions;
}

export type LaneStats = Record<Priority, { pending: number; ackPending: number }>;

export interface Processor {
  /** Binds the lane durables (created by `ensureStreams`) and starts one loop per lane. */
  start(): Promise<void>;
  /** Graceful drain: stop pulling, finish in-flight sends, persist, settle, flush; then resolve. */
  stop(): Promise<void>;
  /** Backlog (not yet delivered) and in-flight (delivered, unacked) per lane. */
  lanes(): Promise<LaneStats>;
}

/** Open after five provider-caused failures in a row; let one trial call through after 30 s. */
export const DEFAULT_BREAKER: BreakerOptions = { failures: 5, halfOpenMs: 30_000 };

/** Every channel's providers as a list. */
export function providerChains(senders: Record<Channel, Sender | readonly Sender[]>): Record<Channel, readonly Sender[]> {
  const list = (s: Sender | readonly Sender[]): readonly Sender[] => ("send" in s ? [s] : s);
  return { email: list(senders.email), sms: list(senders.sms), push: list(senders.push), webhook: list(senders.webhook), in_app: list(senders.in_app) };
}

/**
 * The stream processor. Every instance binds the same durable consumers, so
 * instances form a consumer group; each lane has its own loop so a backlog in
 * one never delays another.
 */
export function createProcessor(deps: ProcessorDeps): Processor {
  const { nc, db, sql, topology: topo, senders, options } = deps;
  const log = deps.logger.child({ component: "processor" });
  const metrics = deps.metrics ?? NOOP_METRICS;
  const js = jetstream(nc);
  const limit = options.channelConcurrency;
  // Spelled out, not mapped: a channel missing here fails to compile.
  const limiters: Record<Channel, Limiter> = {
    email: createLimiter(limit),
    sms: createLimiter(limit),
    push: createLimiter(limit),
    webhook: createLimiter(limit),
    in_app: createLimiter(limit),
  };
  const routes = createRoutes(providerChains(senders), {
    breaker: options.breaker ?? DEFAULT_BREAKER,
    onStateChange(channel, provider, state) {
      metrics.breakerState(channel, provider, state);
      const line = { channel, provider, state };
      if (state === "open") log.warn(line, "circuit breaker opened: the provider is skipped until a trial call succeeds");
      else log.info(line, `circuit breaker ${state === "closed" ? "closed" : "half-open"}`);
    },
  });
  for (const b of routes.states()) metrics.breakerState(b.channel, b.provider, b.state);
  const retries = retryPolicies({ maxAttempts: options.maxAttempts, retryBaseMs: options.retryBaseMs, retryMaxMs: options.retryMaxMs }, options.retryPolicies);
  const abort = new AbortController();
  const busy = new Set<string>();
  let stopping = false;
  let loops: Promise<void>[] = [];
  let publisher: AckPublisher | undefined;
  let scheduler: Scheduler | undefined;
  let maintenance: Maintenance | undefined;
  let statusWebhooks: StatusWebhooks | undefined;

  // Wrapped in an object: returning the loop's promise from an async function would await it.
  const startLane = async (priority: Priority, publisher: AckPublisher): Promise<{ loop: Promise<void> }> => {
    const consumer = await js.consumers.get(topo.streams.work, topo.laneConsumer(priority));
    const info = await consumer.info(true);
    const hold = { log: log.child({ lane: priority }), stopping: () => stopping };
    const ctx: LaneContext = {
      priority,
      sql,
      db,
      publisher,
      topo,
      routes,
      ...(deps.resolver ? { resolver: deps.resolver } : {}),
      limiters,
      retries,
      stallLimit: options.stallLimit,
      log,
      metrics,
      tracer: deps.tracer,
      errors: deps.errorReporter ?? NOOP_ERROR_REPORTER,
      signal: abort.signal,
      busy,
      hold,
      inboxFeed: createInboxFeedPublisher(nc, topo),
    };
    const ackWaitMs = Math.floor((info.config.ack_wait ?? 30e9) / 1e6);
    const loop = runLane(ctx, consumer, {
      batchSize: options.batchSize,
      ackWaitMs,
      maxInFlight: LANE_IN_FLIGHT_BATCHES * options.batchSize,
      stopping: () => stopping,
    }).catch((err: unknown) => {
      log.fatal({ err, lane: priority }, "lane loop crashed");
      ctx.errors.report(err, { level: "fatal", tags: { service: "processor", lane: priority } });
    });
    return { loop };
  };

  const laneStats = async (priority: Priority) => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(topo.streams.work, topo.laneConsumer(priority));
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  };

  return {
    async start() {
      if (loops.length > 0) return;
      stopping = false;
      if (deps.session) {
        // Before the lanes: the months their rows go to exist before the first claim.
        maintenance = createMaintenance({
          session: deps.session,
          log: log.child({ component: "retention" }),
          metrics,
          options: { retentionDays: options.retentionDays ?? 90, retentionEveryMs: options.retentionEveryMs ?? 0 },
        });
        await maintenance.start();
      }
      const out = createAckPublisher(nc, { timeoutMs: PUBLISH_ACK_TIMEOUT_MS });
      publisher = out;
      loops = (await Promise.all(PRIORITIES.map((p) => startLane(p, out)))).map((l) => l.loop);
      scheduler = createScheduler({
        db,
        publisher: out,
        topo,
        log: log.child({ component: "scheduler" }),
        options: { pollMs: options.schedulerPollMs, batchSize: SCHEDULER_BATCH, concurrency: SCHEDULER_CONCURRENCY },
        metrics,
      });
      scheduler.start();
      if (deps.statusWebhooks) {
        statusWebhooks = createStatusWebhooks({ nc, db, topo, publisher: out, log: log.child({ component: "status-webhooks" }), options: deps.statusWebhooks });
        await statusWebhooks.start();
      }
      log.info({ lanes: PRIORITIES, batchSize: options.batchSize, channelConcurrency: limit }, "lanes started");
    },
    async stop() {
      stopping = true;
      await Promise.all([...loops, scheduler?.stop(), maintenance?.stop(), statusWebhooks?.stop()]);
      loops = [];
      statusWebhooks = undefined;
      scheduler = undefined;
      maintenance = undefined;
      // Every batch has waited for its events by now; nothing is left to ack.
      publisher?.close();
      publisher = undefined;
      // ack / nak / term are fire-and-forget publishes: make sure they left.
      if (!nc.isClosed()) await nc.flush();
      log.info("lanes drained");
    },
    async lanes() {
      const [urgent, high, normal, low] = await Promise.all([laneStats("urgent"), laneStats("high"), laneStats("normal"), laneStats("low")]);
      return { urgent, high, normal, low };
    },
  };
}
