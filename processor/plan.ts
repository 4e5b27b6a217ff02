import { isTerminal, type Status } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";

/** How long a not-yet-due message sleeps per nak: long waits are re-checked in steps. */
export const SCHEDULE_STEP_MS = 5 * 60 * 1000;

export interface RowState {
  status: Status;
  attempts: number;
  lastError: string | null;
}

/** What to do with one decoded message once its row is known. */
export type Plan =
  | { kind: "collision" } // another id owns (tenant, idempotency key)
  | { kind: "done" } // sent / cancelled / …: never send again
  | { kind: "dead"; error: string; attempts: number } // failed: make sure it is in the DLQ, then term
  | { kind: "wait"; delayMs: number } // scheduled for later
  | { kind: "send"; attempt: number };

/** Pure: decides from the row and the clock; no I/O. */
export function plan(envelope: Envelope, row: RowState | undefined, nowMs: number): Plan {
  if (!row) return { kind: "collision" };
  if (row.status === "failed") return { kind: "dead", error: row.lastError ?? "failed", attempts: row.attempts };
  if (isTerminal(row.status)) return { kind: "done" };
  const dueMs = envelope.scheduledFor ? Date.parse(envelope.scheduledFor) - nowMs : 0;
  if (dueMs > 0) return { kind: "wait", delayMs: Math.min(dueMs, SCHEDULE_STEP_MS) };
  return { kind: "send", attempt: row.attempts + 1 };
}

/** Status of a row seen for the first time. */
export function initialStatus(envelope: Envelope, nowMs: number): "accepted" | "scheduled" {
  return envelope.scheduledFor && Date.parse(envelope.scheduledFor) > nowMs ? "scheduled" : "accepted";
}
