import { z } from "zod";
import type { InboxItem, InboxPage } from "../../schemas/views.ts";
import { ReadAll } from "../routes/inbox.ts";
import { errors, V1_ERRORS } from "./problems.ts";
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
