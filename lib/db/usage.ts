import { and, count, eq, gte, lt } from "drizzle-orm";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { Database } from "../../schemas/database.ts";
import type { Channel } from "../../schemas/enums.ts";
import { notifications } from "../../schemas/tables.ts";

/**
 * How many of a tenant's notifications on a channel were accepted in
 * `[from, to)` (`created_at` is the gateway's accept time): what a spend
 * cap's counter restarts from when the gateway store lost it. Read-only.
 * Rows the processor has not written yet (in the stream, in flight) are not
 * counted. Runs on `notifications_tenant_created`, the channel as a filter.
 */
export async function countAccepted(
  db: Database,
  tenant: string,
  channel: Channel,
  from: Date,
  to: Date,
  metrics: MetricsRecorder = NOOP_METRICS,
): Promise<number> {
  const [row] = await timeQuery(metrics, "count_day", () =>
    db
      .select({ n: count() })
      .from(notifications)
      .where(and(eq(notifications.tenantId, tenant), gte(notifications.createdAt, from), lt(notifications.createdAt, to), eq(notifications.channel, channel))),
  );
  return row?.n ?? 0;
}
