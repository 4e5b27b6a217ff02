import { z } from "zod";
import { ATTEMPT_OUTCOMES, CHANNELS, NOTIFICATION_TYPES, PRIORITIES, STATUSES } from "../schemas/enums.ts";
import { BatchRequest, EmailPayload, IdempotencyKey, InAppPayload, NotificationRequest, PushPayload, SmsPayload, WebhookPayload } from "../schemas/request.ts";
import type { AcceptedBody } from "./accept.ts";
import { DEFAULT_OPTIONS } from "./context.ts";
import type { BatchResult } from "./batch.ts";
import { AppError, statusOf, toProblem, type ErrorCode, type FieldError, type Problem } from "./errors.ts";
import type { CheckResult } from "./routes/health.ts";
import { BATCH_BODY_LIMIT_FACTOR } from "./routes/notifications.ts";
import type { AttemptView, NotificationPage, NotificationView } from "./reader.ts";
import type { Components, JsonSchema, ResponseObject } from "./openapi.ts";
import { adminSchemas } from "./openapi-admin.ts";
import { inboxSchemas } from "./openapi-inbox.ts";

const ref = (kind: keyof Components, name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** A `$ref` to a component schema, for the paths in `openapi.ts`. */
export const schemaRef = (name: string) => ref("schemas", name);

/**
 * The request bodies, generated from the zod schemas the routes parse with
 * (never mirrored by hand). `io: "input"` because a client sends the input
 * side: fields with a default (`type`, `priority`) are optional. The recursive
 * `z.json()` of a webhook body gets its own name so every `$ref` stays local.
 */
function requestSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  const named: Record<string, z.ZodType> = {
    NotificationRequest,
    EmailPayload,
    SmsPayload,
    PushPayload,
    WebhookPayload,
    InAppPayload,
    JsonValue: WebhookPayload.shape.body,
    BatchRequest,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io: "input", uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embeddable(schema)]));
}

/** `$id` would carry a fragment (not allowed in 2020-12) and `$schema` is the document's dialect already. */
export function embeddable({ $id: _id, $schema: _schema, ...schema }: z.core.JSONSchema.BaseSchema): JsonSchema {
  return schema;
}

/** An object schema that must name every field of `T`: a field added to the TS shape but not here fails to compile. */
export function objectOf<T>(properties: { [K in keyof T]-?: JsonSchema }, optional: readonly (keyof T & string)[] = []): JsonSchema {
  return { type: "object", properties, required: Object.keys(properties).filter((k) => !optional.includes(k as keyof T & string)) };
}

export const str = (extra: JsonSchema = {}): JsonSchema => ({ type: "string", ...extra });
export const nullable = (schema: JsonSchema): JsonSchema => ({ ...schema, type: [schema.type, "null"] });
export const isoTime = str({ format: "date-time" });
export const uuid = str({ format: "uuid" });
const stringMap: JsonSchema = { type: "object", additionalProperties: { type: "string" } };
type AcceptedResult = Extract<BatchResult, { status: "accepted" }>;
type RejectedResult = Extract<BatchResult, { status: "rejected" }>;
type HealthReport = { status: string; checks?: Record<string, CheckResult> };

/** The answers, hand-described from the TS shapes the handlers return; enums come from `schemas/enums.ts`. */
function responseSchemas(): Record<string, JsonSchema> {
  const fieldError = objectOf<FieldError>({ path: str({ description: "Dotted from the body root, e.g. `payload.to`; a header's name for a bad header" }), message: str() });
  return {
    AcceptedBody: objectOf<AcceptedBody>({
      id: { ...uuid, description: "UUIDv7 of the notification" },
      status: str({ enum: ["accepted", "scheduled"] satisfies AcceptedBody["status"][], description: "`scheduled` when `scheduledFor` is in the future" }),
      acceptedAt: isoTime,
    }),
    NotificationView: objectOf<NotificationView>({
      id: uuid,
      userId: str(),
      channel: str({ enum: [...CHANNELS] }),
      type: str({ enum: [...NOTIFICATION_TYPES] }),
      priority: str({ enum: [...PRIORITIES] }),
      status: str({ enum: [...STATUSES] }),
      attempts: { type: "integer", minimum: 0 },
      lastError: nullable(str()),
      createdAt: isoTime,
      updatedAt: isoTime,
      sentAt: nullable(isoTime),
      scheduledFor: nullable(isoTime),
      metadata: nullable(stringMap),
      correlationId: nullable(str({ description: "The X-Request-Id of the request that created it" })),
    }),
    NotificationPage: objectOf<NotificationPage>({
      data: { type: "array", items: schemaRef("NotificationView") },
      nextCursor: nullable(str({ description: "Pass as `cursor` for the next page; null on the last page" })),
    }),
    AttemptView: objectOf<AttemptView>({
      attempt: { type: "integer", minimum: 1 },
      provider: str(),
      outcome: str({ enum: [...ATTEMPT_OUTCOMES] }),
      latencyMs: { type: "integer", minimum: 0 },
      error: nullable(str()),
      providerMessageId: nullable(str({ description: "The provider's id for the message it accepted" })),
      createdAt: isoTime,
    }),
    AttemptList: objectOf<{ data: AttemptView[] }>({ data: { type: "array", items: schemaRef("AttemptView") } }),
    BatchResult: {
      oneOf: [
        objectOf<AcceptedResult>({ index: { type: "integer", minimum: 0 }, status: { const: "accepted" }, id: uuid, acceptedAt: isoTime }),
        objectOf<RejectedResult>({
          index: { type: "integer", minimum: 0 },
          status: { const: "rejected" },
          error: objectOf<RejectedResult["error"]>(
            { status: { type: "integer", description: "400 for an invalid item, 503 when its publish failed" }, title: str(), errors: { type: "array", items: fieldError } },
            ["errors"],
          ),
        }),
      ],
    },
    BatchResponse: objectOf<{ results: BatchResult[] }>({ results: { type: "array", items: schemaRef("BatchResult"), description: "One per item, in request order" } }),
    FieldError: fieldError,
    Problem: objectOf<Problem>(
      {
        type: str({ format: "uri", description: "`https://herald.dev/problems/<code>`; identifies the problem, not a page to fetch" }),
        title: str(),
        status: { type: "integer" },
        detail: str(),
        requestId: str({ description: "Same as the X-Request-Id response header" }),
        errors: { type: "array", items: schemaRef("FieldError"), description: "Present only for field-level problems (400)" },
      },
      ["errors"],
    ),
    CheckResult: {
      oneOf: [
        objectOf<Extract<CheckResult, { ok: true }>>({ ok: { const: true }, latencyMs: { type: "number", minimum: 0 } }),
        objectOf<Extract<CheckResult, { ok: false }>>({ ok: { const: false }, latencyMs: { type: "number", minimum: 0 }, error: str() }),
      ],
    },
    Liveness: objectOf<{ status: "ok" }>({ status: { const: "ok" } }),
    HealthReport: objectOf<HealthReport>(
      {
        status: str({ enum: ["ok", "starting", "unavailable"] }),
        checks: { type: "object", additionalProperties: schemaRef("CheckResult"), description: "Per dependency; absent once /health/startup has passed (it no longer asks)" },
      },
      ["checks"],
    ),
  };
}

const REQUEST_ID_HEADER = { "X-Request-Id": ref("headers", "XRequestId") };
const RETRY_AFTER_HEADER = { "Retry-After": ref("headers", "RetryAfter") };

/** A problem+json answer whose example is what `onError` renders for the code. */
function problem(code: ErrorCode, description: string, extraHeaders: ResponseObject["headers"] = {}): ResponseObject {
  const example = toProblem(new AppError(code), "0199a3f4-6a7b-7c8d-9e0f-112233445566");
  return { description, headers: { ...REQUEST_ID_HEADER, ...extraHeaders }, content: { "application/problem+json": { schema: schemaRef("Problem"), example } } };
}

/** Every named error answer: its code (hence its status, from the one code → status table), what it means, its extra headers. */
const ERRORS = {
  BadRequest: ["invalid_body", "Malformed JSON, a body that failed validation (`errors` lists each field), or an invalid Idempotency-Key header"],
  InvalidQuery: ["invalid_query", "A query parameter failed validation, or a cursor this API did not issue (`errors` names each parameter)"],
  Forbidden: ["forbidden", "A known key that may not use this route: a tenant's API key on an admin route"],
  Unauthorized: ["unauthorized", "Missing or unknown API key", { "WWW-Authenticate": { description: 'Always `Bearer realm="herald"`', schema: { type: "string" } } }],
  NotFound: ["not_found", "No notification with this id for this tenant (another tenant's id and a malformed id answer the same)"],
  IdempotencyInFlight: ["idempotency_in_flight", "A request with the same Idempotency-Key is still in flight; retry after `Retry-After`", RETRY_AFTER_HEADER],
  PayloadTooLarge: [
    "payload_too_large",
    `The body exceeds the size limit: HERALD_BODY_LIMIT_BYTES, ${DEFAULT_OPTIONS.bodyLimitBytes / 1024} KiB by default; ${BATCH_BODY_LIMIT_FACTOR} times that for a batch`,
  ],
  UnsupportedMediaType: ["unsupported_media_type", "Content-Type is not `application/json`"],
  NotCancellable: ["not_cancellable", "It can no longer be cancelled: it is being sent (`processing`) or has ended (`sent`, `failed`, …)"],
  IdempotencyMismatch: ["idempotency_mismatch", "The Idempotency-Key was used before with a different body"],
  RateLimited: ["rate_limited", "The tenant's rate limit is used up (only when rate limits are configured); retry after `Retry-After`", RETRY_AFTER_HEADER],
  Unavailable: ["unavailable", "JetStream did not acknowledge the publish, or the idempotency store did not answer; nothing was stored", RETRY_AFTER_HEADER],
  InternalError: ["internal", "An unexpected failure (for example Postgres unreachable); details are only in the gateway's log"],
} as const satisfies Record<string, readonly [ErrorCode, string, ResponseObject["headers"]?]>;
export type ErrorResponse = keyof typeof ERRORS;

/** The HTTP status a named error answers with. */
export function errorStatus(name: ErrorResponse): string {
  return String(statusOf(ERRORS[name][0]));
}

/** Everything under `components`, built once by `openApiDocument`. */
export function buildComponents(): Components {
  return {
    schemas: { ...requestSchemas(), ...responseSchemas(), ...inboxSchemas(), ...adminSchemas() },
    responses: Object.fromEntries(Object.entries(ERRORS).map(([name, [code, description, headers]]) => [name, problem(code, description, headers)])),
    parameters: {
      IdempotencyKey: {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description:
          `Same key and body within ${DEFAULT_OPTIONS.idempotencyTtlMs / 3_600_000} h: the first answer is replayed with \`Idempotency-Replayed: true\`. Another body: 422. First still in flight: 409. Keys are per tenant; nothing is kept for a failed request.`,
        schema: embeddable(z.toJSONSchema(IdempotencyKey, { target: "draft-2020-12" })),
      },
      RequestId: {
        name: "X-Request-Id",
        in: "header",
        required: false,
        description: "Your correlation id, echoed back and logged when it is 1-128 printable ASCII characters; otherwise the trace id of `traceparent` or a new UUID is used.",
        schema: { type: "string" },
      },
      NotificationId: { name: "id", in: "path", required: true, description: "The id from the 202 answer", schema: uuid },
    },
    headers: {
      XRequestId: { description: "The request's correlation id (yours when acceptable); also in problem bodies and processor logs", schema: { type: "string" } },
      RetryAfter: { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 1 } },
      IdempotencyReplayed: { description: "Present on a replayed answer", schema: { const: "true" } },
    },
    securitySchemes: {
      apiKey: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <api key>`; each key belongs to one tenant" },
      adminKey: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <admin key>` from HERALD_ADMIN_KEYS; a tenant's key answers 403" },
    },
  };
}
