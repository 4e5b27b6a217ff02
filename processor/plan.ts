import type { RowState } from "../lib/db/notification-repository.ts";
import { isTerminal } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";

/** What the plan needs to know about the message besides its envelope. */
export interface Delivery {
  /** The row was inserted by this batch's claim, with its first attempt begun if it is due. */
  firstSeen: boolean;
  /** JetStream's delivery count of this message (1 on first delivery). */
  deliveries: number;
  /** Deliveries without a new attempt after which a message is given up as stalled. */
  stallLimit: number;
  /** Its address is suppressed for its tenant, or its user opted out of its category on its channel: why. */
  suppressed: string | null;
  /** A template send that cannot be made (no such user, no address for the channel, a render error): why. */
  unresolvable?: string | null;
  /** It falls in its user's quiet hours: when they end. */
  quietUntilMs?: number | null;
  /** Every provider that could take it has an open breaker: the earliest time one may take a trial call. */
  waitUntilMs: number | null;
}

/** What to do with one decoded message once its row is known. */
export type Plan =
  | { kind: "missing" } // no row and none could be made: nothing to send
  | { kind: "done" } // sent / cancelled / …: never send again
  | { kind: "conflict"; error: string } // the key's notification exists with another request's body: report, never send this one
  | { kind: "dead"; error: string; attempts: number } // failed: make sure it is in the DLQ, then term
  | { kind: "schedule"; dueAt: string } // waits in the scheduler, not in the lane
  | { kind: "wait"; dueAt: string } // its providers are all open: waits in the scheduler, no attempt begun
  | { kind: "suppress"; reason: string; unbegin: boolean } // its address is known bad for the tenant, or its user opted out: never sent
  | { kind: "unresolvable"; error: string } // a template send without a user, an address or a render: fails, no attempt
  | { kind: "quiet"; dueAt: string } // its user's quiet hours: waits in the scheduler until they end
  | { kind: "stalled"; error: string } // delivered again and again without progress: fail it
  | { kind: "send"; attempt: number; begun: boolean; interrupted: number | null };

/**
 * Pure: decides from the row, the message and the clock; no I/O. A row still
 * `processing` when its message comes back had its attempt cut short (the
 * processor stopped during it): that attempt is reported as interrupted and
 * the next one is made.
 */
export function plan(envelope: Envelope, row: RowState | undefined, nowMs: number, delivery: Delivery): Plan {
  if (!row) return { kind: "missing" };
  if (envelope.requestHash !== undefined && row.requestHash !== null && envelope.requestHash !== row.requestHash) {
    return {
      kind: "conflict",
      error: `Idempotency-Key ${JSON.stringify(envelope.idempotencyKey)} was reused with another body; notification ${envelope.id} keeps the first request's`,
    };
  }
  if (row.status === "failed") return { kind: "dead", error: row.lastError ?? "failed", attempts: row.attempts };
  if (isTerminal(row.status)) return { kind: "done" };
  const progress = row.attempts - (envelope.attemptBase ?? 0);
  if (!delivery.firstSeen && delivery.deliveries - progress > delivery.stallLimit) {
    return { kind: "stalled", error: `delivered ${delivery.deliveries} times with ${Math.max(0, progress)} attempts: given up as stalled` };
  }
  if (row.status === "scheduled" && envelope.scheduledFor !== null && Date.parse(envelope.scheduledFor) > nowMs) {
    return { kind: "schedule", dueAt: envelope.scheduledFor };
  }
  if (delivery.unresolvable) return { kind: "unresolvable", error: delivery.unresolvable };
  if (delivery.suppressed !== null) return { kind: "suppress", reason: delivery.suppressed, unbegin: delivery.firstSeen && row.status === "processing" };
  if (delivery.quietUntilMs) return { kind: "quiet", dueAt: new Date(delivery.quietUntilMs).toISOString() };
  if (delivery.waitUntilMs !== null) return { kind: "wait", dueAt: new Date(delivery.waitUntilMs).toISOString() };
  if (delivery.firstSeen) return { kind: "send", attempt: row.attempts, begun: true, interrupted: null };
  const interrupted = row.status === "processing" && row.attempts > 0 ? row.attempts : null;
  return { kind: "send", attempt: row.attempts + 1, begun: false, interrupted };
}
