import { z } from "zod";
import { Envelope } from "./envelope.ts";

/**
 * A record on the dead-letter stream (`<ns>.v1.dlq.<channel>`): enough to
 * understand the failure and, for a `failed` one, to replay the envelope
 * (`herald replay`). `invalid` records keep the raw message that was not an
 * envelope. `conflict` records keep a request that reused an Idempotency-Key
 * with another body after the gateway's store forgot the key: its id names
 * the first request's notification, which stands; this body was never sent.
 */
export const DeadLetterRecord = z.discriminatedUnion("reason", [
  z.object({ v: z.literal(1), reason: z.literal("failed"), error: z.string(), attempts: z.number().int(), failedAt: z.string(), envelope: Envelope }),
  z.object({ v: z.literal(1), reason: z.literal("invalid"), error: z.string(), failedAt: z.string(), subject: z.string(), raw: z.string() }),
  z.object({ v: z.literal(1), reason: z.literal("conflict"), error: z.string(), failedAt: z.string(), envelope: Envelope }),
]);
export type DeadLetterRecord = z.infer<typeof DeadLetterRecord>;
