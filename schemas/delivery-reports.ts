import type { Channel, DeliveryReportStatus, Status, SuppressionSource } from "./enums.ts";

/**
 * What providers say after they accepted a message (delivered, bounced), and
 * the addresses a tenant must not send to again. lib/db implements the
 * writes; the gateway's callback routes depend only on these shapes.
 */

/** One provider callback's word on one message it accepted. */
export interface DeliveryReport {
  /** The provider as its delivery attempts name it (`twilio`, `resend`). */
  provider: string;
  /** The provider's own id for the message, as its sent attempt recorded it. */
  providerMessageId: string;
  status: DeliveryReportStatus;
  /** The provider's reason for a bounce (`twilio 30003`); null for a delivery. */
  reason: string | null;
  /** When the provider says it happened. */
  at: Date;
}

/** The notification a provider's message id names, as a callback needs it. */
export interface ReportedNotification {
  id: string;
  tenantId: string;
  userId: string;
  channel: Channel;
  status: Status;
  /** What was sent, so a bounce can name the address to suppress. */
  payload: Record<string, unknown>;
}

/** A notification a report moved forward: its new status, the provider's reason and time. */
export interface MovedNotification extends Omit<ReportedNotification, "status"> {
  status: DeliveryReportStatus;
  correlationId: string | null;
  metadata: Record<string, string> | null;
  reason: string | null;
  at: Date;
}

/** One address of one tenant on one channel, normalised by `suppressionAddress` (lib/db/suppressions.ts). */
export interface SuppressionKey {
  tenantId: string;
  channel: Channel;
  address: string;
}

/** Why an address is suppressed, and the notification that revealed it. */
export interface Suppression extends SuppressionKey {
  reason: string;
  source: SuppressionSource;
  notificationId: string | null;
}

/** What the gateway's provider callbacks ask of the system of record. */
export interface DeliveryReports {
  /** Moves the notifications the reports name forward (never back); the ones it moved. */
  apply(reports: DeliveryReport[]): Promise<MovedNotification[]>;
  /** The notifications whose sent attempt with `provider` recorded one of these ids, whatever their status. */
  find(provider: string, providerMessageIds: string[]): Promise<ReportedNotification[]>;
  /** Records the suppressions (the first one of an address stays); how many were new. */
  suppress(entries: Suppression[]): Promise<number>;
}
