import { z } from "zod";
import type { InboxItem, InboxPage } from "../../schemas/views.ts";
import { ReadAll } from "../routes/inbox.ts";
import { RETRY_MS } from "../routes/inbox-stream.ts";
import { MintInboxToken } from "../routes/inbox-tokens.ts";
import { errors, problem, V1_ERRORS } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, param, schemaRef, str, uuid } from "./shapes.ts";
import type { JsonSchema, PathItem } from "./types.ts";

/** The inbox answers' schemas; `objectOf` makes each list every field of its type. */
export function inboxSchemas(): Record<string, JsonSchema> {
  return {
    InboxItem: objectOf<InboxItem>({
      id: uuid,
      title: str(),
      body: str(),
      data: nullable({ type: "object" }),
      type: str(),
      metadata: nullable({ type: "object", additionalProperties: { type: "string" } }),
      createdAt: isoTime,
      sentAt: nullable(isoTime),
      readAt: nullable({ ...isoTime, description: "When the user first read it; null while unread" }),
    }),
    InboxPage: objectOf<InboxPage>({
      data: { type: "array", items: schemaRef("InboxItem") },
      nextCursor: nullable(str({ description: "Pass as `cursor` for the next page; null on the last page" })),
      unreadCount: { type: "integer", minimum: 0, description: "The user's unread in-app notifications, all pages together" },
    }),
    ReadAllRequest: embeddable(z.toJSONSchema(ReadAll, { target: "draft-2020-12", io: "input" })),
    ReadAllResponse: objectOf<{ marked: number }>({ marked: { type: "integer", minimum: 0, description: "How many were unread" } }),
    InboxTokenRequest: embeddable(z.toJSONSchema(MintInboxToken, { target: "draft-2020-12", io: "input" })),
    InboxToken: objectOf<{ token: string; expiresAt: string }>({
      token: str({ description: "For `GET /v1/inbox/stream?token=`; reads this user's stream and nothing else" }),
      expiresAt: isoTime,
    }),
  };
}

/** `/v1/inbox`: a user's delivered in-app notifications, for the tenant's backend to show in its app. */
export function inboxPaths(): Record<string, PathItem> {
  const tags = ["inbox"];
  return {
    "/v1/inbox": {
      get: {
        operationId: "listInbox",
        summary: "A user's delivered in-app notifications, newest first",
        description: "With title, body and data, and whether each was read. Keyset pagination as the notifications list.",
        tags,
        parameters: [
          { name: "userId", in: "query", required: true, schema: { type: "string", minLength: 1, maxLength: 255 } },
          { name: "unread", in: "query", required: false, schema: { type: "string", enum: ["true", "false"], default: "false" } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "cursor", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 512 } },
          param("RequestId"),
        ],
        responses: { "200": ok("One page, with the unread count", "InboxPage"), ...errors("InvalidQuery", ...V1_ERRORS) },
      },
    },
    "/v1/inbox/read-all": {
      post: {
        operationId: "markInboxRead",
        summary: "Mark all of a user's in-app notifications read",
        tags,
        parameters: [param("RequestId")],
        requestBody: { required: true, content: { "application/json": { schema: schemaRef("ReadAllRequest"), example: { userId: "user-123" } } } },
        responses: { "200": ok("How many were unread", "ReadAllResponse"), ...errors("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", ...V1_ERRORS) },
      },
    },
    ...realtimePaths(tags),
    "/v1/inbox/{id}/read": {
      post: {
        operationId: "markRead",
        summary: "Mark one in-app notification read",
        description: "Idempotent: the first read time stays. 404 unless it is a delivered in-app notification of the tenant.",
        tags,
        parameters: [param("NotificationId"), param("RequestId")],
        responses: { "200": ok("The notification, read", "InboxItem"), ...errors("NotFound", ...V1_ERRORS) },
      },
    },
  };
}

const STREAM_OFF = problem("unavailable", "The realtime inbox is off: HERALD_TOKEN_SECRET is not configured on the gateway (the detail names it)");

/** `/v1/inbox/tokens` (API key) and `/v1/inbox/stream` (inbox token): a browser's live inbox. */
function realtimePaths(tags: string[]): Record<string, PathItem> {
  return {
    "/v1/inbox/tokens": {
      post: {
        operationId: "mintInboxToken",
        summary: "Mint a browser token for a user's inbox stream",
        description:
          "Called by the tenant's backend for its signed-in user; the browser gets the token, never the API key. Lives `ttlSeconds`, at most and by default HERALD_INBOX_TOKEN_TTL_S (900 s).",
        tags,
        parameters: [param("RequestId")],
        requestBody: {
          required: true,
          content: { "application/json": { schema: schemaRef("InboxTokenRequest"), example: { userId: "user-123", ttlSeconds: 600 } } },
        },
        responses: {
          "200": ok("The token and when it expires", "InboxToken"),
          ...errors("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", ...V1_ERRORS),
          "503": STREAM_OFF,
        },
      },
    },
    "/v1/inbox/stream": {
      get: {
        operationId: "streamInbox",
        summary: "A user's new in-app notifications as Server-Sent Events",
        description: [
          "For a browser's `EventSource`. Authenticated by an inbox token from `POST /v1/inbox/tokens` (`?token=`, or `Authorization: Bearer <inbox token>`); an API key is refused. CORS allows any origin.",
          "Each event is `event: notification`, `id: <notification id>`, `data: {id, title, body, data, createdAt}`; a `: heartbeat` comment every 15 s; `retry: " +
            String(RETRY_MS) +
            "`.",
          "On reconnect the browser sends `Last-Event-ID` (or pass `?lastEventId=`): what the user was sent after that notification is replayed first, in the order it was sent, then live ones, each id once.",
        ].join("\n\n"),
        tags,
        security: [],
        parameters: [
          { name: "token", in: "query", required: false, schema: { type: "string" }, description: "The inbox token (EventSource cannot set headers)" },
          { name: "lastEventId", in: "query", required: false, schema: uuid, description: "Resume after this notification; the `Last-Event-ID` header wins" },
          { name: "Last-Event-ID", in: "header", required: false, schema: uuid, description: "Sent by the browser on reconnect" },
        ],
        responses: {
          "200": {
            description: "The stream; it stays open until the client leaves or the gateway stops",
            content: {
              "text/event-stream": {
                schema: str(),
                example:
                  'retry: 2000\n\nevent: notification\nid: 0199a3f4-6a7b-7c8d-9e0f-112233445566\ndata: {"id":"0199a3f4-6a7b-7c8d-9e0f-112233445566","title":"Hi","body":"Hello","data":null,"createdAt":"2026-11-26T06:00:00.000Z"}\n\n',
              },
            },
          },
          "401": problem("unauthorized", "No inbox token, or a forged or expired one (an API key is not accepted here)"),
          "503": STREAM_OFF,
        },
      },
    },
  };
}
