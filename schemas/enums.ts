/** Closed value sets shared by zod schemas, drizzle columns and NATS subjects. */
export const CHANNELS = ["email", "sms", "push", "webhook", "in_app"] as const;
export type Channel = (typeof CHANNELS)[number];

/** Lanes in the order the processor favours them. */
export const PRIORITIES = ["urgent", "high", "normal", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];

export const NOTIFICATION_TYPES = ["transactional", "marketing", "system"] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const STATUSES = ["accepted", "scheduled", "processing", "sent", "retrying", "failed", "cancelled", "delivered", "bounced"] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Statuses a notification can be cancelled from: nothing is being sent for it
 * right now. `processing` is the processor's claim on a send in flight.
 */
export const CANCELLABLE_STATUSES = ["accepted", "scheduled", "retrying"] as const satisfies readonly Status[];

/** Statuses after which a redelivered message must never be sent again. */
export const TERMINAL_STATUSES = ["sent", "failed", "cancelled", "delivered", "bounced"] as const satisfies readonly Status[];

export function isTerminal(status: Status): boolean {
  return (TERMINAL_STATUSES as readonly Status[]).includes(status);
}

/** `interrupted`: the processor stopped before the attempt's outcome was known (recorded when the message comes back). */
export const ATTEMPT_OUTCOMES = ["sent", "retryable_error", "permanent_error", "interrupted"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Why a notification waits in the scheduler: a `scheduledFor` in the future, or a replay of a failed one (due at once). */
export const SCHEDULE_REASONS = ["scheduled", "replay"] as const;
export type ScheduleReason = (typeof SCHEDULE_REASONS)[number];

export const EVENT_TYPES = ["accepted", "scheduled", "processing", "sent", "retrying", "failed", "cancelled"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
