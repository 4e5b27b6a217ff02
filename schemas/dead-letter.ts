import { z } from "zod";
import { Envelope } from "./envelope.ts";
import type { Channel } from "./enums.ts";

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

// Postgres is the record of what failed: a `failed` row is a dead letter for
// as long as it exists. The DLQ stream is a feed of the same failures for
// subscribers and alerts; listing and replaying read the rows. Only garbage
// that was never an envelope has no row, and is listed from the stream.

/** Where a page of failed rows ends: the last row's exact updated_at (microseconds, UTC) and id. */
export interface FailedPosition {
  at: string;
  id: string;
}

/** One failed notification as an operator reads it: what failed, why, when; no payload. */
export interface DeadLetterSummary {
  id: string;
  tenantId: string;
  channel: Channel;
  error: string | null;
  attempts: number;
  failedAt: string;
}

export interface DeadLetterQuery {
  channel?: Channel;
  tenant?: string;
  /** At most this many, oldest failure first. */
  limit: number;
  after?: FailedPosition;
}

/** A message that was not an envelope (reason `invalid`): it has no row, so it is read from the stream. */
export interface InvalidDeadLetter {
  seq: number;
  /** The work subject it was published to. */
  subject: string;
  error: string;
  failedAt: string;
}

export interface ReplayOptions {
  /** Only this channel's failed notifications. */
  channel?: Channel;
  /** Only this tenant's. */
  tenant?: string;
  /** Only those that failed after this time. */
  since?: Date;
  /** Replay at most this many. */
  limit?: number;
  /** Report what would be replayed; change nothing. */
  dryRun?: boolean;
}

/** What a replay did; a dry run says what it would have done and changes nothing. */
export type ReplayReport =
  | {
      dryRun: false;
      /** Ids handed back to the scheduler, oldest failure first. */
      replayed: string[];
      /** Failed rows whose payload is not a valid one for their channel (a poison message stored as `{}`): left `failed`. */
      unreplayable: string[];
      /** Failed rows this run did not hand back because another replay took them first. */
      skipped: number;
    }
  | { dryRun: true; wouldReplay: string[]; unreplayable: string[] };

/** Who replays, as the audit log names them (`operator:<name>`, `key:<id>`, `cli`), and from where. */
export interface ReplayActor {
  actor: string;
  clientAddress: string | null;
}

/** The dead letters as the admin routes use them. */
export interface DeadLetterAdmin {
  list(query: DeadLetterQuery): Promise<{ data: DeadLetterSummary[]; next: FailedPosition | null }>;
  listInvalid(query: { limit: number; after?: number }): Promise<{ data: InvalidDeadLetter[]; next: number | null }>;
  /** A replay that changed something is recorded in the audit log under `by`. */
  replay(opts: ReplayOptions, by: ReplayActor): Promise<ReplayReport>;
}
