import { z } from "zod";
import type { CheckResult } from "../../lib/readiness.ts";
import { ATTEMPT_OUTCOMES, CHANNELS, NOTIFICATION_TYPES, PRIORITIES, STATUSES } from "../../schemas/enums.ts";
import {
  BatchRequest,
  EmailPayload,
  IdempotencyKey,
  InAppPayload,
  NotificationRequest,
  PushPayload,
  SmsPayload,
  WebhookPayload,
} from "../../schemas/request.ts";
import { TemplateSend } from "../../schemas/recipients.ts";
import type { AttemptView, NotificationPage, NotificationView } from "../../schemas/views.ts";
import type { AcceptedBody } from "../accept.ts";
import type { BatchResult } from "../accept-batch.ts";
import { DEFAULT_OPTIONS } from "../context.ts";
import type { FieldError, Problem } from "../errors.ts";
import { adminSchemas } from "./admin-paths.ts";
import { tenancySchemas } from "./tenancy-paths.ts";
import { callbackSchemas } from "./callback-paths.ts";
import { inboxSchemas } from "./inbox-paths.ts";
import { unsubscribeSchemas } from "./unsubscribe-paths.ts";
import { userSchemas } from "./users-paths.ts";
import { templateSchemas } from "./template-paths.ts";
import { webhookEndpointSchemas } from "./webhook-endpoint-paths.ts";
import { webhookSecretSchemas } from "./webhook-secret-paths.ts";
import { ERRORS, problem } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, schemaRef, str, stringMap, uuid } from "./shapes.ts";
import type { Components, JsonSchema } from "./types.ts";

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
    TemplateSend,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io: "input", uri: (id) => `#/components/schemas/${id}` });
  return {
    ...Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embeddable(schema)])),
    // A body naming `template` is a send by template; any other is an explicit one.
    CreateNotification: { oneOf: [schemaRef("NotificationRequest"), schemaRef("TemplateSend")] },
  };
}

type AcceptedResult = Extract<BatchResult, { status: "accepted" }>;
type RejectedResult = Extract<BatchResult, { status: "rejected" }>;
type HealthReport = { status: string; checks?: Record<string, CheckResult> };

/** The answers, hand-described from the TS shapes the handlers return; enums come from `schemas/enums.ts`. */
function responseSchemas(): Record<string, JsonSchema> {
  const fieldError = objectOf<FieldError>({
    path: str({ description: "Dotted from the body root, e.g. `payload.to`; a header's name for a bad header" }),
    message: str(),
  });
  const channelResult: JsonSchema = {
    type: "object",
    properties: {
      channel: str({ enum: [...CHANNELS] }),
      status: str({ enum: ["accepted", "scheduled", "rejected"] }),
      id: uuid,
      acceptedAt: isoTime,
      error: { type: "object", properties: { status: { type: "integer" }, title: str() }, required: ["status", "title"] },
    },
    required: ["channel", "status"],
  };
  return {
    TemplateSendResults: {
      type: "object",
      description: "A send by template that became a notification per channel (`channels`, or a template with several)",
      properties: { notifications: { type: "array", items: channelResult } },
      required: ["notifications"],
    },
    Accepted: { oneOf: [schemaRef("AcceptedBody"), schemaRef("TemplateSendResults")] },
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
            {
              status: { type: "integer", description: "400 for an invalid item, 503 when its publish failed" },
              title: str(),
              errors: { type: "array", items: fieldError },
            },
            ["errors"],
          ),
        }),
      ],
    },
    BatchResponse: objectOf<{ results: BatchResult[] }>({
      results: { type: "array", items: schemaRef("BatchResult"), description: "One per item, in request order" },
    }),
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
        checks: {
          type: "object",
          additionalProperties: schemaRef("CheckResult"),
          description: "Per dependency; absent once /health/startup has passed (it no longer asks)",
        },
      },
      ["checks"],
    ),
  };
}

/** Everything under `components`, built once by `openApiDocument`. */
export function buildComponents(): Components {
  return {
    schemas: {
      ...requestSchemas(),
      ...responseSchemas(),
      ...inboxSchemas(),
      ...userSchemas(),
      ...unsubscribeSchemas(),
      ...templateSchemas(),
      ...webhookSecretSchemas(),
      ...webhookEndpointSchemas(),
      ...callbackSchemas(),
      ...adminSchemas(),
      ...tenancySchemas(),
    },
    responses: Object.fromEntries(Object.entries(ERRORS).map(([name, [code, description, headers]]) => [name, problem(code, description, headers)])),
    parameters: {
      IdempotencyKey: {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: `Same key and body within ${DEFAULT_OPTIONS.idempotencyTtlMs / 3_600_000} h: the first answer is replayed with \`Idempotency-Replayed: true\`. Another body: 422. First still in flight: 409. Keys are per tenant; nothing is kept for a failed request.`,
        schema: embeddable(z.toJSONSchema(IdempotencyKey, { target: "draft-2020-12" })),
      },
      RequestId: {
        name: "X-Request-Id",
        in: "header",
        required: false,
        description:
          "Your correlation id, echoed back and logged when it is 1-128 printable ASCII characters; otherwise the trace id of `traceparent` or a new UUID is used.",
        schema: { type: "string" },
      },
      NotificationId: { name: "id", in: "path", required: true, description: "The id from the 202 answer", schema: uuid },
    },
    headers: {
      XRequestId: {
        description: "The request's correlation id (yours when acceptable); also in problem bodies and processor logs",
        schema: { type: "string" },
      },
      RetryAfter: { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 1 } },
      IdempotencyReplayed: { description: "Present on a replayed answer", schema: { const: "true" } },
    },
    securitySchemes: {
      apiKey: {
        type: "http",
        scheme: "bearer",
        description:
          "`Authorization: Bearer <api key>`; each key belongs to one tenant. A managed key (`hk_live_…`) holds scopes — `send`, `read`, `inbox`, `admin` — and each operation names the one it needs: without it, 403. A bootstrap key (HERALD_API_KEYS) holds every scope.",
      },
      adminKey: {
        type: "http",
        scheme: "bearer",
        description:
          "`Authorization: Bearer <admin key>` from HERALD_ADMIN_KEYS: an operator, every tenant. Where an operation also lists `apiKey` with `admin`, a tenant's admin-scoped key may use it for its own tenant; any other tenant key answers 403.",
      },
    },
  };
}
