import { z } from "zod";
import { CHANNELS, EVENT_TYPES, type Channel, type EventType } from "./enums.ts";

/**
 * Lifecycle event published on `<ns>.v1.events.<type>` for other services.
 * This is a public contract (docs/events.md): it is exported as JSON Schema
 * under schemas/json/, and changes within v1 only add optional fields.
 */
export const LifecycleEvent = z
  .object({
    v: z.literal(1),
    type: z.enum(EVENT_TYPES),
    eventId: z
      .string()
      .min(1)
      .describe("`<id>:<type>:<attempt or 0>`, also the message's Nats-Msg-Id: a copy of an event has the same eventId, so subscribers dedupe by it"),
    id: z.uuid().describe("notification id"),
    tenantId: z.string(),
    userId: z.string(),
    channel: z.enum(CHANNELS),
    at: z.iso.datetime({ offset: true }).describe("when the notification entered this state"),
    attempt: z.number().int().positive().optional(),
    error: z.string().optional(),
    /** The caller's correlation id, as sent with the notification. */
    correlationId: z.string().optional(),
    /** The caller's metadata, as sent with the notification. */
    metadata: z.record(z.string(), z.string()).optional(),
    /** The provider that made the attempt or reported the delivery, where known. */
    provider: z.string().optional(),
    /** The provider's own id for the message, where it gave one. */
    providerMessageId: z.string().optional(),
    /** A send by template: the template and the version it was accepted with. */
    template: z.object({ name: z.string(), version: z.number().int().positive() }).optional(),
    /** A send by template: the template's category, which preferences are kept by. */
    category: z.string().optional(),
  })
  .meta({ id: "HeraldLifecycleEventV1", title: "Herald lifecycle event (v1)" });
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** Who an event is about: an envelope, or a row's view with its tenant. */
export interface EventSubject {
  id: string;
  tenantId: string;
  userId: string;
  channel: Channel;
  correlationId?: string | null;
  metadata?: Record<string, string> | null;
  /** An envelope's payload: a send by template names its template there. */
  payload?: Record<string, unknown>;
}

/** What an event says beyond its subject. */
export interface EventDetail {
  attempt?: number;
  error?: string;
  provider?: string;
  providerMessageId?: string;
  /** When the state was entered; now when absent. */
  at?: string | Date;
}

/** The template and category of a send by template (its payload, schemas/recipients.ts TemplatePayload); nothing of its data. */
function templateOf(payload: Record<string, unknown> | undefined): Pick<LifecycleEvent, "template" | "category"> {
  const t = payload?.template;
  if (typeof t !== "object" || t === null) return {};
  const { name, version, category } = t as Record<string, unknown>;
  if (typeof name !== "string" || typeof version !== "number" || typeof category !== "string") return {};
  return { template: { name, version }, category };
}

/** An event's id and `Nats-Msg-Id`: one per notification, type and attempt, so a repeat is dropped by the stream and by subscribers. */
export function eventIdOf(ev: { id: string; type: EventType; attempt?: number | undefined }): string {
  return `${ev.id}:${ev.type}:${ev.attempt ?? 0}`;
}

/** A v1 lifecycle event for one notification. */
export function lifecycleEvent(type: EventType, n: EventSubject, detail: EventDetail = {}): LifecycleEvent {
  const { at, attempt, error, provider, providerMessageId } = detail;
  const ev: LifecycleEvent = {
    v: 1,
    type,
    eventId: eventIdOf({ id: n.id, type, attempt }),
    id: n.id,
    tenantId: n.tenantId,
    userId: n.userId,
    channel: n.channel,
    at: at === undefined ? new Date().toISOString() : typeof at === "string" ? at : at.toISOString(),
  };
  if (attempt !== undefined && attempt > 0) ev.attempt = attempt;
  if (error !== undefined) ev.error = error;
  if (n.correlationId != null) ev.correlationId = n.correlationId;
  if (n.metadata != null) ev.metadata = n.metadata;
  if (provider !== undefined) ev.provider = provider;
  if (providerMessageId !== undefined) ev.providerMessageId = providerMessageId;
  return { ...ev, ...templateOf(n.payload) };
}

/**
 * Where a type sits in a notification's life, for events stamped the same
 * instant: a later stage wins the tie.
 */
const STAGE: Record<EventType, number> = {
  accepted: 0,
  scheduled: 1,
  retrying: 2,
  sent: 3,
  failed: 3,
  cancelled: 3,
  suppressed: 3,
  delivered: 4,
  bounced: 5,
};

/**
 * Orders two events of one notification: by `at`, then by stage. A
 * notification's status is the type of its greatest event, whatever order the
 * events arrived in (a crash can publish a copy of an early event late).
 */
export function compareEvents(a: Pick<LifecycleEvent, "at" | "type">, b: Pick<LifecycleEvent, "at" | "type">): number {
  return Date.parse(a.at) - Date.parse(b.at) || STAGE[a.type] - STAGE[b.type];
}

/** The later of two events of one notification (`compareEvents`); the current one on a tie. */
export function laterEvent<E extends Pick<LifecycleEvent, "at" | "type">>(current: E | undefined, next: E): E {
  return current === undefined || compareEvents(next, current) > 0 ? next : current;
}
