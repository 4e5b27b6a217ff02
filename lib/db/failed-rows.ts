import { and, asc, eq, gt, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import type { DeadLetterQuery, DeadLetterSummary, FailedPosition } from "../../schemas/dead-letter.ts";
import type { Channel } from "../../schemas/enums.ts";
import { notifications } from "../../schemas/tables.ts";

export const exactTime = (column: SQL | typeof notifications.updatedAt) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
export const oldestFirst = [asc(notifications.updatedAt), asc(notifications.id)] as const;

/** The failed rows a filter selects, after `after` and no later than `until`, in (updated_at, id) order. */
export function failedRows(f: { channel?: Channel; tenant?: string; since?: Date; until?: string; after?: FailedPosition }): SQL | undefined {
  return and(
    eq(notifications.status, "failed"),
    f.channel ? eq(notifications.channel, f.channel) : undefined,
    f.tenant ? eq(notifications.tenantId, f.tenant) : undefined,
    f.since ? gt(notifications.updatedAt, f.since) : undefined,
    f.until ? sql`${notifications.updatedAt} <= ${f.until}::timestamptz` : undefined,
    f.after ? sql`(${notifications.updatedAt}, ${notifications.id}) > (${f.after.at}::timestamptz, ${f.after.id}::uuid)` : undefined,
  );
}

/** Failed notifications, oldest failure first, keyset-paginated; `next` is null on the last page. */
export async function listDeadLetters(db: Database, query: DeadLetterQuery): Promise<{ data: DeadLetterSummary[]; next: FailedPosition | null }> {
  const rows = await db
    .select({
      id: notifications.id,
      tenantId: notifications.tenantId,
      channel: notifications.channel,
      error: notifications.lastError,
      attempts: notifications.attempts,
      updatedAt: notifications.updatedAt,
      at: exactTime(notifications.updatedAt),
    })
    .from(notifications)
    .where(failedRows(query))
    .orderBy(...oldestFirst)
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: page.map(({ updatedAt, at: _at, ...r }) => ({ ...r, failedAt: updatedAt.toISOString() })),
    next: rows.length > query.limit && last !== undefined ? { at: last.at, id: last.id } : null,
  };
}
