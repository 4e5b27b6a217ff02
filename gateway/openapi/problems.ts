import { DEFAULT_OPTIONS } from "../context.ts";
import { AppError, statusOf, toProblem, type ErrorCode } from "../errors.ts";
import { BATCH_BODY_LIMIT_FACTOR } from "../routes/notifications.ts";
import { ref, REQUEST_ID, schemaRef } from "./shapes.ts";
import type { Operation, ResponseObject } from "./types.ts";

const RETRY_AFTER_HEADER = { "Retry-After": ref("headers", "RetryAfter") };

/** A problem+json answer whose example is what `onError` renders for the code. */
export function problem(code: ErrorCode, description: string, extraHeaders: ResponseObject["headers"] = {}): ResponseObject {
  const example = toProblem(new AppError(code), "0199a3f4-6a7b-7c8d-9e0f-112233445566");
  return { description, headers: { ...REQUEST_ID, ...extraHeaders }, content: { "application/problem+json": { schema: schemaRef("Problem"), example } } };
}

/** Every named error answer: its code (hence its status, from the one code → status table), what it means, its extra headers. */
export const ERRORS = {
  BadRequest: ["invalid_body", "Malformed JSON, a body that failed validation (`errors` lists each field), or an invalid Idempotency-Key header"],
  InvalidQuery: ["invalid_query", "A query parameter failed validation, or a cursor this API did not issue (`errors` names each parameter)"],
  Forbidden: ["forbidden", "A known key that may not do this: it lacks the operation's scope, or it is a tenant's key on an operator-only admin route"],
  Unauthorized: [
    "unauthorized",
    "Missing or unknown API key",
    { "WWW-Authenticate": { description: 'Always `Bearer realm="herald"`', schema: { type: "string" } } },
  ],
  InvalidSignature: ["invalid_signature", "A provider callback without a valid signature (missing, forged, or stamped too long ago); nothing changed"],
  NotFound: ["not_found", "No notification with this id for this tenant (another tenant's id and a malformed id answer the same)"],
  IdempotencyInFlight: ["idempotency_in_flight", "A request with the same Idempotency-Key is still in flight; retry after `Retry-After`", RETRY_AFTER_HEADER],
  PayloadTooLarge: [
    "payload_too_large",
    `The body exceeds the size limit: HERALD_BODY_LIMIT_BYTES, ${DEFAULT_OPTIONS.bodyLimitBytes / 1024} KiB by default; ${BATCH_BODY_LIMIT_FACTOR} times that for a batch`,
  ],
  UnsupportedMediaType: ["unsupported_media_type", "Content-Type is not `application/json`"],
  TemplateNotFound: ["not_found", "No template with this name for this tenant, or no such version (another tenant's answers the same)"],
  TemplateExists: ["template_exists", "A template with this name exists; `PUT /v1/templates/{name}` replaces its draft"],
  TemplateInvalid: [
    "template_invalid",
    "The draft cannot be published, or did not render with this data: `errors` names each field (`content.variables.type`, `content.locales.de.email.subject`)",
  ],
  UserNotFound: ["not_found", "No user with this id for this tenant (another tenant's user answers the same)"],
  DeviceNotFound: ["not_found", "The user has no device with this token (or there is no such user for this tenant)"],
  CategoryNotFound: ["not_found", "No category with this name for this tenant"],
  CategoryRequired: ["category_required", "An opt-out of a category the tenant marked required; nothing was stored"],
  InvalidLink: ["invalid_link", "Not an unsubscribe link Herald signed (forged, altered or cut short); nothing changed"],
  LinkExpired: ["link_expired", "The unsubscribe link is past its lifetime (HERALD_UNSUBSCRIBE_TTL_DAYS); nothing changed"],
  UnsubscribeOff: ["unavailable", "One-click unsubscribe is off: HERALD_TOKEN_SECRET is not set on the gateway; nothing changed", RETRY_AFTER_HEADER],
  NotCancellable: ["not_cancellable", "It can no longer be cancelled: it is being sent (`processing`) or has ended (`sent`, `failed`, …)"],
  IdempotencyMismatch: ["idempotency_mismatch", "The Idempotency-Key was used before with a different body"],
  RateLimited: ["rate_limited", "The tenant's rate limit is used up (only when rate limits are configured); retry after `Retry-After`", RETRY_AFTER_HEADER],
  RateLimitedOrDailyCap: [
    "daily_cap",
    "The tenant's daily cap on a channel is reached (`daily_cap`, as in the example: `detail` and `errors` name the channel and the cap, `Retry-After` runs to the next UTC midnight; nothing was published), or its rate limit is used up (`rate_limited`, as on every /v1 route)",
    RETRY_AFTER_HEADER,
  ],
  Unavailable: [
    "unavailable",
    "JetStream did not acknowledge the publish, or the idempotency store (which also holds the daily caps' counters) did not answer; nothing was stored",
    RETRY_AFTER_HEADER,
  ],
  CallbacksOff: [
    "unavailable",
    "This provider's callbacks are off: its signing secret is not configured on the gateway (the detail names the keys); nothing changed",
    RETRY_AFTER_HEADER,
  ],
  WebhookSecretNotFound: ["not_found", "No such webhook secret for this tenant: unknown, another tenant's, or its grace is over"],
  SecretCurrent: ["secret_current", "The current secret cannot be deleted: rotate first (`graceSeconds: 0` ends it at once); nothing changed"],
  TooManySecrets: [
    "too_many_secrets",
    "As many secrets as allowed are valid already: delete a rotated-out one, rotate with `graceSeconds: 0`, or retry when the earliest grace ends (`Retry-After`); nothing changed",
    RETRY_AFTER_HEADER,
  ],
  WebhookSecretsOff: [
    "unavailable",
    "Webhook secrets are off: HERALD_TOKEN_SECRET, which seals them, is not set on the gateway (the detail names it); nothing changed",
    RETRY_AFTER_HEADER,
  ],
  EndpointNotFound: ["not_found", "No such webhook endpoint (or delivery of it) for this tenant: unknown, or another tenant's"],
  EndpointsOff: [
    "unavailable",
    "Webhook endpoints are off: HERALD_TOKEN_SECRET, which seals their secrets, is not set on the gateway (the detail names it); nothing changed",
    RETRY_AFTER_HEADER,
  ],
  InternalError: ["internal", "An unexpected failure (for example Postgres unreachable); details are only in the gateway's log"],
} as const satisfies Record<string, readonly [ErrorCode, string, ResponseObject["headers"]?]>;
export type ErrorResponse = keyof typeof ERRORS;

/** The HTTP status a named error answers with. */
export function errorStatus(name: ErrorResponse): string {
  return String(statusOf(ERRORS[name][0]));
}

/** The error answers an operation can give, each keyed by its status. */
export function errors(...names: ErrorResponse[]): Operation["responses"] {
  return Object.fromEntries(names.map((name) => [errorStatus(name), { $ref: `#/components/responses/${name}` }]));
}

// Every /v1 route sits behind bearer auth and the rate limit; any of them can fail unexpectedly.
export const V1_ERRORS: ErrorResponse[] = ["Unauthorized", "Forbidden", "RateLimited", "InternalError"];
