import type { Channel, EventType, Status } from "../schemas/enums.ts";
import { compareEvents, laterEvent, lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";

/** A notification as Postgres has it, with what its event needs. */
export interface DriftRow {
  id: string;
  tenantId: string;
  userId: string;
  channel: Channel;
  status: Status;
  attempts: number;
  lastError: string | null;
  correlationId: string | null;
  metadata: Record<string, string> | null;
  updatedAt: Date;
  /** The payload's `template` (a send by template), for the event's template and category. */
  template: unknown;
}

/** What the events say of a notification: its greatest event (`compareEvents`). */
export type Folded = Pick<LifecycleEvent, "type" | "at">;

/** A row whose status the events do not tell, and what `--repair` can do about it. */
export interface Drift {
  id: string;
  tenantId: string;
  postgres: Status;
  /** The status its events fold to; null: no event of it in the stream. */
  events: EventType | null;
  /** The greatest event's `at`, when there is one. */
  eventsAt: string | null;
  updatedAt: string;
  /** The event that would make the events agree, or why no event can. */
  repair: { type: EventType } | { unrepairable: string };
}

/** Statuses a row still `processing` may show in its events: the attempt in flight is not announced. */
const BEFORE_AN_ATTEMPT: ReadonlySet<EventType> = new Set(["accepted", "retrying", "scheduled"]);

/** Folds one event into the greatest event of its notification seen so far. */
export function foldEvent(latest: Map<string, Folded>, event: LifecycleEvent): void {
  latest.set(event.id, laterEvent(latest.get(event.id), { type: event.type, at: event.at }));
}

/** Whether Postgres's status and the events' agree: equal, or `processing` against a state before an attempt. */
export function agrees(postgres: Status, events: EventType | null): boolean {
  if (events === null) return false;
  if (postgres === "processing") return BEFORE_AN_ATTEMPT.has(events);
  return postgres === events;
}

/** Every row whose events disagree with it, in the rows' order. */
export function findDrift(rows: Iterable<DriftRow>, latest: ReadonlyMap<string, Folded>): Drift[] {
  const drift: Drift[] = [];
  for (const row of rows) {
    const folded = latest.get(row.id);
    if (agrees(row.status, folded?.type ?? null)) continue;
    drift.push({
      id: row.id,
      tenantId: row.tenantId,
      postgres: row.status,
      events: folded?.type ?? null,
      eventsAt: folded?.at ?? null,
      updatedAt: row.updatedAt.toISOString(),
      repair: repairOf(row, folded),
    });
  }
  return drift;
}

/**
 * An event of the row's status at its updated_at mends the drift only when it
 * is greater than what the events already hold: a subscriber's fold would
 * otherwise keep the old status.
 */
function repairOf(row: DriftRow, folded: Folded | undefined): Drift["repair"] {
  if (row.status === "processing") return { unrepairable: "`processing` is not an event" };
  const candidate = { type: row.status, at: row.updatedAt.toISOString() };
  if (folded !== undefined && compareEvents(candidate, folded) <= 0)
    return { unrepairable: `the events' ${folded.type} at ${folded.at} is not older than the row's updated_at` };
  return { type: row.status };
}

/** The event `--repair` publishes for a row: its current status, at its updated_at. */
export function repairEvent(row: DriftRow, type: EventType): LifecycleEvent {
  const template = row.template === null || row.template === undefined ? undefined : { template: row.template };
  return lifecycleEvent(
    type,
    {
      id: row.id,
      tenantId: row.tenantId,
      userId: row.userId,
      channel: row.channel,
      correlationId: row.correlationId,
      metadata: row.metadata,
      ...(template ? { payload: template } : {}),
    },
    {
      at: row.updatedAt,
      ...(row.attempts > 0 ? { attempt: row.attempts } : {}),
      ...(row.lastError !== null && (type === "failed" || type === "retrying" || type === "bounced" || type === "suppressed") ? { error: row.lastError } : {}),
    },
  );
}
