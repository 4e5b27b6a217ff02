-- notifications and delivery_attempts become range-partitioned by the notification's created_at,
-- a partition per UTC month, so retention drops a month at a time (lib/db/partitions.ts and
-- lib/db/retention.ts keep them from here on). Postgres cannot partition a table in place: the
-- old tables are set aside, new ones made, every row copied, the old ones dropped.
DROP INDEX "notifications_tenant_idempotency_key";--> statement-breakpoint
DROP INDEX "notifications_tenant_user_created";--> statement-breakpoint
DROP INDEX "notifications_tenant_status_created";--> statement-breakpoint
DROP INDEX "notifications_tenant_created";--> statement-breakpoint
DROP INDEX "notifications_inbox_unread";--> statement-breakpoint
DROP INDEX "delivery_attempts_provider_message";--> statement-breakpoint
ALTER TABLE "schedules" DROP CONSTRAINT "schedules_notification_id_notifications_id_fk";--> statement-breakpoint
ALTER TABLE "notifications" RENAME TO "notifications_0007";--> statement-breakpoint
ALTER TABLE "delivery_attempts" RENAME TO "delivery_attempts_0007";--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid NOT NULL,
	"tenant_id" text NOT NULL,
	"user_id" text NOT NULL,
	"channel" text NOT NULL,
	"type" text NOT NULL,
	"priority" text NOT NULL,
	"status" text NOT NULL,
	"payload" jsonb NOT NULL,
	"metadata" jsonb,
	"idempotency_key" text,
	"request_hash" text,
	"correlation_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"scheduled_for" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"read_at" timestamp with time zone
) PARTITION BY RANGE ("created_at");
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"notification_id" uuid NOT NULL,
	"notification_created_at" timestamp with time zone NOT NULL,
	"attempt" integer NOT NULL,
	"provider" text NOT NULL,
	"outcome" text NOT NULL,
	"latency_ms" integer NOT NULL,
	"error" text,
	"provider_message_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
) PARTITION BY RANGE ("notification_created_at");
--> statement-breakpoint
CREATE TABLE "notifications_default" PARTITION OF "notifications" DEFAULT;--> statement-breakpoint
CREATE TABLE "delivery_attempts_default" PARTITION OF "delivery_attempts" DEFAULT;--> statement-breakpoint
-- A partition for every month from 2000 on that holds rows, and for this month and the next; rows
-- outside them (none a gateway writes) stay in the default partitions, which retention also reads.
DO $$
DECLARE
  m timestamptz;
BEGIN
  FOR m IN
    SELECT DISTINCT date_trunc('month', "created_at", 'UTC') FROM "notifications_0007"
      WHERE "created_at" >= '2000-01-01T00:00:00Z' AND "created_at" < date_trunc('month', now(), 'UTC') + interval '2 months'
    UNION SELECT date_trunc('month', now(), 'UTC')
    UNION SELECT date_trunc('month', now(), 'UTC') + interval '1 month'
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "notifications" FOR VALUES FROM (%L) TO (%L)',
      'notifications_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
    EXECUTE format('CREATE TABLE %I PARTITION OF "delivery_attempts" FOR VALUES FROM (%L) TO (%L)',
      'delivery_attempts_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
  END LOOP;
END
$$;--> statement-breakpoint
INSERT INTO "notifications" ("id", "tenant_id", "user_id", "channel", "type", "priority", "status", "payload", "metadata",
  "idempotency_key", "request_hash", "correlation_id", "attempts", "last_error", "scheduled_for", "created_at", "updated_at", "sent_at", "read_at")
SELECT "id", "tenant_id", "user_id", "channel", "type", "priority", "status", "payload", "metadata",
  "idempotency_key", "request_hash", "correlation_id", "attempts", "last_error", "scheduled_for", "created_at", "updated_at", "sent_at", "read_at"
FROM "notifications_0007";--> statement-breakpoint
INSERT INTO "delivery_attempts" ("notification_id", "notification_created_at", "attempt", "provider", "outcome", "latency_ms", "error",
  "provider_message_id", "created_at")
SELECT a."notification_id", n."created_at", a."attempt", a."provider", a."outcome", a."latency_ms", a."error", a."provider_message_id", a."created_at"
FROM "delivery_attempts_0007" a JOIN "notifications_0007" n ON n."id" = a."notification_id";--> statement-breakpoint
CREATE TABLE "notification_ids" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"idempotency_key" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- The old unique (tenant_id, idempotency_key) held every keyed row: each is registered.
INSERT INTO "notification_ids" ("id", "tenant_id", "idempotency_key", "created_at")
SELECT "id", "tenant_id", "idempotency_key", "created_at" FROM "notifications_0007" WHERE "idempotency_key" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "notification_created_at" timestamp with time zone;--> statement-breakpoint
UPDATE "schedules" s SET "notification_created_at" = n."created_at" FROM "notifications_0007" n WHERE n."id" = s."notification_id";--> statement-breakpoint
ALTER TABLE "schedules" ALTER COLUMN "notification_created_at" SET NOT NULL;--> statement-breakpoint
DROP TABLE "delivery_attempts_0007";--> statement-breakpoint
DROP TABLE "notifications_0007";--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_id_created_at_pk" PRIMARY KEY("id","created_at");--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_pk" PRIMARY KEY("notification_id","notification_created_at","attempt");--> statement-breakpoint
CREATE INDEX "notifications_tenant_user_created" ON "notifications" USING btree ("tenant_id","user_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_tenant_status_created" ON "notifications" USING btree ("tenant_id","status","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_tenant_created" ON "notifications" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_inbox_unread" ON "notifications" USING btree ("tenant_id","user_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "notifications"."channel" = 'in_app' and "notifications"."status" = 'sent' and "notifications"."read_at" is null;--> statement-breakpoint
CREATE INDEX "delivery_attempts_provider_message" ON "delivery_attempts" USING btree ("provider","provider_message_id") WHERE "delivery_attempts"."provider_message_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "notification_ids_tenant_key" ON "notification_ids" USING btree ("tenant_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "notification_ids_created" ON "notification_ids" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_notification_fk" FOREIGN KEY ("notification_id","notification_created_at") REFERENCES "public"."notifications"("id","created_at") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_notification_fk" FOREIGN KEY ("notification_id","notification_created_at") REFERENCES "public"."notifications"("id","created_at") ON DELETE cascade ON UPDATE no action;
