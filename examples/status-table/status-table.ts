import { type EventType, type LifecycleEvent, laterEvent, subscribe, type Subscription } from "@herald/events";
import type { Sql } from "postgres";

/** The service's own table: each notification's latest status as its events tell it. */
export const CREATE_TABLE = `
create table if not exists notification_status (
  id uuid primary key,
  tenant_id text not null,
  status text not null,
  at timestamptz not null,
  event_id text not null,
  updated_at timestamptz not null default now()
)`;

export async function migrate(sql: Sql): Promise<void> {
  await sql.unsafe(CREATE_TABLE);
}

/**
 * Moves a notification's row forward to `event` when `laterEvent` says it is
 * later than what the row holds; a copy, or an early event arriving late,
 * leaves the row as it is. The row lock makes two instances of the service
 * on one durable safe as well.
 */
export async function applyEvent(sql: Sql, event: LifecycleEvent): Promise<void> {
  await sql.begin(async (tx) => {
    const inserted = await tx`
      insert into notification_status (id, tenant_id, status, at, event_id)
      values (${event.id}, ${event.tenantId}, ${event.type}, ${event.at}, ${event.eventId})
      on conflict (id) do nothing
      returning id`;
    if (inserted.length > 0) return;
    const [row] = await tx<{ status: EventType; at: Date }[]>`select status, at from notification_status where id = ${event.id} for update`;
    if (row === undefined) return;
    const current = { type: row.status, at: row.at.toISOString() };
    if (laterEvent(current, event) === current) return;
    await tx`
      update notification_status
      set status = ${event.type}, at = ${event.at}, event_id = ${event.eventId}, updated_at = now()
      where id = ${event.id}`;
  });
}

export interface StatusTableOptions {
  sql: Sql;
  servers: string | string[];
  namespace: string;
  /** The durable consumer's name: a restarted service resumes where it stopped. */
  durable?: string;
  concurrency?: number;
}

/** Creates the table and keeps it from the events until `close()`. */
export async function startStatusTable(opts: StatusTableOptions): Promise<Subscription> {
  await migrate(opts.sql);
  return subscribe({
    servers: opts.servers,
    namespace: opts.namespace,
    durable: opts.durable ?? "status-table",
    // A new service reads every event the stream keeps, so rows accepted before it started are there too.
    startAt: "all",
    concurrency: opts.concurrency ?? 32,
    handler: (event) => applyEvent(opts.sql, event),
    onDropped: (event, err) => console.error(`status-table: gave up on ${event.eventId}: ${String(err)}`),
    onInvalid: (m) => console.error(`status-table: not an event at seq ${m.seq}: ${m.reason}`),
  });
}
