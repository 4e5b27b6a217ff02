/** Closed value sets shared by zod schemas, drizzle columns and NATS subjects. */
export const CHANNELS = ["email", "sms", "push", "webhook", "in_app"] as const;
export type Channel = (typeof CHANNELS)[number];

/** Lanes in the order the processor favours them. */
export const PRIORITIES = ["urgent", "high", "normal", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];

export const NOTIFICATION_TYPES = ["transactional", "marketing", "system"] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/**
 * `delivered` and `bounced` come from provider callbacks after `sent`;
 * `suppressed`: a known-bad address (a bounce, a complaint, an unregistered
 * device) stopped the send, with the reason.
 */
export const STATUSES = ["accepted", "scheduled", "processing", "sent", "retrying", "failed", "cancelled", "delivered", "bounced", "suppressed"] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Statuses a notification can be cancelled from: nothing is being sent for it
 * right now. `processing` is the processor's claim on a send in flight.
 */
export const CANCELLABLE_STATUSES = ["accepted", "scheduled", "retrying"] as const satisfies readonly Status[];

/** Statuses after which a redelivered message must never be sent again. */
export const TERMINAL_STATUSES = ["sent", "failed", "cancelled", "delivered", "bounced", "suppressed"] as const satisfies readonly Status[];

export function isTerminal(status: Status): boolean {
  return (TERMINAL_STATUSES as readonly Status[]).includes(status);
}

/** `interrupted`: the processor stopped before the attempt's outcome was known (recorded when the message comes back). */
export const ATTEMPT_OUTCOMES = ["sent", "retryable_error", "permanent_error", "interrupted"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * Why a notification waits in the scheduler: a `scheduledFor` in the future, a
 * replay of a failed one (due at once), or every provider of its channel with
 * an open circuit breaker (due when the first may take a trial call).
 */
export const SCHEDULE_REASONS = ["scheduled", "replay", "provider_wait", "quiet_hours"] as const;
export type ScheduleReason = (typeof SCHEDULE_REASONS)[number];

/**
 * What the events stream announces. `processing` is a row's state while a
 * provider call is in flight and is not announced: it lasts milliseconds, and
 * announcing it would cost a publish per attempt (docs/events.md).
 */
export const EVENT_TYPES = ["accepted", "scheduled", "sent", "retrying", "failed", "cancelled", "delivered", "bounced", "suppressed"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a provider callback can report about a sent notification. */
export const DELIVERY_REPORT_STATUSES = ["delivered", "bounced"] as const satisfies readonly Status[];
export type DeliveryReportStatus = (typeof DELIVERY_REPORT_STATUSES)[number];

/** Why an address is suppressed: a hard bounce, a device token the push service no longer knows, a spam complaint. */
export const SUPPRESSION_SOURCES = ["bounce", "unregistered", "complaint"] as const;
export type SuppressionSource = (typeof SUPPRESSION_SOURCES)[number];

/** The platform of a user's push device: APNs takes `ios` tokens, FCM the others. */
export const DEVICE_PLATFORMS = ["ios", "android", "web"] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORMS)[number];

/** A preference names a channel, or `*` for every channel of its category. */
export const PREFERENCE_CHANNELS = [...CHANNELS, "*"] as const;
export type PreferenceChannel = (typeof PREFERENCE_CHANNELS)[number];

/**
 * What a managed API key may do. `send`: create and cancel notifications;
 * `read`: read notifications, attempts, recipients and templates; `inbox`: a
 * user's in-app inbox and its stream tokens; `admin`: the tenant's own
 * configuration (recipients, categories, templates, webhook secrets,
 * erasure, export), its keys and its audit log. Bootstrap keys
 * (HERALD_API_KEYS) hold every scope.
 */
export const API_KEY_SCOPES = ["send", "read", "inbox", "admin"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
