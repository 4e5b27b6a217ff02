import { and, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import { notifications } from "../../schemas/tables.ts";
import type { DriftRow } from "../event-drift.ts";

/**
 * The notifications created in [since, until), optionally one tenant's, with
 * what the drift check compares and its repair publishes: no payload but its
 * `template`. The range on created_at keeps the read to the window's months.
 */
export async function rowsCreatedIn(db: Database, window: { since: Date; until: Date; tenant?: string }): Promise<DriftRow[]> {
  const filters: SQL[] = [gte(notifications.createdAt, window.since), lt(notifications.createdAt, window.until)];
  if (window.tenant !== undefined) filters.push(eq(notifications.tenantId, window.tenant));
  return db
    .select({
      id: notifications.id,
      tenantId: notifications.tenantId,
      userId: notifications.userId,
      channel: notifications.channel,
      status: notifications.status,
      attempts: notifications.attempts,
      lastError: notifications.lastError,
      correlationId: notifications.correlationId,
      metadata: notifications.metadata,
      updatedAt: notifications.updatedAt,
      template: sql<unknown>`${notifications.payload} -> 'template'`,
    })
    .from(notifications)
    .where(and(...filters))
    .orderBy(notifications.createdAt, notifications.id);
}

/** A notification's tenant and creation time, whoever's it is (an operator's read); null: no such row. */
export async function createdAtOf(db: Database, id: string): Promise<{ tenantId: string; createdAt: Date } | null> {
  const [row] = await db
    .select({ tenantId: notifications.tenantId, createdAt: notifications.createdAt })
    .from(notifications)
    .where(eq(notifications.id, id))
    .limit(1);
  return row ?? null;
}
