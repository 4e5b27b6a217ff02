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
  /**
   * SHA-256 (hex) of the body of the keyed request that carried it: a second
   * request with the same key and another body is told apart from a retry,
   * even after the gateway's idempotency store forgot the key. Absent without a key.
   */
  requestHash: z.string().optional(),
  correlationId: z.string().nullable(),
  scheduledFor: z.iso.datetime({ offset: true }).nullable(),
  acceptedAt: z.iso.datetime({ offset: true }),
  /**
   * Attempts made before a replay (`herald replay`): the retry budget
   * (HERALD_MAX_ATTEMPTS) counts from here, so a replayed notification gets a
   * fresh one. Absent on what the gateway publishes.
   */
  attemptBase: z.number().int().min(0).optional(),
});
export type Envelope = z.infer<typeof Envelope>;

/** Status of a row seen for the first time: `scheduled` while its time is ahead. */
export function initialStatus(envelope: Pick<Envelope, "scheduledFor">, nowMs: number): "accepted" | "scheduled" {
  return envelope.scheduledFor && Date.parse(envelope.scheduledFor) > nowMs ? "scheduled" : "accepted";
}
