import { z } from "zod";
import type { DeadLetterSummary, ReplayReport } from "../processor/replay.ts";
import { CHANNELS } from "../schemas/enums.ts";
import { embeddable, isoTime, nullable, objectOf, schemaRef, str, uuid } from "./openapi-components.ts";
import { errors, ok, type JsonSchema, type Operation, type PathItem } from "./openapi.ts";
import { ReplayBody } from "./routes/admin.ts";

const ADMIN: Operation["security"] = [{ adminKey: [] }];

/** The admin answers' schemas; `objectOf` makes each list every field of its type. */
export function adminSchemas(): Record<string, JsonSchema> {
  return {
    DeadLetterSummary: objectOf<DeadLetterSummary>({
      seq: { type: "integer", minimum: 1, description: "Its sequence in the dead-letter stream" },
      reason: str({ enum: ["failed", "invalid"], description: "`failed`: a notification that ran out of attempts or met a permanent error; `invalid`: a message that was not an envelope" }),
      id: nullable(uuid),
      tenantId: nullable(str()),
      channel: str({ description: "The subject's last token: a channel, or `invalid`" }),
      error: str(),
      attempts: nullable({ type: "integer", minimum: 0 }),
      failedAt: isoTime,
    }),
    DeadLetterList: objectOf<{ data: DeadLetterSummary[]; total: number }>({
      data: { type: "array", items: schemaRef("DeadLetterSummary") },
      total: { type: "integer", minimum: 0, description: "Dead letters in the stream, before filters" },
    }),
    ReplayRequest: embeddable(z.toJSONSchema(ReplayBody, { target: "draft-2020-12", io: "input" })),
    ReplayReport: objectOf<ReplayReport>({
      replayed: { type: "array", items: uuid, description: "Handed back to the processor (or, on a dry run, that would be)" },
      stale: { type: "integer", minimum: 0, description: "Dead letters of notifications sent or cancelled since: removed" },
      invalid: { type: "integer", minimum: 0, description: "Garbage: kept" },
      kept: { type: "integer", minimum: 0, description: "Left as they are: filtered out, past the limit, or without a row" },
    }),
  };
}

/** `/admin/v1`, present when HERALD_ADMIN_KEYS names at least one key. */
export function adminPaths(): Record<string, PathItem> {
  const tags = ["admin"];
  const common = ["Unauthorized", "Forbidden", "InternalError"] as const;
  return {
    "/admin/v1/dead-letters": {
      get: {
        operationId: "listDeadLetters",
        summary: "List dead letters, oldest first",
        description: "What failed, why and when; payloads and recipients stay in the stream.",
        tags,
        security: ADMIN,
        parameters: [
          { name: "channel", in: "query", required: false, schema: { type: "string", enum: [...CHANNELS] } },
          { name: "tenant", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { "200": ok("The dead letters", "DeadLetterList"), ...errors("InvalidQuery", ...common) },
      },
    },
    "/admin/v1/dead-letters/replay": {
      post: {
        operationId: "replayDeadLetters",
        summary: "Hand dead letters back to the processor",
        description: "As `herald replay`: each row goes `failed` → `retrying`, its envelope is published to its lane again, then its dead letter is removed; each gets a fresh retry budget (HERALD_MAX_ATTEMPTS more attempts).",
        tags,
        security: ADMIN,
        requestBody: { required: true, content: { "application/json": { schema: schemaRef("ReplayRequest"), example: { channel: "webhook", dryRun: true } } } },
        responses: { "200": ok("What was replayed", "ReplayReport"), ...errors("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", ...common) },
      },
    },
  };
}
