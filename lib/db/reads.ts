import { and, asc, eq, getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SelectedFields } from "drizzle-orm/pg-core";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { Database } from "../../schemas/database.ts";
import { deliveryAttempts, notifications, type NotificationRow } from "../../schemas/tables.ts";
import { encodeCursor } from "./cursor.ts";
import type { Cursor, ListQuery, NotificationReader, NotificationView } from "../../schemas/views.ts";
import type { InboxFeedItem } from "../../schemas/inbox-feed.ts";
import { InAppPayload } from "../../schemas/request.ts";

/** A nullable timestamp as the API shows it. */
export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A row without the columns the API never shows (the payload can be large). */
type ViewRow = Omit<NotificationRow, "payload" | "idempotencyKey" | "requestHash" | "tenantId">;

export function toView(row: ViewRow): NotificationView {
  return {
    id: row.id,
    userId: row.userId,
    channel: row.channel,
    type: row.type,
    priority: row.priority,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    sentAt: iso(row.sentAt),
    scheduledFor: iso(row.scheduledFor),
    metadata: row.metadata ?? null,
    correlationId: row.correlationId,
  };
}

// Never shown by the API, and the payload can be large: left out of every select.
const { payload: _payload, idempotencyKey: _idempotencyKey, requestHash: _requestHash, tenantId: _tenantId, ...columns } = getTableColumns(notifications);
/** The columns a `NotificationView` is made of. */
export const viewColumns = columns;

/** The columns an inbox item is made of. */
export const inboxColumns = {
  id: notifications.id,
  payload: notifications.payload,
  type: notifications.type,
  metadata: notifications.metadata,
  createdAt: notifications.createdAt,
  sentAt: notifications.sentAt,
  readAt: notifications.readAt,
};

/**
 * created_at at full microsecond precision, in UTC: a JS Date keeps only
 * milliseconds, and a cursor rounded to them would skip rows created within
 * the same millisecond.
 */
const createdAtExact = sql<string>`to_char(${notifications.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Newest first, in the exact order of the (…, created_at desc, id desc)
 * indexes, which drizzle-kit writes as DESC NULLS LAST: a plain `desc()` asks
 * for NULLS FIRST, which those indexes cannot give, so Postgres would sort
 * every matching row. Both columns are NOT NULL, so the order is the same.
 */
const newestFirst = [sql`${notifications.createdAt} desc nulls last`, sql`${notifications.id} desc nulls last`] as const;

/** `(created_at, id)` after a cursor, newest first: a range of the same indexes. */
function olderThan(cursor: Cursor): SQL {
  return sql`(${notifications.createdAt}, ${notifications.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`;
}

/**
 * One keyset page of `notifications` matching `filters`, newest first, after
 * `page.cursor`: `fields` plus the exact `cursorAt`, and one row more than
 * `page.limit`, to tell whether there is a next page (`splitPage`).
 */
export function newestPage<F extends SelectedFields>(db: Database, fields: F, filters: Array<SQL | undefined>, page: { limit: number; cursor?: Cursor }) {
  return db
    .select({ ...fields, cursorAt: createdAtExact })
    .from(notifications)
    .where(and(...filters, page.cursor ? olderThan(page.cursor) : undefined))
    .orderBy(...newestFirst)
    .limit(page.limit + 1);
}

/** The rows of a `newestPage` cut to `limit`, and the cursor after the last when there were more. */
export function splitPage<R extends { id: string; cursorAt: string }>(rows: R[], limit: number): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor({ createdAt: last.cursorAt, id: last.id }) : null };
}

/** The query behind `list`. Exported for its plan's test. */
export function listQuery(db: Database, tenant: string, query: ListQuery) {
  const filters: SQL[] = [eq(notifications.tenantId, tenant)];
  if (query.userId !== undefined) filters.push(eq(notifications.userId, query.userId));
  if (query.status !== undefined) filters.push(eq(notifications.status, query.status));
  return newestPage(db, viewColumns, filters, query);
}

/**
 * Reads through the drizzle query builder only, so it runs on postgres.js and
 * PGlite alike; each read is timed into `herald_db_query_duration_seconds`.
 */
export function createNotificationReader(db: Database, metrics: MetricsRecorder = NOOP_METRICS): NotificationReader {
  const owned = (tenant: string, id: string) => and(eq(notifications.tenantId, tenant), eq(notifications.id, id));

  return {
    async get(tenant, id) {
      const [row] = await timeQuery(metrics, "get_notification", () => db.select(viewColumns).from(notifications).where(owned(tenant, id)).limit(1));
      return row ? toView(row) : null;
    },

    async list(tenant, query) {
      const rows = await timeQuery(metrics, "list_notifications", () => listQuery(db, tenant, query));
      const { page, nextCursor } = splitPage(rows, query.limit);
      return { data: page.map(toView), nextCursor };
    },

    async attempts(tenant, id) {
      // Both at once: the ownership check must not add a round trip.
      const [owner, rows] = await timeQuery(metrics, "list_attempts", () =>
        Promise.all([
          db.select({ id: notifications.id }).from(notifications).where(owned(tenant, id)).limit(1),
          db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, id)).orderBy(asc(deliveryAttempts.attempt)),
        ]),
      );
      if (owner.length === 0) return null;
      return rows.map((r) => ({
        attempt: r.attempt,
        provider: r.provider,
        outcome: r.outcome,
        latencyMs: r.latencyMs,
        error: r.error,
        providerMessageId: r.providerMessageId,
        createdAt: r.createdAt.toISOString(),
      }));
    },
  };
}

/**
 * A user's in-app notifications sent after the one with id `afterId`, in the
 * order they were sent (sent_at, then id), at most `limit`: what an inbox
 * stream missed while it was away. Ordered by sending, not by id, because a
 * retried or scheduled notification is sent long after younger ones. Empty
 * when `afterId` is not one of the user's sent in-app notifications.
 */
export async function inboxSentAfter(
  db: Database,
  tenant: string,
  userId: string,
  afterId: string,
  limit: number,
  metrics: MetricsRecorder = NOOP_METRICS,
): Promise<InboxFeedItem[]> {
  const after = sql`(select ref.sent_at from ${notifications} ref
    where ref.tenant_id = ${tenant} and ref.id = ${afterId}::uuid and ref.user_id = ${userId} and ref.channel = 'in_app' and ref.status = 'sent')`;
  const rows = await timeQuery(metrics, "list_inbox", () =>
    db
      .select({ id: notifications.id, payload: notifications.payload, createdAt: notifications.createdAt })
      .from(notifications)
      .where(
        and(
          eq(notifications.tenantId, tenant),
          eq(notifications.userId, userId),
          eq(notifications.channel, "in_app"),
          eq(notifications.status, "sent"),
          sql`(${notifications.sentAt}, ${notifications.id}) > (${after}, ${afterId}::uuid)`,
        ),
      )
      .orderBy(asc(notifications.sentAt), asc(notifications.id))
      .limit(limit),
  );
  return rows.map((row) => {
    // Rows of the in_app channel carry an InAppPayload: the gateway validated it and the sender checked it again.
    const payload = InAppPayload.parse(row.payload);
    return { id: row.id, title: payload.title, body: payload.body, data: payload.data ?? null, createdAt: row.createdAt.toISOString() };
  });
}
