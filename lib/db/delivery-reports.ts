import type { Sql } from "../../schemas/database.ts";
import type { DeliveryReports, ReportedNotification } from "../../schemas/delivery-reports.ts";
import { CHANNELS, STATUSES } from "../../schemas/enums.ts";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../telemetry/recorder.ts";
import { applyDeliveryReports } from "./notification-repository.ts";
import { recordSuppressions } from "./suppressions.ts";

/** The provider callbacks' writes and their one read (timed as a notification read). */
export function createDeliveryReports(db: Sql, metrics: MetricsRecorder = NOOP_METRICS): DeliveryReports {
  return {
    apply: (reports) => timeQuery(metrics, "apply_delivery_reports", () => applyDeliveryReports(db, reports)),
    find: (provider, ids) => timeQuery(metrics, "get_notification", () => findReported(db, provider, ids)),
    suppress: (entries) => timeQuery(metrics, "record_suppressions", () => recordSuppressions(db, entries)),
  };
}

/** The notifications whose sent attempt with `provider` recorded one of the ids, in one read (the attempts' provider-message index). */
export async function findReported(db: Sql, provider: string, providerMessageIds: string[]): Promise<ReportedNotification[]> {
  if (providerMessageIds.length === 0) return [];
  const rows = await db.run(FIND_SQL, [provider, JSON.stringify(providerMessageIds)]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    userId: String(r.user_id),
    channel: oneOf(CHANNELS, r.channel),
    status: oneOf(STATUSES, r.status),
    payload: (r.payload ?? {}) as Record<string, unknown>,
  }));
}

const FIND_SQL = `
  select distinct n.id, n.tenant_id, n.user_id, n.channel, n.status, n.payload
  from delivery_attempts a join notifications n on n.id = a.notification_id
  where a.provider = $1 and a.provider_message_id in (select jsonb_array_elements_text($2::jsonb))`;

function oneOf<T extends string>(values: readonly T[], value: unknown): T {
  const found = values.find((v) => v === value);
  if (found === undefined) throw new Error(`unexpected value in the database: ${String(value)}`);
  return found;
}
