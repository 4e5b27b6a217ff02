import { and, count, isNull } from "drizzle-orm";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { Database } from "../../schemas/database.ts";
import { InAppPayload } from "../../schemas/request.ts";
import { notifications } from "../../schemas/tables.ts";
import { deliveredInApp, markAllRead, markRead } from "./notification-repository.ts";
import { inboxColumns, iso, newestPage, splitPage } from "./reads.ts";
import type { Inbox, InboxItem, InboxQuery } from "../../schemas/views.ts";

const columns = inboxColumns;
type Row = {
  id: string;
  payload: Record<string, unknown>;
  type: string;
  metadata: Record<string, string> | null;
  createdAt: Date;
  sentAt: Date | null;
  readAt: Date | null;
};

function toItem(row: Row): InboxItem {
  // Rows of the in_app channel carry an InAppPayload: the gateway validated it and the sender checked it again.
  const payload = InAppPayload.parse(row.payload);
  return {
    id: row.id,
    title: payload.title,
    body: payload.body,
    data: payload.data ?? null,
    type: row.type,
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
    sentAt: iso(row.sentAt),
    readAt: iso(row.readAt),
  };
}

const delivered = deliveredInApp;

/** The query behind an inbox page: the same keyset page as the notifications list. Exported for its plan's test. */
export function inboxPageQuery(db: Database, tenant: string, query: InboxQuery) {
  return newestPage(db, columns, [delivered(tenant, query.userId), query.unread ? isNull(notifications.readAt) : undefined], query);
}

/** The user's unread count, read from the `notifications_inbox_unread` partial index. Exported for its plan's test. */
export function unreadCountQuery(db: Database, tenant: string, userId: string) {
  return db
    .select({ n: count() })
    .from(notifications)
    .where(and(delivered(tenant, userId), isNull(notifications.readAt)));
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
      const row = await timeQuery(metrics, "mark_read", () => markRead(db, tenant, id));
      return row ? toItem(row) : null;
    },

    markAllRead: (tenant, userId) => timeQuery(metrics, "mark_read", () => markAllRead(db, tenant, userId)),
  };
}
