import type { NatsConnection } from "@nats-io/nats-core";
import { ROOT_CONTEXT, type Context as TraceContext } from "@opentelemetry/api";
import { CHANNELS, PRIORITIES, type Channel, type Priority } from "../../schemas/enums.ts";
import type { Envelope } from "../../schemas/envelope.ts";
import type { Topology } from "../../schemas/subjects.ts";
import { createAckPublisher, DEFAULT_MAX_IN_FLIGHT } from "./ack-publisher.ts";

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

export interface WorkPublisherOptions {
  /** How long to wait for the PubAck before giving up with 503. */
  timeoutMs: number;
  /** Publishes awaiting their ack at most: the broker peaks with hundreds in flight. */
  maxInFlight?: number;
}

const encoder = new TextEncoder();

/**
 * The work stream's publisher over one NATS connection. Every call awaits its
 * own ack, and calls made in the same event-loop turn go out in one socket
 * write, so concurrent requests keep many publishes in flight.
 */
export function createWorkPublisher(nc: NatsConnection, topo: Topology, opts: WorkPublisherOptions): Publisher {
  const window = createAckPublisher(nc, {
    timeoutMs: opts.timeoutMs,
    maxInFlight: opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    failure: unavailable,
  });
  // Built once each instead of one string per message.
  const subjects = Object.fromEntries(PRIORITIES.map((p) => [p, Object.fromEntries(CHANNELS.map((c) => [c, topo.sendSubject(p, c)]))])) as Record<
    Priority,
    Record<Channel, string>
  >;
  const subjectOf = (priority: Priority, channel: Channel): string => subjects[priority][channel];
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
