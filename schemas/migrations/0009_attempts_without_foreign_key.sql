ALTER TABLE "delivery_attempts" DROP CONSTRAINT "delivery_attempts_notification_fk";
