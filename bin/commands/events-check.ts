import type { NatsConnection } from "@nats-io/nats-core";
import { rowsCreatedIn } from "../../lib/db/event-rows.ts";
import { findDrift, foldEvent, repairEvent, type Drift, type Folded } from "../../lib/event-drift.ts";
import type { AckPublisher } from "../../lib/nats/ack-publisher.ts";
import { publishEvent } from "../../lib/nats/event-publisher.ts";
import { EVENT_CLOCK_SKEW_MS, eventStreamBounds, readEvents, type ReadProgress } from "../../lib/nats/event-reader.ts";
import type { Database } from "../../schemas/database.ts";
import type { Topology } from "../../schemas/subjects.ts";
import type { EventsAction } from "./events-flags.ts";

type Check = Extract<EventsAction, { kind: "check" }>;

/** One line of the check's output. */
export type CheckLine =
  | ({ kind: "drift" } & Drift)
  | { kind: "repaired"; id: string; type: string; eventId: string; at: string }
  | { kind: "unrepaired"; id: string; reason: string }
  | {
      kind: "summary";
      since: string;
      until: string;
      tenant: string | null;
      rows: number;
      eventsRead: number;
      notEvents: number;
      drift: number;
      repaired: number;
      unrepaired: number;
      agedOut: boolean;
    };

/** What `herald events check` found; `lines` in the order they are printed. */
export interface CheckReport {
  lines: CheckLine[];
  drift: number;
  /** Set when `since` is older than the stream's first message: what aged out shows as drift. */
  agedOutBefore: Date | null;
}

/**
 * Rebuilds the status of every notification created in [since, until) from
 * the events stream, read from `since` to its end (later events move earlier
 * notifications), and compares it with Postgres; with `repair`, publishes for
 * each drifting row the event of its current status at its updated_at.
 */
export async function checkEvents(deps: { nc: NatsConnection; db: Database; topo: Topology; publisher: AckPublisher }, action: Check): Promise<CheckReport> {
  const { nc, db, topo } = deps;
  const until = action.until ?? new Date();
  // Rows first, then the stream's end: an event published between the two is read, not reported missing.
  const rows = await rowsCreatedIn(db, { since: action.since, until, ...(action.tenant ? { tenant: action.tenant } : {}) });
  const bounds = await eventStreamBounds(nc, topo);
  // Messages were removed only when the first sequence is past 1; a young stream that starts after `since` lost nothing.
  const oldest = bounds.firstTime ?? new Date();
  const agedOutBefore = bounds.firstSeq > 1 && oldest > action.since ? oldest : null;
  const latest = new Map<string, Folded>();
  const progress: ReadProgress = { scanned: 0, nextSeq: 0 };
  let notEvents = 0;
  if (rows.length > 0) {
    const ids = new Set(rows.map((r) => r.id));
    const since = new Date(action.since.getTime() - EVENT_CLOCK_SKEW_MS);
    for await (const read of readEvents(nc, topo, { since, ids, ...(action.tenant ? { tenant: action.tenant } : {}) }, progress)) {
      if (read.kind === "event") foldEvent(latest, read.event);
      else notEvents++;
    }
  }
  const drift = findDrift(rows, latest);
  const lines: CheckLine[] = drift.map((d) => ({ kind: "drift", ...d }));
  let repaired = 0;
  let unrepaired = 0;
  if (action.repair) {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const d of drift) {
      const row = byId.get(d.id);
      if (row === undefined) continue;
      if ("unrepairable" in d.repair) {
        unrepaired++;
        lines.push({ kind: "unrepaired", id: d.id, reason: d.repair.unrepairable });
        continue;
      }
      const event = repairEvent(row, d.repair.type);
      await publishEvent(deps.publisher, topo, event);
      repaired++;
      lines.push({ kind: "repaired", id: d.id, type: event.type, eventId: event.eventId, at: event.at });
    }
  }
  lines.push({
    kind: "summary",
    since: action.since.toISOString(),
    until: until.toISOString(),
    tenant: action.tenant ?? null,
    rows: rows.length,
    eventsRead: progress.scanned,
    notEvents,
    drift: drift.length,
    repaired,
    unrepaired,
    agedOut: agedOutBefore !== null,
  });
  return { lines, drift: drift.length, agedOutBefore };
}
