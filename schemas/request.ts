import { z } from "zod";
import { type CHANNELS, NOTIFICATION_TYPES, PRIORITIES } from "./enums.ts";
import { isSchedulable, MAX_SCHEDULE_AHEAD_DAYS, storableIssues } from "./storable.ts";

const E164 = /^\+[1-9]\d{1,14}$/;
const jsonObject = z.record(z.string(), z.unknown());
const stringMap = z.record(z.string().max(128), z.string().max(1024));

/** zod's host-name rule (`z.regexes.hostname`) without its anchors and its 253-character look-ahead. */
const HOST_NAME = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[-0-9a-zA-Z]{0,61}[0-9a-zA-Z])?)*\\.?";

/**
 * The URLs `httpUrl` accepts, as a JSON Schema `pattern` for the OpenAPI
 * document, where zod's URL check (code, not a pattern) would show only
 * `format: uri`: http or https, optional user info, a host name or IPv4
 * address (no IPv6 literal), optional port, then anything. Checked against
 * zod on a list of URLs (schemas.test.ts); the pattern does not range-check
 * ports or IPv4 octets, which zod's URL parsing does.
 */
export const HTTP_URL_PATTERN = `^[Hh][Tt][Tt][Pp][Ss]?://(?:[^\\s/?#@]*@)?${HOST_NAME}(?::[0-9]{1,5})?(?:[/?#]\\S*)?$`;

const httpUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
  .max(2048)
  .meta({ pattern: HTTP_URL_PATTERN, description: "An http or https URL with a host name or IPv4 address (not an IPv6 literal)" });

export const EmailPayload = z.strictObject({
  to: z.email().max(320),
  subject: z.string().min(1).max(998),
  body: z.string().min(1).max(100_000),
  html: z.string().max(200_000).optional(),
  /** One-click unsubscribe (RFC 8058): sent as `List-Unsubscribe: <url>` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. */
  listUnsubscribe: httpUrl.regex(/^[^\s<>"]+$/, "must not contain spaces, angle brackets or quotes").optional(),
});

export const SmsPayload = z.strictObject({
  to: z.string().regex(E164, "must be an E.164 phone number such as +14155550100"),
  body: z.string().min(1).max(1600),
});

export const PushPayload = z.strictObject({
  to: z.string().min(1).max(4096),
  title: z.string().min(1).max(256),
  body: z.string().min(1).max(4096),
  data: stringMap.optional(),
});

/** An HTTP field name (RFC 9110 `token`). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value Herald can send as given: visible ASCII, spaces and tabs inside, nothing a fetch would trim or refuse. */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?$/;

/** Headers Herald sets on every webhook: the signature, the receiver's dedupe key, the framing. */
export function isReservedWebhookHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith("webhook-") || n === "content-type" || n === "content-length" || n === "host" || n === "transfer-encoding" || n === "connection";
}

const webhookHeaderName = z.string().min(1).max(256).regex(HEADER_NAME, "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)");

export const WebhookPayload = z.strictObject({
  url: httpUrl,
  body: z.json(),
  headers: z
    .record(webhookHeaderName, z.string().max(4096).regex(HEADER_VALUE, "must be printable ASCII without CR, LF or leading/trailing whitespace"))
    .optional(),
});

export const InAppPayload = z.strictObject({
  title: z.string().min(1).max(256),
  body: z.string().min(1).max(10_000),
  data: jsonObject.optional(),
});

/** A header Herald sets itself is refused at accept time; the sender drops one that got past an older gateway. */
function refuseReservedHeaders(payload: z.infer<typeof WebhookPayload>, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(payload.headers ?? {})) {
    if (isReservedWebhookHeader(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["headers", name],
        message: "is set by Herald (webhook-*, content-type, content-length, host, transfer-encoding, connection)",
      });
    }
  }
}

/** The payload shape each channel accepts; a missing channel fails to compile. */
export const PAYLOAD_BY_CHANNEL = {
  email: EmailPayload,
  sms: SmsPayload,
  push: PushPayload,
  webhook: WebhookPayload,
  in_app: InAppPayload,
} as const satisfies Record<(typeof CHANNELS)[number], z.ZodType>;

const common = {
  userId: z.string().min(1).max(255),
  type: z.enum(NOTIFICATION_TYPES).default("transactional"),
  priority: z.enum(PRIORITIES).default("normal"),
  scheduledFor: z.iso
    .datetime({ offset: true })
    .refine((at) => isSchedulable(at), `must be after 2000-01-01 and at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`)
    .optional(),
  metadata: stringMap.optional(),
};

/** Body of `POST /v1/notifications`: a discriminated union on `channel`. */
export const NotificationRequest = z.discriminatedUnion("channel", [
  z.strictObject({ ...common, channel: z.literal("email"), payload: EmailPayload }),
  z.strictObject({ ...common, channel: z.literal("sms"), payload: SmsPayload }),
  z.strictObject({ ...common, channel: z.literal("push"), payload: PushPayload }),
  z.strictObject({ ...common, channel: z.literal("webhook"), payload: WebhookPayload.superRefine(refuseReservedHeaders) }),
  z.strictObject({ ...common, channel: z.literal("in_app"), payload: InAppPayload }),
]);
export type NotificationRequest = z.infer<typeof NotificationRequest>;
export type NotificationRequestInput = z.input<typeof NotificationRequest>;

/**
 * The one validation of a notification request, for single requests and each
 * batch item alike: first what could never be stored or sent (NUL, unpaired
 * surrogates, nesting past the bound), found without recursion, then the
 * schema. Issues carry paths from the request's root.
 */
export function parseNotificationRequest(value: unknown): z.ZodSafeParseResult<NotificationRequest> {
  return parseStorable(NotificationRequest, value);
}

/** What Postgres could never store or a provider never send (storableIssues), then `schema`; issues carry paths from the root. */
export function parseStorable<T>(schema: z.ZodType<T>, value: unknown): z.ZodSafeParseResult<T> {
  const unstorable = storableIssues(value);
  if (unstorable.length > 0) {
    return {
      success: false,
      error: new z.ZodError(unstorable.map((i) => ({ code: "custom", path: i.path, message: i.message, input: undefined }))) as z.ZodError<T>,
    };
  }
  return schema.safeParse(value);
}

export const MAX_BATCH_ITEMS = 1000;

/**
 * Body of `POST /v1/notifications/batch`. Items are validated one by one by the
 * route so that each gets its own result; here only the outer shape is checked.
 */
export const BatchRequest = z.strictObject({
  notifications: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
});

export const IDEMPOTENCY_KEY_MAX = 255;
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(IDEMPOTENCY_KEY_MAX)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");
