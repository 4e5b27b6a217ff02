import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ROOT_CONTEXT, type Context as TraceContext, type Tracer } from "@opentelemetry/api";
import { NOOP_METRICS, secondsSince, timePublish, type MetricsRecorder } from "../bin/telemetry/recorder.ts";
import { inSpan, sampledParent, SpanKind, SPANS } from "../bin/telemetry/spans.ts";
import type { Channel, Priority } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import type { LifecycleEvent } from "../schemas/events.ts";
import type { Topology } from "../schemas/subjects.ts";
import { createPublishWindow } from "./publish-window.ts";

/** Hands an accepted notification to the durable log; resolves only once it is stored. */
export interface Publisher {
  /**
   * Publishes `envelope` with `msgId` as JetStream's `Nats-Msg-Id`, so a retry
   * inside the stream's duplicate window is dropped by the server. `trace`, the
   * request's trace context, goes into the message headers (W3C traceparent).
   * @throws PublishUnavailableError when the log did not acknowledge the message.
   */
  publish(envelope: Envelope, msgId: string, trace?: TraceContext): Promise<void>;
}

/** The log did not acknowledge: no stream (no responders), timeout, or closed connection. Retryable. */
export class PublishUnavailableError extends Error {
  override readonly name = "PublishUnavailableError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Predicate in the nats.js style, so callers need not import the class. */
export function isPublishUnavailable(err: unknown): err is PublishUnavailableError {
  return err instanceof PublishUnavailableError;
}

export interface JetStreamPublisherOptions {
  /** How long to wait for the PubAck before giving up with 503. */
  timeoutMs: number;
  /** Publishes awaiting their ack at most (DESIGN §6: the broker peaks with 256–1024 in flight). */
  maxInFlight?: number;
}

/** Enough in flight for a few concurrent 1,000-item batches; more only queues inside nats-server. */
export const DEFAULT_MAX_IN_FLIGHT = 4096;

const encoder = new TextEncoder();

/**
 * A publisher over one NATS connection. Every call awaits its own ack, and
 * calls made in the same event-loop turn go out in one socket write, so
 * concurrent requests keep many publishes in flight (DESIGN §6: ≈8k/s one by
 * one vs ≈65k/s with hundreds in flight).
 */
export function createJetStreamPublisher(nc: NatsConnection, topo: Topology, opts: JetStreamPublisherOptions): Publisher {
  const window = createPublishWindow(nc, {
    timeoutMs: opts.timeoutMs,
    maxInFlight: opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    failure: unavailable,
  });
  // 20 subjects at most: built once each instead of one string per message.
  const subjects: Partial<Record<Priority, Partial<Record<Channel, string>>>> = {};
  const subjectOf = (priority: Priority, channel: Channel): string => ((subjects[priority] ??= {})[channel] ??= topo.sendSubject(priority, channel));
  return {
    // Not async and no closure: a batch keeps thousands of these in flight, each alive until its ack.
    publish(envelope, msgId, trace = ROOT_CONTEXT) {
      const subject = subjectOf(envelope.priority, envelope.channel);
      let data: Uint8Array;
      try {
        data = encoder.encode(JSON.stringify(envelope));
      } catch (err) {
        return Promise.reject(unavailable(subject, err));
      }
      return window.publish(subject, data, msgId, trace);
    },
  };
}

function unavailable(subject: string, err: unknown): PublishUnavailableError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PublishUnavailableError(`publish to ${subject} failed: ${reason}`, { cause: err });
}

/**
 * Times every publish into `herald_jetstream_publish_duration_seconds{stream="work"}`
 * and runs it in a PRODUCER span under the request's; the publish window puts
 * that span's context into the message headers, so the processor's consume
 * span is its child. Returns `publisher` itself when there is nothing to record.
 */
export function instrumentPublisher(publisher: Publisher, metrics: MetricsRecorder, tracer: Tracer | undefined): Publisher {
  if (metrics === NOOP_METRICS && tracer === undefined) return publisher;
  // Timed with one callback pair, without timePublish's async frame and closure per message.
  const timed: Publisher["publish"] = (envelope, msgId, trace) => {
    const started = performance.now();
    return publisher.publish(envelope, msgId, trace).then(
      () => metrics.publishDuration("work", "ok", secondsSince(started)),
      (err: unknown) => {
        metrics.publishDuration("work", "error", secondsSince(started));
        throw err;
      },
    );
  };
  if (tracer === undefined) return { publish: timed };
  return {
    publish(envelope, msgId, trace = ROOT_CONTEXT) {
      // A dropped trace (9 in 10 at 0.1) takes the untraced path: its context still goes into the headers.
      if (!sampledParent(trace)) return timed(envelope, msgId, trace);
      const attributes = { "messaging.system": "nats", "herald.channel": envelope.channel, "herald.priority": envelope.priority };
      return inSpan(tracer, SPANS.publish, { kind: SpanKind.PRODUCER, attributes, parent: trace }, (_span, ctx) => timed(envelope, msgId, ctx));
    },
  };
}

/**
 * Publishes the lifecycle events the gateway itself causes (`cancelled`) to
 * the events stream, with the processor's msg id scheme (`<id>:<type>:<attempt>`),
 * so a repeat within the duplicate window is dropped.
 */
export function createEventPublisher(nc: NatsConnection, topo: Topology, metrics: MetricsRecorder = NOOP_METRICS): { publish(event: LifecycleEvent): Promise<void> } {
  const js = jetstream(nc);
  return {
    async publish(event) {
      await timePublish(metrics, "events", () => js.publish(topo.eventSubject(event.type), JSON.stringify(event), { msgID: `${event.id}:${event.type}:${event.attempt ?? 0}` }));
    },
  };
}
