import { z } from "zod";
import { EVENT_TYPES } from "../../schemas/enums.ts";
import { LifecycleEvent } from "../../schemas/events.ts";
import type { EventPage, HistoryStep, NotificationHistory, StreamEvent, StreamInvalid } from "../routes/admin-events.ts";
import { errors } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, REQUEST_ID, schemaRef, str, uuid } from "./shapes.ts";
import type { Components, JsonSchema, PathItem } from "./types.ts";

const ADMIN = [{ adminKey: [] }];
const seq = { type: "integer", minimum: 1, description: "Its sequence in the events stream" };
const streamTime = { ...isoTime, description: "When the events stream stored it (the server's clock)" };
const eventType = str({ enum: [...EVENT_TYPES] });

/** The event's JSON Schema (schemas/json/) as one component: zod puts it under `$defs`, by its id. */
function lifecycleEventSchema(): JsonSchema {
  const { $defs, ...top } = z.toJSONSchema(LifecycleEvent, { target: "draft-2020-12", io: "output" });
  const named = $defs?.HeraldLifecycleEventV1;
  return embeddable(named !== undefined && typeof named === "object" ? named : top);
}

/** The components of the admin event routes, added to the document's. */
export function withAdminEventSchemas(components: Components): Components {
  return {
    ...components,
    schemas: {
      ...components.schemas,
      StreamedLifecycleEvent: lifecycleEventSchema(),
      StreamEvent: objectOf<StreamEvent>({ seq, time: streamTime, event: schemaRef("StreamedLifecycleEvent") }),
      StreamInvalid: objectOf<StreamInvalid>({
        seq,
        time: streamTime,
        subject: str(),
        error: str({ description: "Why it is not a v1 lifecycle event" }),
      }),
      EventPage: objectOf<EventPage>({
        data: { type: "array", items: schemaRef("StreamEvent") },
        invalid: { type: "array", items: schemaRef("StreamInvalid"), description: "Messages of the window that are not events; they count toward `limit`" },
        nextCursor: nullable(str({ description: "The stream sequence to go on from: pass as `cursor` with the same query; null: the window is done" })),
      }),
      HistoryStep: objectOf<HistoryStep>({
        type: eventType,
        at: { ...isoTime, description: "When the notification entered this state (the event's `at`)" },
        attempt: nullable({ type: "integer", minimum: 1 }),
        error: nullable(str()),
        provider: nullable(str()),
        eventId: str({ description: "Copies of an event share it; the timeline holds each once" }),
        seq,
        streamTime,
      }),
      NotificationHistory: objectOf<NotificationHistory>({
        id: uuid,
        tenantId: str(),
        createdAt: isoTime,
        status: nullable({ ...eventType, description: "The type of its greatest event (by `at`, then stage); null when the window holds none" }),
        scanned: {
          type: "object",
          properties: { from: isoTime, until: isoTime, messages: { type: "integer", minimum: 0 } },
          required: ["from", "until", "messages"],
          description: "The stream times read, [from, until), and how many messages that was: the cost of the answer",
        },
        timeline: { type: "array", items: schemaRef("HistoryStep"), description: "Ordered by `at`, then stage, then stream order" },
      }),
    },
  };
}

/** `/admin/v1/events` and `/admin/v1/notifications/{id}/history`: operators only. */
export function adminEventPaths(): Record<string, PathItem> {
  const tags = ["admin"];
  const common = ["Unauthorized", "Forbidden", "Unavailable", "InternalError"] as const;
  const time = (name: string, required: boolean, description: string) =>
    ({ name, in: "query", required, description, schema: { type: "string", format: "date-time" } }) as const;
  return {
    "/admin/v1/events": {
      get: {
        operationId: "readEvents",
        summary: "Read a window of the lifecycle events stream",
        description:
          "The events whose stream time (when the events stream stored them) is in [`since`, `until`), in stream order, as far back as the stream keeps them (HERALD_EVENTS_MAX_AGE_DAYS). Without `until`, up to the stream's last message when the read starts. With `Accept: application/x-ndjson`, one JSON line per message, the whole window unless `limit` is given; otherwise a JSON page of at most `limit` messages with `nextCursor`, the stream sequence to go on from.",
        tags,
        security: ADMIN,
        parameters: [
          time("since", true, "The window's start, inclusive"),
          time("until", false, "The window's end, exclusive"),
          {
            name: "type",
            in: "query",
            required: false,
            description: `Only these types, comma-separated (${EVENT_TYPES.join(", ")}); one type is filtered by the server`,
            schema: { type: "string", minLength: 1 },
          },
          { name: "tenant", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          {
            name: "limit",
            in: "query",
            required: false,
            description: "Messages per page (default 100); with NDJSON, none: the whole window",
            schema: { type: "integer", minimum: 1, maximum: 1000 },
          },
          { name: "cursor", in: "query", required: false, description: "A page's `nextCursor`", schema: { type: "string", pattern: "^[1-9][0-9]{0,15}$" } },
        ],
        responses: {
          "200": {
            ...ok("The window's events", "EventPage"),
            content: {
              ...ok("", "EventPage").content,
              "application/x-ndjson": { schema: { type: "string", description: "One `StreamEvent` or `StreamInvalid` per line" } },
            },
            headers: REQUEST_ID,
          },
          ...errors("InvalidQuery", ...common),
        },
      },
    },
    "/admin/v1/notifications/{id}/history": {
      get: {
        operationId: "notificationHistory",
        summary: "A notification's status timeline, from its events",
        description:
          "Finds the notification's created_at in Postgres, then reads the events stream from a little before it to `until` (default created_at + 1 h) or the stream's end, and keeps this notification's events: each once (by eventId), ordered by `at`, then stage. The read costs every event of that span, whoever's it is (`scanned.messages`). Events older than the stream keeps (HERALD_EVENTS_MAX_AGE_DAYS) are gone.",
        tags,
        security: ADMIN,
        parameters: [
          { name: "id", in: "path", required: true, schema: uuid },
          time("until", false, "Where the read stops, exclusive; default created_at + 1 h"),
        ],
        responses: { "200": ok("The timeline", "NotificationHistory"), ...errors("InvalidQuery", "NotFound", ...common) },
      },
    },
  };
}
