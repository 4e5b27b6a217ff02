import { z } from "zod";
import { CHANNELS, NOTIFICATION_TYPES, PRIORITIES } from "./enums.ts";

/**
 * What the gateway publishes to JetStream and the processor consumes.
 * Versioned so that a processor can refuse what it does not understand.
 */
export const Envelope = z.object({
  v: z.literal(1),
  id: z.uuid(),
  tenantId: z.string().min(1),
  userId: z.string().min(1),
  channel: z.enum(CHANNELS),
  type: z.enum(NOTIFICATION_TYPES),
  priority: z.enum(PRIORITIES),
  payload: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.string()).nullable(),
  idempotencyKey: z.string().nullable(),
  correlationId: z.string().nullable(),
  scheduledFor: z.iso.datetime({ offset: true }).nullable(),
  acceptedAt: z.iso.datetime({ offset: true }),
});
export type Envelope = z.infer<typeof Envelope>;
