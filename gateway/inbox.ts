import { and, count, eq, isNull, sql, type SQL } from "drizzle-orm";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../bin/telemetry/recorder.ts";
import type { Database } from "../schemas/database.ts";
import { InAppPayload } from "../schemas/request.ts";
import { notifications } from "../schemas/tables.ts";
import type { Cursor } from "./cursor.ts";
import { iso, newestPage, splitPage } from "./reader.ts";

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

const columns = {
  id: notifications.id,
  payload: notifications.payload,
  type: notifications.type,
  metadata: notifications.metadata,
  createdAt: notifications.createdAt,
  sentAt: notifications.sentAt,
  readAt: notifications.readAt,
};
type Row = { id: string; payload: Record<string, unknown>; type: string; metadata: Record<string, string> | null; createdAt: Date; sentAt: Date | null; readAt: Date | null };

function toItem(row: Row): InboxItem {
  // Rows of the in_app channel carry an InAppPayload: the gateway validated it and the sender checked it again.
  const payload = InAppPayload.parse(row.payload);
  return { id: row.id, title: payload.title, body: payload.body, data: payload.data ?? null, type: row.type, metadata: row.metadata, createdAt: row.createdAt.toISOString(), sentAt: iso(row.sentAt), readAt: iso(row.readAt) };
}

/** A user's delivered in-app notifications. */
function delivered(tenant: string, userId: string): SQL | undefined {
  return and(eq(notifications.tenantId, tenant), eq(notifications.userId, userId), eq(notifications.channel, "in_app"), eq(notifications.status, "sent"));
}

/** The query behind an inbox page: the same keyset page as the notifications list. Exported for its plan's test. */
export function inboxPageQuery(db: Database, tenant: string, query: InboxQuery) {
  return newestPage(db, columns, [delivered(tenant, query.userId), query.unread ? isNull(notifications.readAt) : undefined], query);
}

/** The user's unread count, read from the `notifications_inbox_unread` partial index. Exported for its plan's test. */
export function unreadCountQuery(db: Database, tenant: string, userId: string) {
  return db.select({ n: count() }).from(notifications).where(and(delivered(tenant, userId), isNull(notifications.readAt)));
}

/**
 * The in-app inbox: a user's delivered (`sent`) in-app notifications with
 * their title, body and data, newest first, and whether each was read.
 * Drizzle's query builder only, so it runs on postgres.js and PGlite alike.
 */
export function createInbox(db: Database, metrics: MetricsRecorder = NOOP_METRICS): Inbox {
  return {
    async list(tenant, query) {
      const [rows, unread] = await timeQuery(metrics, "list_inbox", () =>
        Promise.all([inboxPageQuery(db, tenant, query), unreadCountQuery(db, tenant, query.userId)]),
      );
      const { page, nextCursor } = splitPage(rows, query.limit);
      return { data: page.map(toItem), nextCursor, unreadCount: unread[0]?.n ?? 0 };
    },

    async markRead(tenant, id) {
      const mine = and(eq(notifications.tenantId, tenant), eq(notifications.id, id), eq(notifications.channel, "in_app"), eq(notifications.status, "sent"));
      const [row] = await timeQuery(metrics, "mark_read", () =>
        db
          .update(notifications)
          .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
          .where(mine)
          .returning(columns),
      );
      return row ? toItem(row) : null;
    },

    async markAllRead(tenant, userId) {
      const rows = await timeQuery(metrics, "mark_read", () =>
        db
          .update(notifications)
          .set({ readAt: sql`now()` })
          .where(and(delivered(tenant, userId), isNull(notifications.readAt)))
          .returning({ id: notifications.id }),
      );
      return rows.length;
    },
  };
}
