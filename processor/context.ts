import type { JsMsg } from "@nats-io/jetstream";
import type { Context, Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { MetricsRecorder } from "../lib/telemetry/recorder.ts";
import type { ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import type { AckPublisher } from "../lib/nats/ack-publisher.ts";
import type { InboxFeedPublisher } from "../lib/nats/inbox-feed.ts";
import type { Database, Sql } from "../schemas/database.ts";
import type { Channel, Priority } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import type { Topology } from "../schemas/subjects.ts";
import type { HoldOptions } from "../lib/db/durable.ts";
import type { Limiter } from "./limiter.ts";
import type { RetryPolicy } from "./outcome.ts";
import type { Routes } from "./failover.ts";
import type { Resolver } from "./resolver-types.ts";

/** Everything a lane needs to work a batch. */
export interface LaneContext {
  priority: Priority;
  /** The batch statements (lib/db/notification-repository.ts). */
  sql: Sql;
  /** The schedules (lib/db/schedules.ts). */
  db: Database;
  /** Lifecycle events and dead letters go out through this: many in flight, each acked. */
  publisher: AckPublisher;
  topo: Topology;
  /** Each channel's providers, in order, behind their circuit breakers. */
  routes: Routes;
  /** Recipients, templates and preferences for template sends and quiet hours; none: explicit sends only. */
  resolver?: Resolver;
  limiters: Record<Channel, Limiter>;
  /** Each channel's retry budget and backoff. */
  retries: Record<Channel, RetryPolicy>;
  /** How many deliveries without a new attempt make a message stalled. */
  stallLimit: number;
  log: Logger;
  metrics: MetricsRecorder;
  /** Spans for consume, persist and provider calls; none when undefined. */
  tracer: Tracer | undefined;
  /** Where a batch that threw is reported (lib/telemetry/error-reporter.ts). */
  errors: ErrorReporter;
  /** Passed to senders; aborted only if the processor gives up on in-flight calls. */
  signal: AbortSignal;
  /** Notification ids some batch of this process is working right now. */
  busy: Set<string>;
  /** How a batch waits for a Postgres that does not answer, and when it stops waiting. */
  hold: HoldOptions;
  /** Sent in-app notifications go out here to the gateways' inbox streams (processor/inbox-feed.ts); none: not published. */
  inboxFeed?: InboxFeedPublisher;
}

/** A decoded message of the batch. */
export interface Item {
  msg: JsMsg;
  envelope: Envelope;
  /** Its consume span's context, when its trace is sampled (processor/lane-telemetry.ts). */
  trace?: Context;
  /** A template send's payload as rendered by this batch, with its address; the envelope's otherwise. */
  payload?: Record<string, unknown>;
}

/** Child logger carrying the ids an operator searches by (correlation id included). */
export function noteLog(ctx: LaneContext, e: Envelope): Logger {
  return ctx.log.child({ notificationId: e.id, tenantId: e.tenantId, channel: e.channel, correlationId: e.correlationId, lane: ctx.priority });
}
