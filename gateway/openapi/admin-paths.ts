import { z } from "zod";
import type { DeadLetterSummary, InvalidDeadLetter, ReplayReport } from "../../schemas/dead-letter.ts";
import { CHANNELS } from "../../schemas/enums.ts";
import { ReplayBody, type DeadLetterList, type InvalidDeadLetterList } from "../routes/admin.ts";
import type { AuditList } from "../routes/audit.ts";
import type { AuditRecord } from "../../lib/db/audit.ts";
import { errors } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, schemaRef, str, uuid } from "./shapes.ts";
import type { JsonSchema, Operation, PathItem } from "./types.ts";

const ADMIN: Operation["security"] = [{ adminKey: [] }];
/** An operator's key, or a tenant's key with the `admin` scope (confined to its tenant). */
const ADMIN_OR_TENANT_ADMIN: Operation["security"] = [{ adminKey: [] }, { apiKey: ["admin"] }];
const nextCursor = nullable(str({ description: "Pass as `cursor` for the next page; null on the last page" }));

/** The admin answers' schemas; `objectOf` makes each list every field of its type. */
export function adminSchemas(): Record<string, JsonSchema> {
  return {
    DeadLetterSummary: objectOf<DeadLetterSummary>({
      id: uuid,
      tenantId: str(),
      channel: str({ enum: [...CHANNELS] }),
      error: nullable(str({ description: "The last attempt's error" })),
      attempts: { type: "integer", minimum: 0 },
      failedAt: { ...isoTime, description: "When the notification became `failed`" },
    }),
    DeadLetterList: objectOf<DeadLetterList>({ data: { type: "array", items: schemaRef("DeadLetterSummary") }, nextCursor }),
    InvalidDeadLetter: objectOf<InvalidDeadLetter>({
      seq: { type: "integer", minimum: 1, description: "Its sequence in the dead-letter stream" },
      subject: str({ description: "The work subject it was published to" }),
      error: str({ description: "Why it is not an envelope" }),
      failedAt: isoTime,
    }),
    InvalidDeadLetterList: objectOf<InvalidDeadLetterList>({ data: { type: "array", items: schemaRef("InvalidDeadLetter") }, nextCursor }),
    AuditEntry: objectOf<AuditRecord>({
      id: { type: "integer", minimum: 1, description: "Grows with every entry: the list's order" },
      at: isoTime,
      actor: str({
        description: "`key:<id>` (a managed key), `operator:<name>` (HERALD_ADMIN_KEYS), `tenant:<id>` (a bootstrap key, HERALD_API_KEYS) or `cli`",
      }),
      tenantId: nullable(str({ description: "Null: an operator's action on every tenant" })),
      action: str({ description: "Dotted, past tense: `api_key.created`, `user.erased`, `dead_letters.replayed`, … (docs/api.md lists them)" }),
      target: nullable(str({ description: "What it acted on, by id: a key id, a user id, a template or category name" })),
      clientAddress: nullable(str({ description: "The TCP peer of the request (never X-Forwarded-For); null for the CLI" })),
      details: nullable({ type: "object", description: "What changed: scopes, limits, counts; never personal data" }),
    }),
    AuditList: objectOf<AuditList>({ data: { type: "array", items: schemaRef("AuditEntry") }, nextCursor }),
    ReplayRequest: embeddable(z.toJSONSchema(ReplayBody, { target: "draft-2020-12", io: "input" })),
    ReplayReport: {
      oneOf: [
        objectOf<Extract<ReplayReport, { dryRun: false }>>({
          dryRun: { type: "boolean", const: false },
          replayed: { type: "array", items: uuid, description: "Handed back to the scheduler, oldest failure first" },
          unreplayable: {
            type: "array",
            items: uuid,
            description: "Failed, but their stored payload is not valid for their channel (a message that could not be stored whole): left `failed`",
          },
          skipped: { type: "integer", minimum: 0, description: "Taken by a concurrent replay: left as they are" },
        }),
        objectOf<Extract<ReplayReport, { dryRun: true }>>({
          dryRun: { type: "boolean", const: true },
          wouldReplay: { type: "array", items: uuid, description: "What a replay would hand back now, oldest failure first; nothing changed" },
          unreplayable: {
            type: "array",
            items: uuid,
            description: "Failed, but their stored payload is not valid for their channel: a replay would leave them `failed`",
          },
        }),
      ],
    },
  };
}

/** `/admin/v1`, present when HERALD_ADMIN_KEYS names at least one key. */
export function adminPaths(): Record<string, PathItem> {
  const tags = ["admin"];
  const common = ["Unauthorized", "Forbidden", "InternalError"] as const;
  const limit = { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } } as const;
  const cursor = {
    name: "cursor",
    in: "query",
    required: false,
    description: "Opaque; from a previous page's `nextCursor`",
    schema: { type: "string", minLength: 1, maxLength: 512 },
  } as const;
  return {
    "/admin/v1/audit": {
      get: {
        operationId: "listAudit",
        summary: "Read the audit log, newest first",
        description:
          "Every administrative action, append-only: keys created, rotated and revoked, tenant settings changed, dead letters replayed, users erased and exported, templates, categories and preferences changed. An operator's key reads every tenant; a tenant's key with the `admin` scope only its own tenant's entries (another `tenant` is 403). Keyset pagination: pass `nextCursor` back as `cursor`.",
        tags,
        security: ADMIN_OR_TENANT_ADMIN,
        parameters: [
          { name: "tenant", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          {
            name: "actor",
            in: "query",
            required: false,
            schema: { type: "string", minLength: 1, maxLength: 255 },
            description: "As entries name it, e.g. `operator:ops`, `key:<id>`",
          },
          {
            name: "action",
            in: "query",
            required: false,
            description: "Exact, or every action under a prefix ending in `.` (`api_key.`)",
            schema: { type: "string", minLength: 1, maxLength: 255 },
          },
          { name: "target", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          { name: "since", in: "query", required: false, description: "Entries at or after this time", schema: { type: "string", format: "date-time" } },
          { name: "until", in: "query", required: false, description: "Entries before this time", schema: { type: "string", format: "date-time" } },
          limit,
          { ...cursor, schema: { type: "string", pattern: "^[1-9][0-9]{0,15}$" } },
        ],
        responses: { "200": ok("A page of entries", "AuditList"), ...errors("InvalidQuery", "Unavailable", ...common) },
      },
    },
    "/admin/v1/dead-letters": {
      get: {
        operationId: "listDeadLetters",
        summary: "List failed notifications, oldest failure first",
        description:
          "The `failed` rows of Postgres, the record: what failed, why and when, without payloads or recipients, whether or not their dead letters are still in the stream. Keyset pagination: pass `nextCursor` back as `cursor`.",
        tags,
        security: ADMIN,
        parameters: [
          { name: "channel", in: "query", required: false, schema: { type: "string", enum: [...CHANNELS] } },
          { name: "tenant", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          limit,
          cursor,
        ],
        responses: { "200": ok("The failed notifications", "DeadLetterList"), ...errors("InvalidQuery", ...common) },
      },
    },
    "/admin/v1/dead-letters/invalid": {
      get: {
        operationId: "listInvalidDeadLetters",
        summary: "List messages that were not envelopes, oldest first",
        description:
          "Garbage published to the work subjects has no row, so it is read from the dead-letter stream, and only while the stream keeps it (HERALD_DLQ_MAX_AGE_DAYS). The raw message stays in the stream.",
        tags,
        security: ADMIN,
        parameters: [limit, cursor],
        responses: { "200": ok("The invalid messages", "InvalidDeadLetterList"), ...errors("InvalidQuery", ...common) },
      },
    },
    "/admin/v1/dead-letters/replay": {
      post: {
        operationId: "replayDeadLetters",
        summary: "Hand failed notifications back to the processor",
        description:
          "As `herald replay`, from the `failed` rows of Postgres: each goes `failed` → `retrying` (so two concurrent replays never both take a row) and is handed to the scheduler in the same transaction, which publishes it to its lane again; a `retrying` event says so, and each gets a fresh retry budget (HERALD_MAX_ATTEMPTS more attempts). A row whose payload is not valid for its channel cannot be replayed and stays `failed`. With `dryRun`, the answer says what would be replayed and nothing changes.",
        tags,
        security: ADMIN,
        requestBody: {
          required: true,
          content: { "application/json": { schema: schemaRef("ReplayRequest"), example: { channel: "webhook", since: "2026-11-26T06:00:00Z", dryRun: true } } },
        },
        responses: { "200": ok("What was replayed", "ReplayReport"), ...errors("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", ...common) },
      },
    },
  };
}
