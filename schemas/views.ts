import type { AttemptOutcome, Channel, NotificationType, Priority, Status } from "./enums.ts";

/**
 * What the API shows of notifications, and the reads and writes the gateway
 * asks of the system of record: lib/db implements them, the gateway depends
 * only on these shapes.
 */

/** What `GET /v1/notifications/:id` answers; the payload is deliberately not echoed back. */
export interface NotificationView {
  id: string;
  userId: string;
  channel: Channel;
  type: NotificationType;
  priority: Priority;
  status: Status;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  scheduledFor: string | null;
  metadata: Record<string, string> | null;
  correlationId: string | null;
}

export interface AttemptView {
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  error: string | null;
  /** The provider's id for the message it accepted; null for failures and providers that name none. */
  providerMessageId: string | null;
  createdAt: string;
}

export interface ListQuery {
  userId?: string;
  status?: Status;
  /** 1..100; the route validates it. */
  limit: number;
  cursor?: Cursor;
}

export interface NotificationPage {
  data: NotificationView[];
  nextCursor: string | null;
}

/** Tenant-scoped reads of the system of record; another tenant's rows are indistinguishable from missing ones. */
export interface NotificationReader {
  get(tenant: string, id: string): Promise<NotificationView | null>;
  /** Newest first, keyset-paginated over (created_at desc, id desc). */
  list(tenant: string, query: ListQuery): Promise<NotificationPage>;
  /** The attempts in order, or null when the tenant has no such notification. */
  attempts(tenant: string, id: string): Promise<AttemptView[] | null>;
}

/** One in-app notification as the user's app shows it. */
export interface InboxItem {
  id: string;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  type: string;
  metadata: Record<string, string> | null;
  createdAt: string;
  sentAt: string | null;
  readAt: string | null;
}

export interface InboxQuery {
  userId: string;
  /** Only the ones not read yet. */
  unread: boolean;
  limit: number;
  cursor?: Cursor;
}

export interface InboxPage {
  data: InboxItem[];
  nextCursor: string | null;
  /** The user's unread in-app notifications, all pages together (an app's badge). */
  unreadCount: number;
}

export interface Inbox {
  list(tenant: string, query: InboxQuery): Promise<InboxPage>;
  /** Marks one read (idempotent: the first read time stays); null when the tenant has no such in-app notification delivered. */
  markRead(tenant: string, id: string): Promise<InboxItem | null>;
  /** Marks all of a user's delivered in-app notifications read; how many were unread. */
  markAllRead(tenant: string, userId: string): Promise<number>;
}

/** What a cancel request came to. */
export type CancelResult =
  | { kind: "cancelled"; view: NotificationView }
  | { kind: "already_cancelled"; view: NotificationView }
  /** Being sent right now (`processing`), or already sent or failed. */
  | { kind: "not_cancellable"; view: NotificationView }
  | { kind: "unknown" };

export interface NotificationCanceller {
  /**
   * Cancels the tenant's notification unless a send is in flight or done.
   * `recall` gives the read-your-writes copy of one accepted but not yet
   * recorded by the processor.
   */
  cancel(tenant: string, id: string, recall: () => Promise<AcceptedView | null>): Promise<CancelResult>;
}

/** What GET /v1/notifications/:id shows before the processor has written the row. */
export interface AcceptedView {
  id: string;
  userId: string;
  channel: Channel;
  type: NotificationType;
  priority: Priority;
  status: "accepted" | "scheduled";
  createdAt: string;
  scheduledFor: string | null;
  metadata: Record<string, string> | null;
  correlationId: string | null;
}

/** Position after the last row of a page: its exact created_at (microseconds, UTC) and id. */
export interface Cursor {
  createdAt: string;
  id: string;
}
