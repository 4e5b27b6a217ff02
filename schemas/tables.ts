import { sql } from "drizzle-orm";
import { bigint, boolean, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import {
  API_KEY_SCOPES,
  ATTEMPT_OUTCOMES,
  CHANNELS,
  DEVICE_PLATFORMS,
  NOTIFICATION_TYPES,
  PREFERENCE_CHANNELS,
  PRIORITIES,
  SCHEDULE_REASONS,
  STATUSES,
  SUPPRESSION_SOURCES,
  type ApiKeyScope,
  type Channel,
} from "./enums.ts";
import type { QuietHours, TemplateContent } from "./recipients.ts";
import { DELIVERY_STATUSES } from "./status-webhooks.ts";

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/**
 * The system of record: one row per accepted notification. Partitioned by
 * `created_at` (monthly, lib/db/partitions.ts) so retention drops whole
 * months; a unique index on a partitioned table must hold the partition key,
 * so the primary key is (id, created_at) and `notification_ids` keeps the ids
 * that could come again with another `created_at` unique across partitions.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").notNull(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    channel: text("channel", { enum: CHANNELS }).notNull(),
    type: text("type", { enum: NOTIFICATION_TYPES }).notNull(),
    priority: text("priority", { enum: PRIORITIES }).notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    metadata: jsonb("metadata").$type<Record<string, string>>(),
    idempotencyKey: text("idempotency_key"),
    /** SHA-256 of the keyed request's body: a second request with the key and another body is told apart from a retry. */
    requestHash: text("request_hash"),
    correlationId: text("correlation_id"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    scheduledFor: tstz("scheduled_for"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
    sentAt: tstz("sent_at"),
    /** In-app only: when the user read it in their inbox (`POST /v1/inbox/:id/read`). */
    readAt: tstz("read_at"),
  },
  (t) => [
    primaryKey({ name: "notifications_id_created_at_pk", columns: [t.id, t.createdAt] }),
    index("notifications_tenant_user_created").on(t.tenantId, t.userId, t.createdAt.desc(), t.id.desc()),
    index("notifications_tenant_status_created").on(t.tenantId, t.status, t.createdAt.desc(), t.id.desc()),
    index("notifications_tenant_created").on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    // The inbox's unread rows only, so their cost follows the user's unread notifications, not their whole history.
    index("notifications_inbox_unread")
      .on(t.tenantId, t.userId, t.createdAt.desc(), t.id.desc())
      .where(sql`${t.channel} = 'in_app' and ${t.status} = 'sent' and ${t.readAt} is null`),
  ],
);
export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotificationRow = typeof notifications.$inferInsert;

/**
 * Keyed notifications' ids (and those of rows made outside a claim: a cancel
 * before the processor, a failure Postgres refused), unique across the
 * partitions of `notifications`: an Idempotency-Key retried after the stores
 * forgot it names the same id with another `created_at`, which the
 * partitioned primary key alone would take as a second row. Also what keeps
 * (tenant_id, idempotency_key) unique. Removed with the notification.
 */
export const notificationIds = pgTable(
  "notification_ids",
  {
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    idempotencyKey: text("idempotency_key"),
    createdAt: tstz("created_at").notNull(),
  },
  (t) => [uniqueIndex("notification_ids_tenant_key").on(t.tenantId, t.idempotencyKey), index("notification_ids_created").on(t.createdAt)],
);

/**
 * One row per provider call; (notification_id, attempt) makes a redelivered
 * write a no-op. Partitioned like `notifications`, by the notification's
 * `created_at`, so a month of attempts goes with its month of notifications.
 * No foreign key to `notifications`: detaching a month would check it by
 * joining every attempt (seconds under an ACCESS EXCLUSIVE lock); the one
 * writer (lib/db/notification-repository.ts) adds attempts only to rows it
 * holds, and retention removes them with their notifications.
 */
export const deliveryAttempts = pgTable(
  "delivery_attempts",
  {
    notificationId: uuid("notification_id").notNull(),
    /** The notification's `created_at`: the partition key, and with the id its notification's key. */
    notificationCreatedAt: tstz("notification_created_at").notNull(),
    attempt: integer("attempt").notNull(),
    provider: text("provider").notNull(),
    outcome: text("outcome", { enum: ATTEMPT_OUTCOMES }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    /** The provider's own id for what it accepted (SMTP Message-ID, Twilio sid, FCM message name): where to look it up there. */
    providerMessageId: text("provider_message_id"),
    createdAt: tstz("created_at").notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ name: "delivery_attempts_pk", columns: [t.notificationId, t.notificationCreatedAt, t.attempt] }),
    // A provider's delivery callback names its own id: this finds the notification it is about.
    index("delivery_attempts_provider_message").on(t.provider, t.providerMessageId).where(sql`${t.providerMessageId} is not null`),
  ],
);
export type DeliveryAttemptRow = typeof deliveryAttempts.$inferSelect;
export type NewDeliveryAttemptRow = typeof deliveryAttempts.$inferInsert;

/**
 * Notifications waiting for a time, held here rather than in the work stream
 * (where a nak-delayed message holds a lane's ack-pending capacity). The
 * scheduler publishes each to its lane when `due_at` comes and deletes it.
 * `reason` says who deferred it, so later reasons (quiet hours, digests)
 * share the same release.
 */
export const schedules = pgTable(
  "schedules",
  {
    notificationId: uuid("notification_id").primaryKey(),
    /** The notification's `created_at`: with the id, its row's key. */
    notificationCreatedAt: tstz("notification_created_at").notNull(),
    dueAt: tstz("due_at").notNull(),
    reason: text("reason", { enum: SCHEDULE_REASONS }).notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [
    index("schedules_due").on(t.dueAt),
    foreignKey({
      name: "schedules_notification_fk",
      columns: [t.notificationId, t.notificationCreatedAt],
      foreignColumns: [notifications.id, notifications.createdAt],
    }).onDelete("cascade"),
  ],
);
export type ScheduleRow = typeof schedules.$inferSelect;

/**
 * Addresses a tenant must not send to again on a channel: a hard bounce, a
 * spam complaint, a device token the push service no longer knows. The
 * processor checks them before sending; a match ends `suppressed`. The
 * notification that revealed it is kept without a foreign key, so dropping
 * old notifications never takes a suppression with it.
 */
export const suppressions = pgTable(
  "suppressions",
  {
    tenantId: text("tenant_id").notNull(),
    channel: text("channel", { enum: CHANNELS }).notNull(),
    /** Normalised as `suppressionAddress` (lib/db/suppressions.ts) does: the same address always matches itself. */
    address: text("address").notNull(),
    reason: text("reason").notNull(),
    source: text("source", { enum: SUPPRESSION_SOURCES }).notNull(),
    notificationId: uuid("notification_id"),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.channel, t.address] })],
);
export type SuppressionRow = typeof suppressions.$inferSelect;

/**
 * A tenant's recipient, keyed by the tenant's own user id: where each channel
 * reaches them, what language they read, their time zone and quiet hours.
 * A send may name only the user; the processor reads the address from here.
 */
export const users = pgTable(
  "users",
  {
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    email: text("email"),
    /** E.164. */
    phone: text("phone"),
    /** BCP 47, e.g. `de-AT`; templates fall back `de-AT` → `de` → default. */
    locale: text("locale"),
    /** IANA, e.g. `Europe/Berlin`; quiet hours are in it. */
    timeZone: text("time_zone"),
    /** `{start: "22:00", end: "08:00"}` in the user's time zone; null: none. */
    quietHours: jsonb("quiet_hours").$type<QuietHours>(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);
export type UserRow = typeof users.$inferSelect;

/** A user's push devices, several per user, each with its platform. */
export const userDevices = pgTable(
  "user_devices",
  {
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    token: text("token").notNull(),
    platform: text("platform", { enum: DEVICE_PLATFORMS }).notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.token] }),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.userId] }).onDelete("cascade"),
  ],
);
export type UserDeviceRow = typeof userDevices.$inferSelect;

/**
 * A tenant's named template: its draft, edited freely, and which published
 * version sends use. Publishing copies the draft into `template_versions`.
 */
export const templates = pgTable(
  "templates",
  {
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    category: text("category").notNull(),
    draft: jsonb("draft").$type<TemplateContent>().notNull(),
    /** The version new sends use; null until the first publish. */
    publishedVersion: integer("published_version"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);
export type TemplateRow = typeof templates.$inferSelect;

/** Published versions, never changed: a notification names the version it was accepted with. */
export const templateVersions = pgTable(
  "template_versions",
  {
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    category: text("category").notNull(),
    content: jsonb("content").$type<TemplateContent>().notNull(),
    publishedAt: tstz("published_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.name, t.version] }),
    foreignKey({ columns: [t.tenantId, t.name], foreignColumns: [templates.tenantId, templates.name] }).onDelete("cascade"),
  ],
);
export type TemplateVersionRow = typeof templateVersions.$inferSelect;

/**
 * A tenant's notification categories (each template belongs to one): whether
 * users may opt out (`required`: they may not), and the tenant's default per
 * channel for users who said nothing (absent: opted in).
 */
export const categories = pgTable(
  "categories",
  {
    tenantId: text("tenant_id").notNull(),
    category: text("category").notNull(),
    required: boolean("required").notNull().default(false),
    defaults: jsonb("defaults").$type<Partial<Record<Channel, boolean>>>().notNull().default({}),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.category] })],
);
export type CategoryRow = typeof categories.$inferSelect;

/** A user's choice per category and channel (`*`: every channel of the category). */
export const preferences = pgTable(
  "preferences",
  {
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    category: text("category").notNull(),
    channel: text("channel", { enum: PREFERENCE_CHANNELS }).notNull(),
    enabled: boolean("enabled").notNull(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId, t.category, t.channel] })],
);
export type PreferenceRow = typeof preferences.$inferSelect;

/** A tenant's own token bucket, replacing HERALD_RATE_LIMIT / HERALD_RATE_LIMIT_TENANTS for it. */
export interface TenantRateLimit {
  /** Requests (a batch: notifications) per second; 0: not limited. */
  perSecond: number;
  /** The bucket size: the largest burst. */
  burst: number;
}

/**
 * A tenant: its limits and how long its notifications are kept. A tenant
 * named only by a bootstrap key (HERALD_API_KEYS) has no row and the
 * configured defaults; creating its first managed key creates the row.
 */
export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name"),
  /** Null: the configured default (HERALD_RATE_LIMIT, HERALD_RATE_LIMIT_TENANTS). */
  rateLimit: jsonb("rate_limit").$type<TenantRateLimit>(),
  /** Notifications accepted per UTC day and channel, e.g. `{"sms": 10000}`; a channel not named: no cap beyond the configured default. */
  dailyCaps: jsonb("daily_caps").$type<Partial<Record<Channel, number>>>().notNull().default({}),
  /** Days notifications and their attempts are kept; null: HERALD_RETENTION_DAYS. */
  retentionDays: integer("retention_days"),
  createdAt: tstz("created_at").notNull().defaultNow(),
  updatedAt: tstz("updated_at").notNull().defaultNow(),
});
export type TenantRow = typeof tenants.$inferSelect;

/**
 * Managed API keys: only the SHA-256 of a key is stored; the key itself is
 * shown once, when it is created or rotated. `prefix` (`hk_live_` and the
 * first characters) is what lists show.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name"),
    prefix: text("prefix").notNull(),
    /** Lower-case hex SHA-256 of the whole key. */
    hash: text("hash").notNull(),
    scopes: text("scopes", { enum: API_KEY_SCOPES }).array().$type<ApiKeyScope[]>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
    /** Null: never expires. A rotated key gets the end of its grace period here. */
    expiresAt: tstz("expires_at"),
    revokedAt: tstz("revoked_at"),
    /** Written in batches by the gateways, at most every few seconds: a hint, not an audit trail. */
    lastUsedAt: tstz("last_used_at"),
    /** The key this one replaced (`POST /admin/v1/api-keys/:id/rotate`). */
    rotatedFrom: uuid("rotated_from"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.hash), index("api_keys_tenant_created").on(t.tenantId, t.createdAt.desc(), t.id.desc())],
);
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * Append-only record of administrative actions (a trigger refuses UPDATE and
 * DELETE): who (`actor`: `key:<id>` for a managed key, `operator:<name>` for
 * an admin key, `tenant:<id>` for a bootstrap tenant key, `cli` for the
 * command line), on which tenant, what, on what, when, from where.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    at: tstz("at").notNull().defaultNow(),
    actor: text("actor").notNull(),
    tenantId: text("tenant_id"),
    action: text("action").notNull(),
    target: text("target"),
    clientAddress: text("client_address"),
    /** What changed, without personal data: scopes, limits, counts. */
    details: jsonb("details").$type<Record<string, unknown>>(),
  },
  (t) => [index("audit_log_tenant").on(t.tenantId, t.id.desc()), index("audit_log_action").on(t.action, t.id.desc())],
);
export type AuditRow = typeof auditLog.$inferSelect;

/**
 * A tenant's Standard Webhooks signing secrets. Webhook notifications are
 * signed with every secret not yet expired, so a rotation keeps the old one
 * valid for its grace period; a tenant without one is signed with
 * HERALD_WEBHOOK_SECRET.
 */
export const webhookSecrets = pgTable(
  "webhook_secrets",
  {
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** The secret as lib/db/webhook-secrets.ts stores it (sealed with a key derived from HERALD_TOKEN_SECRET). */
    secret: text("secret").notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
    /** Null: current. A rotated secret gets the end of its grace period. */
    expiresAt: tstz("expires_at"),
  },
  (t) => [index("webhook_secrets_tenant").on(t.tenantId, t.createdAt.desc())],
);
export type WebhookSecretRow = typeof webhookSecrets.$inferSelect;

/**
 * A tenant's status-webhook endpoints: where its lifecycle events are POSTed
 * (processor/status-webhooks/). The signing secret is sealed like
 * `webhook_secrets`; a rotated-out one keeps signing until
 * `previous_secret_expires_at`. `failing_since` is when the current run of
 * failed attempts began (null after a success); an endpoint failing long
 * enough is disabled with `disabled_at` and `disabled_reason`.
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    description: text("description"),
    /** `["*"]` or a list of event types. */
    eventTypes: text("event_types").array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: tstz("previous_secret_expires_at"),
    failingSince: tstz("failing_since"),
    disabledAt: tstz("disabled_at"),
    disabledReason: text("disabled_reason"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [index("webhook_endpoints_tenant").on(t.tenantId, t.createdAt.desc(), t.id.desc())],
);
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

/**
 * One lifecycle event owed to one endpoint; its id is the `webhook-id` every
 * attempt carries. Unique (endpoint_id, event_id): copies of an event are one
 * delivery. `pending` waits for `next_attempt_at` (a claimed one is leased by
 * moving it ahead); `failed` is the endpoint's dead list.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    /** The event's user, so an erasure can find the deliveries that name them. */
    userId: text("user_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("pending"),
    /** Every attempt made; an attempt row's number. */
    attempts: integer("attempts").notNull().default(0),
    /** Attempts since it was last queued (a replay starts over): its place in the retry schedule. */
    roundAttempts: integer("round_attempts").notNull().default(0),
    nextAttemptAt: tstz("next_attempt_at").notNull().defaultNow(),
    lastAttemptAt: tstz("last_attempt_at"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: tstz("created_at").notNull().defaultNow(),
    deliveredAt: tstz("delivered_at"),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event").on(t.endpointId, t.eventId),
    index("webhook_deliveries_due").on(t.endpointId, t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_endpoint_list").on(t.endpointId, t.createdAt.desc(), t.id.desc()),
    index("webhook_deliveries_created").on(t.createdAt),
    index("webhook_deliveries_user").on(t.tenantId, t.userId),
  ],
);
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Each POST of a delivery: the answer's status (null when none came), how long, why it failed, the start of the answer's body. */
export const webhookDeliveryAttempts = pgTable(
  "webhook_delivery_attempts",
  {
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    responseBody: text("response_body"),
    createdAt: tstz("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
export type WebhookDeliveryAttemptRow = typeof webhookDeliveryAttempts.$inferSelect;
