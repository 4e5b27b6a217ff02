import { z } from "zod";
import { CHANNELS, EVENT_TYPES } from "./enums.ts";

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
