import type { Channel } from "../../schemas/enums.ts";
import type { Envelope } from "../../schemas/envelope.ts";

/** What a sender gets: the envelope minus routing-only fields. */
export type OutboundNotification = Pick<Envelope, "id" | "tenantId" | "userId" | "channel" | "type" | "payload" | "metadata" | "correlationId">;

export interface SendContext {
  /** 1-based attempt number (attempts are counted in Postgres). */
  attempt: number;
  /** Aborted when the processor gives up on the call. */
  signal: AbortSignal;
}

export interface SendResult {
  providerMessageId?: string;
}

/**
 * One channel's provider. Returns on success; throws `RetryableError` or
 * `PermanentError` (./errors.ts) on failure — anything else counts as retryable.
 */
export interface Sender {
  provider: string;
  /**
   * Whether this provider can carry the notification at all (APNs takes only
   * APNs device tokens); a channel's provider list skips one that cannot.
   * Left out: every notification of its channel.
   */
  accepts?(n: OutboundNotification): boolean;
  /**
   * Reads at once what a batch's sends through this provider will need (the
   * webhook tenants' signing secrets), before they start. Never rejects: a
   * send reads what it still lacks itself.
   */
  prepare?(batch: readonly OutboundNotification[]): Promise<void>;
  send(n: OutboundNotification, ctx: SendContext): Promise<SendResult>;
  /** Releases what the sender holds (an SMTP pool), after the processor stopped sending. */
  close?(): Promise<void>;
}

export type Senders = Record<Channel, Sender>;

/** Each channel's providers in the order they are tried (HERALD_EMAIL_PROVIDERS, …). */
export type ProviderChains = Record<Channel, readonly Sender[]>;
