import { Hono } from "hono";
import { z } from "zod";
import { createdAtOf } from "../../lib/db/event-rows.ts";
import { EVENT_CLOCK_SKEW_MS, type EventRead, type EventWindow } from "../../lib/nats/event-reader.ts";
import { EVENT_TYPES, type EventType } from "../../schemas/enums.ts";
import { compareEvents, type LifecycleEvent } from "../../schemas/events.ts";
import { isUuid, storableText } from "../../schemas/storable.ts";
import type { AdminDeps, AdminEventsDeps } from "../context.ts";
import { AppError, invalidQuery } from "../errors.ts";
import { operatorOnly, type AdminEnv } from "../middleware/admin-auth.ts";

/** How far past its created_at a notification's history reads when the request names no `until`. */
export const DEFAULT_HISTORY_HORIZON_MS = 60 * 60 * 1000;

/** One message of `GET /admin/v1/events`: an event with its place and time in the stream. */
export interface StreamEvent {
  seq: number;
  time: string;
  event: LifecycleEvent;
}
/** A message of the window that is not an event. */
export interface StreamInvalid {
  seq: number;
  time: string;
  subject: string;
  error: string;
}
/** The JSON page of `GET /admin/v1/events`; `nextCursor` is the stream sequence to go on from. */
export interface EventPage {
  data: StreamEvent[];
  invalid: StreamInvalid[];
  nextCursor: string | null;
}
/** One step of a notification's life, as its event tells it. */
export interface HistoryStep {
  type: EventType;
  at: string;
  attempt: number | null;
  error: string | null;
  provider: string | null;
  eventId: string;
  seq: number;
  streamTime: string;
}
/** `GET /admin/v1/notifications/:id/history`. */
export interface NotificationHistory {
  id: string;
  tenantId: string;
  createdAt: string;
  /** The type of its greatest event; null when the window holds none. */
  status: EventType | null;
  /** The stream times read: [from, until). */
  scanned: { from: string; until: string; messages: number };
  timeline: HistoryStep[];
}

const time = z.iso.datetime({ offset: true });
const cursor = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, "Not a cursor from this API")
  .optional();
const types = z
  .string()
  .transform((s) => s.split(",").map((t) => t.trim()))
  .pipe(z.array(z.enum(EVENT_TYPES)).min(1))
  .optional();
const EventsQuery = z.object({
  since: time,
  until: time.optional(),
  type: types,
  tenant: storableText().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor,
});
const HistoryQuery = z.object({ until: time.optional() });

const NDJSON = "application/x-ndjson";

function eventsOf(admin: AdminDeps): AdminEventsDeps {
  if (admin.events === undefined) throw new AppError("unavailable", { detail: "This gateway does not read the events stream", retryAfter: 30 });
  return admin.events;
}

function line(read: EventRead): StreamEvent | StreamInvalid {
  const time = read.time.toISOString();
  return read.kind === "event" ? { seq: read.seq, time, event: read.event } : { seq: read.seq, time, subject: read.subject, error: read.error };
}

/** The first read of a window, so a stream that cannot be read is a 503 before any answer starts. */
async function opened(reads: AsyncIterator<EventRead>): Promise<IteratorResult<EventRead>> {
  try {
    return await reads.next();
  } catch (err) {
    throw new AppError("unavailable", { detail: "The events stream could not be read", retryAfter: 5, cause: err });
  }
}

/**
 * Operators' time travel over the events stream (docs/time-travel.md):
 * `GET /events` a window by the stream's timestamps, as NDJSON or a JSON page;
 * `GET /notifications/:id/history` one notification's timeline.
 */
export function adminEventRoutes(admin: AdminDeps): Hono<AdminEnv> {
  const routes = new Hono<AdminEnv>();

  routes.get("/events", operatorOnly, async (c) => {
    const query = EventsQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const { since, until, type, tenant, limit, cursor: from } = query.data;
    const window: EventWindow = {
      since: new Date(since),
      ...(until ? { until: new Date(until) } : {}),
      ...(type ? { types: type } : {}),
      ...(tenant ? { tenant } : {}),
      ...(from ? { fromSeq: Number(from) } : {}),
    };
    const reads = eventsOf(admin).read(window)[Symbol.asyncIterator]();
    const first = await opened(reads);
    if (c.req.header("accept")?.includes(NDJSON)) return c.body(ndjson(first, reads, limit), 200, { "content-type": NDJSON });
    const page: EventPage = { data: [], invalid: [], nextCursor: null };
    const max = limit ?? 100;
    let taken = 0;
    for (let r = first; !r.done; r = await reads.next()) {
      if (taken === max) {
        // One read past the page: there is more, and it starts here.
        page.nextCursor = String(r.value.seq);
        await reads.return?.();
        break;
      }
      taken++;
      if (r.value.kind === "event") page.data.push(line(r.value) as StreamEvent);
      else page.invalid.push(line(r.value) as StreamInvalid);
    }
    return c.json(page);
  });

  routes.get("/notifications/:id/history", operatorOnly, async (c) => {
    const query = HistoryQuery.safeParse(c.req.query());
    if (!query.success) throw invalidQuery(query.error);
    const id = c.req.param("id");
    const events = eventsOf(admin);
    if (admin.db === undefined) throw new AppError("unavailable", { detail: "This gateway has no database for the admin routes", retryAfter: 30 });
    const row = isUuid(id) ? await createdAtOf(admin.db, id) : null;
    if (row === null) throw new AppError("not_found", { detail: `No notification ${id}` });
    const from = new Date(row.createdAt.getTime() - EVENT_CLOCK_SKEW_MS);
    const until = query.data.until ? new Date(query.data.until) : new Date(row.createdAt.getTime() + (events.historyHorizonMs ?? DEFAULT_HISTORY_HORIZON_MS));
    const progress = { scanned: 0, nextSeq: 0 };
    const seen = new Map<string, HistoryStep & Pick<LifecycleEvent, "at" | "type">>();
    try {
      for await (const read of events.read({ since: from, until, ids: new Set([id]) }, progress)) {
        if (read.kind === "event" && !seen.has(read.event.eventId)) seen.set(read.event.eventId, stepOf(read.event, read.seq, read.time));
      }
    } catch (err) {
      throw new AppError("unavailable", { detail: "The events stream could not be read", retryAfter: 5, cause: err });
    }
    const timeline = [...seen.values()].sort((a, b) => compareEvents(a, b) || a.seq - b.seq);
    return c.json({
      id,
      tenantId: row.tenantId,
      createdAt: row.createdAt.toISOString(),
      status: timeline.at(-1)?.type ?? null,
      scanned: { from: from.toISOString(), until: until.toISOString(), messages: progress.scanned },
      timeline,
    } satisfies NotificationHistory);
  });

  return routes;
}

function stepOf(event: LifecycleEvent, seq: number, time: Date): HistoryStep {
  return {
    type: event.type,
    at: event.at,
    attempt: event.attempt ?? null,
    error: event.error ?? null,
    provider: event.provider ?? null,
    eventId: event.eventId,
    seq,
    streamTime: time.toISOString(),
  };
}

/** One JSON line per message as it is read; a client that goes away stops the read (and deletes its consumer). */
function ndjson(first: IteratorResult<EventRead>, reads: AsyncIterator<EventRead>, limit: number | undefined): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next: IteratorResult<EventRead> | undefined = first;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = next ?? (await reads.next());
      next = undefined;
      if (r.done || (limit !== undefined && sent >= limit)) {
        if (!r.done) await reads.return?.();
        controller.close();
        return;
      }
      sent++;
      controller.enqueue(encoder.encode(`${JSON.stringify(line(r.value))}\n`));
    },
    async cancel() {
      await reads.return?.();
    },
  });
}
