import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../bin/telemetry/recorder.ts";
import type { Database } from "../schemas/database.ts";
import { CANCELLABLE_STATUSES, CHANNELS, NOTIFICATION_TYPES, PRIORITIES } from "../schemas/enums.ts";
import { notifications, type NewNotificationRow } from "../schemas/tables.ts";
import { toView, viewColumns, type NotificationView } from "./reader.ts";
import type { AcceptedView } from "./store/types.ts";

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

const Recalled = z.object({ channel: z.enum(CHANNELS), type: z.enum(NOTIFICATION_TYPES), priority: z.enum(PRIORITIES) });

/**
 * The row that stands for a notification cancelled before the processor
 * recorded it: when its message arrives, the processor's insert meets this
 * id, reads `cancelled` and acks without sending. The payload was never
 * kept outside the message, so the row has none.
 */
function tombstone(tenant: string, accepted: AcceptedView): NewNotificationRow {
  const { channel, type, priority } = Recalled.parse(accepted);
  return {
    id: accepted.id,
    tenantId: tenant,
    userId: accepted.userId,
    channel,
    type,
    priority,
    status: "cancelled",
    payload: {},
    metadata: accepted.metadata,
    correlationId: accepted.correlationId,
    scheduledFor: accepted.scheduledFor === null ? null : new Date(accepted.scheduledFor),
    createdAt: new Date(accepted.createdAt),
  };
}

/**
 * Cancels through the row's status, the lock the processor takes too: a row
 * goes `processing` only from a cancellable status (processor/store.ts
 * `markProcessing`), and is cancelled only from one, so a notification is
 * either cancelled or sent, never both.
 */
export function createNotificationCanceller(db: Database, metrics: MetricsRecorder = NOOP_METRICS): NotificationCanceller {
  const owned = (tenant: string, id: string) => and(eq(notifications.tenantId, tenant), eq(notifications.id, id));
  return {
    async cancel(tenant, id, recall) {
      // Two rounds at most: the second only when the processor recorded the row between our update and our insert.
      for (let round = 0; round < 2; round++) {
        const [updated] = await timeQuery(metrics, "cancel_notification", () =>
          db
            .update(notifications)
            .set({ status: "cancelled", updatedAt: sql`now()` })
            .where(and(owned(tenant, id), inArray(notifications.status, [...CANCELLABLE_STATUSES])))
            .returning(viewColumns),
        );
        if (updated) return { kind: "cancelled", view: toView(updated) };
        const [row] = await timeQuery(metrics, "get_notification", () => db.select(viewColumns).from(notifications).where(owned(tenant, id)).limit(1));
        if (row) return { kind: row.status === "cancelled" ? "already_cancelled" : "not_cancellable", view: toView(row) };
        const accepted = await recall();
        if (accepted === null) return { kind: "unknown" };
        const [inserted] = await timeQuery(metrics, "cancel_notification", () =>
          db.insert(notifications).values(tombstone(tenant, accepted)).onConflictDoNothing().returning(viewColumns),
        );
        if (inserted) return { kind: "cancelled", view: toView(inserted) };
      }
      // Only a row that keeps appearing and vanishing gets here, which Herald never does (rows are not deleted).
      throw new Error(`cancel of ${id} did not settle`);
    },
  };
}
