import type { Channel, EventType, Priority } from "./enums.ts";
import type { OpsEventType } from "./ops-events.ts";

export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** What `herald migrate` creates the streams and lane consumers with unless configured otherwise. */
export const DEFAULT_STREAM_OPTIONS = { duplicateWindowMs: 120_000, ackWaitMs: 30_000, maxAckPending: 4096 } as const;

/** Every stream, consumer and subject name, derived from `HERALD_NAMESPACE`. */
export interface Topology {
  namespace: string;
  streams: { work: string; events: string; dlq: string };
  sendSubject(priority: Priority, channel: Channel): string;
  laneFilter(priority: Priority): string;
  laneConsumer(priority: Priority): string;
  eventSubject(type: EventType): string;
  dlqSubject(channel: Channel): string;
  /** Core NATS, not a stream: one user's in-app notifications as they are sent, for the gateways' inbox streams. */
  inboxSubject(tenant: string, userId: string): string;
  /** Operational events (an endpoint disabled), kept in the events stream beside the lifecycle events. */
  opsSubject(type: OpsEventType): string;
  /** The durable consumer on the events stream that fans events out to tenants' status webhooks. */
  statusWebhooksConsumer: string;
  wildcards: { work: string; events: string; dlq: string; ops: string };
}

export function topology(namespace: string): Topology {
  if (!NAMESPACE_PATTERN.test(namespace)) throw new Error(`invalid namespace "${namespace}"`);
  const up = namespace.toUpperCase().replaceAll("-", "_");
  const ns = namespace;
  return {
    namespace,
    streams: { work: up, events: `${up}_EVENTS`, dlq: `${up}_DLQ` },
    sendSubject: (priority, channel) => `${ns}.v1.send.${priority}.${channel}`,
    laneFilter: (priority) => `${ns}.v1.send.${priority}.>`,
    laneConsumer: (priority) => `${up}_lane_${priority}`,
    eventSubject: (type) => `${ns}.v1.events.${type}`,
    dlqSubject: (channel) => `${ns}.v1.dlq.${channel}`,
    inboxSubject: (tenant, userId) => `${ns}.v1.inbox.${subjectToken(tenant)}.${subjectToken(userId)}`,
    opsSubject: (type) => `${ns}.v1.ops.${type}`,
    statusWebhooksConsumer: `${up}_status_webhooks`,
    wildcards: { work: `${ns}.v1.send.>`, events: `${ns}.v1.events.>`, dlq: `${ns}.v1.dlq.>`, ops: `${ns}.v1.ops.>` },
  };
}

/**
 * Any text as one subject token: unpadded base64url of its UTF-8, so a `.`,
 * `*`, `>` or space in a tenant or user id can neither split the subject nor
 * turn into a wildcard, and two ids never share a token.
 */
export function subjectToken(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
