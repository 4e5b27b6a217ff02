import { z } from "zod";
import { CHANNELS, EVENT_TYPES, type Channel, type EventType } from "./enums.ts";

/**
 * Lifecycle event published on `<ns>.v1.events.<type>` for other services.
 * This is a public contract: it is exported as JSON Schema under schemas/json/.
 */
export const LifecycleEvent = z
  .object({
    v: z.literal(1),
    type: z.enum(EVENT_TYPES),
    id: z.uuid().describe("notification id"),
    tenantId: z.string(),
    userId: z.string(),
    channel: z.enum(CHANNELS),
    at: z.iso.datetime({ offset: true }),
    attempt: z.number().int().positive().optional(),
    error: z.string().optional(),
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
  /** An envelope's payload: a send by template names its template there. */
  payload?: Record<string, unknown>;
}

/** The template and category of a send by template (its payload, schemas/recipients.ts TemplatePayload); nothing of its data. */
function templateOf(payload: Record<string, unknown> | undefined): Pick<LifecycleEvent, "template" | "category"> {
  const t = payload?.template;
  if (typeof t !== "object" || t === null) return {};
  const { name, version, category } = t as Record<string, unknown>;
  if (typeof name !== "string" || typeof version !== "number" || typeof category !== "string") return {};
  return { template: { name, version }, category };
}

/** A v1 lifecycle event for one notification, stamped now. */
export function lifecycleEvent(type: EventType, n: EventSubject, extra: { attempt?: number; error?: string } = {}): LifecycleEvent {
  return { v: 1, type, id: n.id, tenantId: n.tenantId, userId: n.userId, channel: n.channel, at: new Date().toISOString(), ...extra, ...templateOf(n.payload) };
}
