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
  })
  .meta({ id: "HeraldLifecycleEventV1", title: "Herald lifecycle event (v1)" });
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** Who an event is about: an envelope, or a row's view with its tenant. */
export interface EventSubject {
  id: string;
  tenantId: string;
  userId: string;
  channel: Channel;
}

/** A v1 lifecycle event for one notification, stamped now. */
export function lifecycleEvent(type: EventType, n: EventSubject, extra: { attempt?: number; error?: string } = {}): LifecycleEvent {
  return { v: 1, type, id: n.id, tenantId: n.tenantId, userId: n.userId, channel: n.channel, at: new Date().toISOString(), ...extra };
}
