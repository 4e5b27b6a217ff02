import { z } from "zod";
import { LifecycleEvent } from "../../schemas/events.ts";
import {
  CreateWebhookEndpointBody,
  DEFAULT_ENDPOINT_SECRET_GRACE_SECONDS,
  DEFAULT_RETRY_SCHEDULE_S,
  DELIVERY_STATUSES,
  ReplayDeliveriesBody,
  RotateEndpointSecretBody,
  UpdateWebhookEndpointBody,
  type WebhookDeliveryAttemptView,
  type WebhookDeliveryView,
  type WebhookEndpointView,
} from "../../schemas/status-webhooks.ts";
import { errors, V1_ERRORS } from "./problems.ts";
import { embeddable, isoTime, json, nullable, objectOf, ok, param, REQUEST_ID, schemaRef, str, uuid } from "./shapes.ts";
import type { JsonSchema, Parameter, PathItem } from "./types.ts";

const input = (schema: z.ZodType) => embeddable(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }));
const page = (items: string) => ({
  data: { type: "array", items: schemaRef(items) },
  nextCursor: nullable(str({ description: "Pass back as `cursor` for the next page; null on the last" })),
});

/** The endpoints' schemas: bodies generated from the zod schemas the routes parse with, answers from their TS shapes. */
export function webhookEndpointSchemas(): Record<string, JsonSchema> {
  const endpoint = {
    id: uuid,
    url: str(),
    description: nullable(str()),
    eventTypes: { type: "array", items: str(), description: '`["*"]` or the event types sent' },
    enabled: { type: "boolean" },
    disabledAt: nullable({ ...isoTime, description: "Set when Herald disabled it after its deliveries kept failing" }),
    disabledReason: nullable(str()),
    failingSince: nullable({ ...isoTime, description: "When the current run of failed attempts began; null after a success" }),
    createdAt: isoTime,
    updatedAt: isoTime,
  } satisfies Record<keyof WebhookEndpointView, JsonSchema>;
  const delivery = {
    id: { ...uuid, description: "The `webhook-id` every attempt carries: dedupe on it" },
    eventId: str(),
    eventType: str(),
    status: { type: "string", enum: [...DELIVERY_STATUSES], description: "`failed`: the endpoint's dead list" },
    attempts: { type: "integer" },
    nextAttemptAt: nullable(isoTime),
    lastAttemptAt: nullable(isoTime),
    lastStatusCode: nullable({ type: "integer" }),
    lastError: nullable(str()),
    createdAt: isoTime,
    deliveredAt: nullable(isoTime),
  } satisfies Record<keyof WebhookDeliveryView, JsonSchema>;
  const attempt = {
    attempt: { type: "integer" },
    statusCode: nullable({ type: "integer", description: "Null when no answer came (timeout, refused, network)" }),
    latencyMs: { type: "integer" },
    error: nullable(str()),
    responseBody: nullable(str({ description: "The answer's first KiB" })),
    at: isoTime,
  } satisfies Record<keyof WebhookDeliveryAttemptView, JsonSchema>;
  const secret = str({ description: "`whsec_` and base64: give it to your Standard Webhooks verifier" });
  return {
    CreateWebhookEndpoint: input(CreateWebhookEndpointBody),
    UpdateWebhookEndpoint: input(UpdateWebhookEndpointBody),
    RotateEndpointSecret: input(RotateEndpointSecretBody),
    ReplayDeliveries: input(ReplayDeliveriesBody),
    WebhookEndpoint: objectOf<WebhookEndpointView>(endpoint),
    CreatedWebhookEndpoint: { ...objectOf<WebhookEndpointView>(endpoint), properties: { ...endpoint, secret }, required: [...Object.keys(endpoint), "secret"] },
    WebhookEndpointPage: { type: "object", properties: page("WebhookEndpoint"), required: ["data", "nextCursor"] },
    EndpointSecrets: {
      type: "object",
      properties: {
        secret: nullable({ ...secret, description: "The current secret; null when sealed under another HERALD_TOKEN_SECRET (rotate)" }),
        previous: nullable({ type: "object", properties: { secret: nullable(secret), expiresAt: isoTime }, required: ["secret", "expiresAt"] }),
      },
      required: ["secret", "previous"],
    },
    RotatedEndpointSecret: {
      type: "object",
      properties: { secret, previousExpiresAt: nullable({ ...isoTime, description: "When the replaced secret stops signing; null: at once" }) },
      required: ["secret", "previousExpiresAt"],
    },
    WebhookDelivery: objectOf<WebhookDeliveryView>(delivery),
    WebhookDeliveryPage: { type: "object", properties: page("WebhookDelivery"), required: ["data", "nextCursor"] },
    WebhookDeliveryAttempts: {
      type: "object",
      properties: { data: { type: "array", items: objectOf<WebhookDeliveryAttemptView>(attempt) } },
      required: ["data"],
    },
    Replayed: { type: "object", properties: { queued: { type: "integer", description: "Failed deliveries queued again" } }, required: ["queued"] },
    RetriedDelivery: {
      type: "object",
      properties: { id: uuid, status: { const: "pending" }, queued: { type: "boolean", description: "False: it was pending already" } },
      required: ["id", "status", "queued"],
    },
    StatusEvent: eventSchema(),
  };
}

/** The lifecycle event's JSON Schema as subscribers get it (schemas/json/), its one definition lifted to the root so it embeds. */
function eventSchema(): JsonSchema {
  const { $defs, $ref, ...rest } = z.toJSONSchema(LifecycleEvent, { target: "draft-2020-12" });
  const named = typeof $ref === "string" && $defs !== undefined ? $defs[$ref.replace("#/$defs/", "")] : undefined;
  return embeddable(named === undefined ? { ...rest, ...($defs ? { $defs } : {}), ...($ref ? { $ref } : {}) } : { ...rest, ...named });
}

const ENDPOINT: Parameter = { name: "endpointId", in: "path", required: true, description: "An endpoint's id", schema: uuid };
const DELIVERY: Parameter = { name: "deliveryId", in: "path", required: true, description: "A delivery's id (its `webhook-id`)", schema: uuid };
const NO_STORE = { "Cache-Control": { description: "`no-store`: the answer holds a secret", schema: { type: "string" } } };
const SCHEDULE = DEFAULT_RETRY_SCHEDULE_S.map((s) => (s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : `${s / 3600} h`)).join(", ");

/** `/v1/webhook-endpoints`: tenants' status webhooks (managing them needs `admin`; reading deliveries `read`). */
export function webhookEndpointPaths(): Record<string, PathItem> {
  const tags = ["status webhooks"];
  const common = ["EndpointsOff", ...V1_ERRORS] as const;
  const one = ["EndpointNotFound", ...common] as const;
  const body = ["BadRequest", "UnsupportedMediaType", "PayloadTooLarge"] as const;
  const base = "/v1/webhook-endpoints";
  return {
    [base]: {
      post: {
        operationId: "createWebhookEndpoint",
        summary: "Add an endpoint for the tenant's lifecycle events",
        description:
          "Events are POSTed as JSON with Standard Webhooks headers, signed with the endpoint's own secret, shown in this answer and at `…/secret`. The URL must be https and must not name a private or loopback address (unless HERALD_WEBHOOK_ALLOW_PRIVATE); names are checked again, resolved, at each send.",
        tags,
        parameters: [param("RequestId")],
        requestBody: {
          required: true,
          content: json("CreateWebhookEndpoint", { example: { url: "https://hooks.example.com/herald", eventTypes: ["failed", "bounced"] } }),
        },
        responses: { "201": ok("The endpoint, with its secret", "CreatedWebhookEndpoint", NO_STORE), ...errors(...body, ...common) },
      },
      get: {
        operationId: "listWebhookEndpoints",
        summary: "The tenant's endpoints, newest first",
        tags,
        parameters: [
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          { name: "cursor", in: "query", required: false, schema: { type: "string" } },
          param("RequestId"),
        ],
        responses: { "200": ok("One page", "WebhookEndpointPage"), ...errors("InvalidQuery", ...common) },
      },
    },
    [`${base}/{endpointId}`]: {
      get: {
        operationId: "getWebhookEndpoint",
        summary: "One endpoint",
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        responses: { "200": ok("The endpoint", "WebhookEndpoint"), ...errors(...one) },
      },
      patch: {
        operationId: "updateWebhookEndpoint",
        summary: "Change an endpoint; `enabled: true` re-enables a disabled one",
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        requestBody: { required: true, content: json("UpdateWebhookEndpoint", { example: { enabled: true } }) },
        responses: { "200": ok("The endpoint", "WebhookEndpoint"), ...errors(...body, ...one) },
      },
      delete: {
        operationId: "deleteWebhookEndpoint",
        summary: "Remove an endpoint and its deliveries",
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        responses: { "204": { description: "Deleted", headers: REQUEST_ID }, ...errors(...one) },
      },
    },
    [`${base}/{endpointId}/secret`]: {
      get: {
        operationId: "getWebhookEndpointSecret",
        summary: "The endpoint's signing secret, and the previous one while it still signs",
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        responses: { "200": ok("The secrets", "EndpointSecrets", NO_STORE), ...errors(...one) },
      },
    },
    [`${base}/{endpointId}/secret/rotate`]: {
      post: {
        operationId: "rotateWebhookEndpointSecret",
        summary: "A new secret; the old one keeps signing for its grace",
        description: `During the grace (\`graceSeconds\`, default ${DEFAULT_ENDPOINT_SECRET_GRACE_SECONDS / 3600} h; 0 ends it at once) every POST carries one \`v1,\` signature per secret. The body may be left out.`,
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        requestBody: { required: false, content: json("RotateEndpointSecret", { example: { graceSeconds: 3600 } }) },
        responses: { "201": ok("The new secret", "RotatedEndpointSecret", NO_STORE), ...errors(...body, ...one) },
      },
    },
    [`${base}/{endpointId}/deliveries`]: {
      get: {
        operationId: "listWebhookDeliveries",
        summary: "The endpoint's deliveries, newest first; `status=failed` is its dead list",
        tags,
        parameters: [
          ENDPOINT,
          { name: "status", in: "query", required: false, schema: { type: "string", enum: [...DELIVERY_STATUSES] } },
          { name: "since", in: "query", required: false, description: "Deliveries created at or after", schema: isoTime },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          { name: "cursor", in: "query", required: false, schema: { type: "string" } },
          param("RequestId"),
        ],
        responses: { "200": ok("One page", "WebhookDeliveryPage"), ...errors("InvalidQuery", ...one) },
      },
    },
    [`${base}/{endpointId}/deliveries/{deliveryId}/attempts`]: {
      get: {
        operationId: "listWebhookDeliveryAttempts",
        summary: "Each attempt of a delivery: status code, latency, error, the answer's first KiB",
        tags,
        parameters: [ENDPOINT, DELIVERY, param("RequestId")],
        responses: { "200": ok("The attempts, oldest first", "WebhookDeliveryAttempts"), ...errors(...one) },
      },
    },
    [`${base}/{endpointId}/deliveries/{deliveryId}/retry`]: {
      post: {
        operationId: "retryWebhookDelivery",
        summary: "Send one delivery again, with the whole retry schedule ahead",
        tags,
        parameters: [ENDPOINT, DELIVERY, param("RequestId")],
        responses: { "202": ok("Queued", "RetriedDelivery"), ...errors(...one) },
      },
    },
    [`${base}/{endpointId}/replay`]: {
      post: {
        operationId: "replayWebhookDeliveries",
        summary: "Recover failed messages since a time: queue every failed delivery created in [since, until) again",
        description: "Idempotent: a second call finds them queued or delivered and queues none. Each gets the whole retry schedule again.",
        tags,
        parameters: [ENDPOINT, param("RequestId")],
        requestBody: { required: true, content: json("ReplayDeliveries", { example: { since: "2026-12-01T00:00:00Z" } }) },
        responses: { "202": ok("How many were queued", "Replayed"), ...errors(...body, ...one) },
      },
    },
  };
}

/** The top-level `webhooks` section: what Herald POSTs to a tenant's endpoint. */
export function statusWebhooks(): Record<string, PathItem> {
  const h = (description: string) => ({ name: "", in: "header" as const, required: true, description, schema: { type: "string" } });
  return {
    statusEvent: {
      post: {
        operationId: "statusEvent",
        summary: "A lifecycle event of one of the tenant's notifications",
        description: `Retried until a 2xx, on the schedule ${SCHEDULE} (HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S), then kept in the endpoint's dead list for replay. Redirects are not followed. Verify with any Standard Webhooks library and dedupe on \`webhook-id\`.`,
        tags: ["status webhooks"],
        parameters: [
          { ...h("The delivery's id, the same on every attempt: dedupe on it"), name: "webhook-id" },
          { ...h("Unix seconds of this attempt; reject ones far off your clock"), name: "webhook-timestamp" },
          { ...h("`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per valid secret, space-separated"), name: "webhook-signature" },
        ],
        requestBody: { required: true, content: json("StatusEvent") },
        responses: { "200": { description: "Any 2xx: delivered. Anything else, or no answer within HERALD_STATUS_WEBHOOK_TIMEOUT_MS: retried" } },
        security: [],
      },
    },
  };
}
