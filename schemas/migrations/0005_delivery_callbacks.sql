CREATE TABLE "suppressions" (
	"tenant_id" text NOT NULL,
	"channel" text NOT NULL,
	"address" text NOT NULL,
	"reason" text NOT NULL,
	"source" text NOT NULL,
	"notification_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "suppressions_tenant_id_channel_address_pk" PRIMARY KEY("tenant_id","channel","address")
);
--> statement-breakpoint
CREATE INDEX "delivery_attempts_provider_message" ON "delivery_attempts" USING btree ("provider","provider_message_id") WHERE "delivery_attempts"."provider_message_id" is not null;