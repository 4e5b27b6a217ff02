import pkg from "../../package.json" with { type: "json" };
import { CANCELLABLE_STATUSES, STATUSES } from "../../schemas/enums.ts";
import { MAX_BATCH_ITEMS } from "../../schemas/request.ts";
import { BATCH_BODY_LIMIT_FACTOR } from "../routes/notifications.ts";
import { adminPaths } from "./admin-paths.ts";
import { adminEventPaths, withAdminEventSchemas } from "./admin-events-paths.ts";
import { tenancyPaths } from "./tenancy-paths.ts";
import { scopeOf } from "../scopes.ts";
import { callbackPaths } from "./callback-paths.ts";
import { buildComponents } from "./components.ts";
import { inboxPaths } from "./inbox-paths.ts";
import { unsubscribePaths } from "./unsubscribe-paths.ts";
import { userPaths } from "./users-paths.ts";
import { templatePaths } from "./template-paths.ts";
import { statusWebhooks, webhookEndpointPaths } from "./webhook-endpoint-paths.ts";
import { webhookSecretPaths } from "./webhook-secret-paths.ts";
import { errors, V1_ERRORS, type ErrorResponse } from "./problems.ts";
import { json, ok, param, REPLAYABLE, REQUEST_ID, UNAUTHENTICATED } from "./shapes.ts";
import type { OpenApiDocument, Operation, PathItem, ResponseObject } from "./types.ts";

// readJsonBody → zod → Idempotency-Key → claim → daily cap → publish, in that order; the cap's 429 shares the rate limit's status.
const ACCEPT_ERRORS: ErrorResponse[] = [
  "BadRequest",
  "PayloadTooLarge",
  "UnsupportedMediaType",
  "IdempotencyInFlight",
  "IdempotencyMismatch",
  "Unavailable",
  ...V1_ERRORS.filter((name) => name !== "RateLimited"),
  "RateLimitedOrDailyCap",
];

const EXAMPLES = {
  email: {
    summary: "Email (the README's example)",
    value: {
      userId: "user-123",
      channel: "email",
      type: "transactional",
      priority: "high",
      payload: { to: "a@example.com", subject: "Hi", body: "Hello" },
      scheduledFor: "2026-11-23T10:00:00Z",
      metadata: { orderId: "o-1" },
    },
  },
  sms: { summary: "SMS", value: { userId: "user-123", channel: "sms", priority: "urgent", payload: { to: "+14155550100", body: "Your code is 123456" } } },
  push: {
    summary: "Push",
    value: { userId: "user-123", channel: "push", payload: { to: "device-token", title: "Hi", body: "Hello", data: { screen: "inbox" } } },
  },
  webhook: {
    summary: "Webhook",
    value: { userId: "user-123", channel: "webhook", payload: { url: "https://hooks.example.com/herald", body: { event: "order.shipped", orderId: "o-1" } } },
  },
  in_app: { summary: "In-app", value: { userId: "user-123", channel: "in_app", payload: { title: "Hi", body: "Hello from Herald" } } },
  template: {
    summary: "By template: the address and language come from the user's profile",
    value: { userId: "user-123", template: "order-shipped", data: { order: { id: "o-1", total: 42 } }, channel: "email" },
  },
};

function notificationPaths(): Record<string, PathItem> {
  const tags = ["notifications"];
  const byId = [param("NotificationId")];
  return {
    "/v1/notifications": {
      post: {
        operationId: "createNotification",
        summary: "Accept one notification",
        description:
          "Answers 202 only after JetStream acknowledged the message. A failed request stores and publishes nothing. A body with `template` is a send by template: checked against the published version's variables and the user's profile before anything is published, one notification per channel, the version fixed at accept time.",
        tags,
        parameters: [param("IdempotencyKey"), param("RequestId")],
        requestBody: { required: true, content: json("CreateNotification", { examples: EXAMPLES }) },
        responses: {
          "202": ok("Accepted and durable (or the replay of the first answer to this Idempotency-Key)", "Accepted", REPLAYABLE),
          "207": ok("A send by template to several channels of which some could not be published", "TemplateSendResults", REPLAYABLE),
          ...errors(...ACCEPT_ERRORS),
        },
      },
      get: {
        operationId: "listNotifications",
        summary: "List the tenant's notifications, newest first",
        description: "Keyset pagination: pass `nextCursor` back as `cursor`. Unknown query parameters are ignored.",
        tags,
        parameters: [
          { name: "userId", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          { name: "status", in: "query", required: false, schema: { type: "string", enum: [...STATUSES] } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          {
            name: "cursor",
            in: "query",
            required: false,
            description: "Opaque; from a previous page's `nextCursor`",
            schema: { type: "string", minLength: 1, maxLength: 512 },
          },
          param("RequestId"),
        ],
        responses: { "200": ok("One page", "NotificationPage"), ...errors("InvalidQuery", ...V1_ERRORS) },
      },
    },
    "/v1/notifications/batch": {
      post: {
        operationId: "createNotificationBatch",
        summary: `Accept up to ${MAX_BATCH_ITEMS.toLocaleString("en-US")} notifications`,
        description: `Each item is validated against NotificationRequest and published on its own; an invalid item is a \`rejected\` result, not a 400. The body may be ${BATCH_BODY_LIMIT_FACTOR} times the single-request limit. Every item costs a rate-limit token. The Idempotency-Key covers the whole batch.`,
        tags,
        parameters: [param("IdempotencyKey"), param("RequestId")],
        requestBody: { required: true, content: json("BatchRequest", { example: { notifications: [EXAMPLES.in_app.value, EXAMPLES.sms.value] } }) },
        responses: {
          "202": ok("Every item accepted (or a replay)", "BatchResponse", REPLAYABLE),
          "207": ok("Some items rejected (invalid, or their publish failed); the accepted ones are durable (or a replay)", "BatchResponse", REPLAYABLE),
          ...errors(...ACCEPT_ERRORS),
        },
      },
    },
    "/v1/notifications/{id}": {
      get: {
        operationId: "getNotification",
        summary: "Read one notification",
        description: "Answers right after the 202 (read-your-writes), before the processor has written its row. The payload is not echoed back.",
        tags,
        parameters: [...byId, param("RequestId")],
        responses: { "200": ok("The notification", "NotificationView"), ...errors("NotFound", ...V1_ERRORS) },
      },
    },
    "/v1/notifications/{id}/attempts": {
      get: {
        operationId: "listAttempts",
        summary: "A notification's delivery attempts, in order",
        tags,
        parameters: [...byId, param("RequestId")],
        responses: { "200": ok("The attempts (empty until the first send)", "AttemptList"), ...errors("NotFound", ...V1_ERRORS) },
      },
    },
    "/v1/notifications/{id}/cancel": {
      post: {
        operationId: "cancelNotification",
        summary: "Cancel a notification that is not being sent",
        description: `Possible while it is ${CANCELLABLE_STATUSES.map((s) => `\`${s}\``).join(", ")}: it will not be sent. Idempotent: an already cancelled one answers 200 too. No request body.`,
        tags,
        parameters: [...byId, param("RequestId")],
        responses: { "200": ok("The notification, now `cancelled`", "NotificationView"), ...errors("NotFound", "NotCancellable", ...V1_ERRORS) },
      },
    },
  };
}

function operationalPaths(): Record<string, PathItem> {
  const common = { security: UNAUTHENTICATED };
  const health = (path: string, summary: string, description: string, answers: Operation["responses"]): Operation => ({
    operationId: `health${path}`,
    summary,
    description,
    tags: ["health"],
    ...common,
    responses: answers,
  });
  const report = (description: string) => ok(description, "HealthReport");
  const text = (description: string, type: string, headers: ResponseObject["headers"] = REQUEST_ID): ResponseObject => ({
    description,
    headers,
    content: { [type]: { schema: { type: "string" } } },
  });
  const cacheable = (page: ResponseObject): Operation["responses"] => ({
    "200": { ...page, description: `${page.description}; \`Cache-Control: public, max-age=300\` with an \`ETag\`` },
    "304": { description: "`If-None-Match` named the current ETag", headers: REQUEST_ID },
  });
  return {
    "/health/live": { get: health("Live", "Liveness", "200 while the process serves.", { "200": ok("Alive", "Liveness") }) },
    "/health/startup": {
      get: health("Startup", "Startup", "Migrations and streams in place; latched once it passed.", {
        "200": report("Started"),
        "503": report("Still starting; `checks` names what is missing"),
      }),
    },
    "/health/ready": {
      get: health(
        "Ready",
        "Readiness",
        "Every dependency answered within the deadline, each with its latency. `herald all` adds the processor's lane backlog.",
        { "200": report("Ready"), "503": report("A dependency failed or did not answer") },
      ),
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        summary: "Prometheus metrics",
        description: "Served when the gateway runs with metrics (as `herald gateway` and `herald all` do). Bounded labels, no tenant or user data.",
        tags: ["operations"],
        ...common,
        responses: { "200": text("Prometheus text exposition", "text/plain", REQUEST_ID) },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openApiDocument",
        summary: "This document",
        tags: ["operations"],
        ...common,
        responses: cacheable(text("The OpenAPI 3.1 document", "application/json")),
      },
    },
    "/docs": {
      get: {
        operationId: "docs",
        summary: "This document as a page",
        description: "An interactive reference (Redoc) with search and curl and TypeScript samples, served from this origin only.",
        tags: ["operations"],
        ...common,
        responses: cacheable(text("HTML reference", "text/html")),
      },
    },
    "/docs/assets/{file}": {
      get: {
        operationId: "docsAsset",
        summary: "A file the docs page loads",
        description: "Redoc's script and this document with request samples, named by their content hash.",
        tags: ["operations"],
        ...common,
        parameters: [{ name: "file", in: "path", required: true, description: "As named by the `/docs` page", schema: { type: "string" } }],
        responses: {
          "200": {
            description: "The asset; `Cache-Control: public, max-age=31536000, immutable` with an `ETag`",
            headers: REQUEST_ID,
            content: { "text/javascript": { schema: { type: "string" } }, "application/json": { schema: { type: "object" } } },
          },
          "304": { description: "`If-None-Match` named the current ETag", headers: REQUEST_ID },
          ...errors("NotFound"),
        },
      },
    },
  };
}

function build(): OpenApiDocument {
  return {
    openapi: "3.1.1",
    info: {
      title: "Herald API",
      version: pkg.version,
      description:
        "Send notifications through email, SMS, push, webhooks and in-app, read their state and attempts. Every error is `application/problem+json` (RFC 9457).",
    },
    security: [{ apiKey: [] }],
    tags: [
      { name: "notifications", description: "Accept, read and cancel notifications (API key)" },
      { name: "inbox", description: "Users' in-app notifications and their read state (API key)" },
      { name: "templates", description: "Versioned, per-locale Liquid templates with a JSON Schema of their variables (API key)" },
      { name: "recipients", description: "Users' profiles, push devices and preferences, and the tenant's categories (API key)" },
      { name: "webhook secrets", description: "The tenant's webhook signing secrets: list, rotate, delete (API key with the `admin` scope)" },
      {
        name: "status webhooks",
        description: "Endpoints that get the tenant's lifecycle events as signed POSTs, their deliveries, dead list and replay (API key)",
      },
      { name: "unsubscribe", description: "One-click unsubscribe links of marketing email (the signed link, no API key)" },
      { name: "callbacks", description: "Providers' delivery reports (the provider's signature, no API key)" },
      { name: "health", description: "Probes (no API key)" },
      { name: "operations", description: "Metrics and this document (no API key)" },
      { name: "admin", description: "Dead letters, for operators (admin key; only when HERALD_ADMIN_KEYS is set)" },
    ],
    paths: {
      ...notificationPaths(),
      ...inboxPaths(),
      ...userPaths(),
      ...unsubscribePaths(),
      ...templatePaths(),
      ...webhookSecretPaths(),
      ...webhookEndpointPaths(),
      ...callbackPaths(),
      ...operationalPaths(),
      ...adminPaths(),
      ...adminEventPaths(),
      ...tenancyPaths(),
    },
    webhooks: statusWebhooks(),
    components: withAdminEventSchemas(buildComponents()),
  };
}

/**
 * Each `/v1` operation that takes an API key names the scope it needs
 * (gateway/scopes.ts, the table the auth middleware reads); an operation
 * missing from the table fails the build, so none is left unguarded.
 */
function withScopes(doc: OpenApiDocument): OpenApiDocument {
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/v1/")) continue;
    for (const [method, op] of Object.entries(item) as [string, Operation][]) {
      if (op.security !== undefined && op.security.length === 0) continue;
      const scope = scopeOf(method.toUpperCase(), path.slice("/v1".length).replace(/\{[^}]+\}/g, "x"));
      if (scope === undefined) throw new Error(`${method.toUpperCase()} ${path} has no scope in gateway/scopes.ts`);
      op.security = [{ apiKey: [scope] }];
    }
  }
  return doc;
}

let cached: OpenApiDocument | undefined;

/**
 * The gateway's OpenAPI 3.1 document. Built once: it depends on nothing but
 * the code. Without `serverUrl` it names no server, so clients resolve paths
 * against wherever they fetched it from.
 */
export function openApiDocument(opts: { serverUrl?: string } = {}): OpenApiDocument {
  cached ??= withScopes(build());
  return opts.serverUrl === undefined ? cached : { ...cached, servers: [{ url: opts.serverUrl }] };
}
