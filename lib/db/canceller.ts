import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { Database } from "../../schemas/database.ts";
import { CHANNELS, NOTIFICATION_TYPES, PRIORITIES } from "../../schemas/enums.ts";
import { notifications } from "../../schemas/tables.ts";
import { cancelRow, insertCancelled } from "./notification-repository.ts";
import { toView, viewColumns } from "./reads.ts";
import type { AcceptedView, NotificationCanceller } from "../../schemas/views.ts";

const Recalled = z.object({ channel: z.enum(CHANNELS), type: z.enum(NOTIFICATION_TYPES), priority: z.enum(PRIORITIES) });

/** The row a notification accepted but not yet recorded is cancelled as (`insertCancelled`). */
function tombstone(tenant: string, accepted: AcceptedView) {
  const { channel, type, priority } = Recalled.parse(accepted);
  return {
    id: accepted.id,
    tenantId: tenant,
    userId: accepted.userId,
    channel,
    type,
    priority,
    metadata: accepted.metadata,
    correlationId: accepted.correlationId,
    scheduledFor: accepted.scheduledFor === null ? null : new Date(accepted.scheduledFor),
    createdAt: new Date(accepted.createdAt),
  };
}

/** Cancels through the row's status (`cancelRow`), or a tombstone for one the processor has not recorded yet. */
export function createNotificationCanceller(db: Database, metrics: MetricsRecorder = NOOP_METRICS): NotificationCanceller {
  const owned = (tenant: string, id: string) => and(eq(notifications.tenantId, tenant), eq(notifications.id, id));
  return {
    async cancel(tenant, id, recall) {
      // Two rounds at most: the second only when the processor recorded the row between our update and our insert.
      for (let round = 0; round < 2; round++) {
        const updated = await timeQuery(metrics, "cancel_notification", () => cancelRow(db, tenant, id));
        if (updated) return { kind: "cancelled", view: toView(updated) };
        const [row] = await timeQuery(metrics, "get_notification", () => db.select(viewColumns).from(notifications).where(owned(tenant, id)).limit(1));
        if (row) return { kind: row.status === "cancelled" ? "already_cancelled" : "not_cancellable", view: toView(row) };
        const accepted = await recall();
        if (accepted === null) return { kind: "unknown" };
        const inserted = await timeQuery(metrics, "cancel_notification", () => insertCancelled(db, tombstone(tenant, accepted)));
        if (inserted) return { kind: "cancelled", view: toView(inserted) };
      }
      // Only a row that keeps appearing and vanishing gets here, which Herald never does (rows are not deleted).
      throw new Error(`cancel of ${id} did not settle`);
    },
  };
}
