import { DELIVERY_REPORT_STATUSES } from "../../schemas/enums.ts";
import type { CallbackAnswer } from "../routes/callbacks.ts";
import { errors } from "./problems.ts";
import { objectOf, ok, param, str, uuid } from "./shapes.ts";
import type { JsonSchema, Operation, PathItem } from "./types.ts";

const TWILIO_STATUSES = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "accepted", "scheduled", "read", "canceled"];

/** The callbacks' request and answer schemas. */
export function callbackSchemas(): Record<string, JsonSchema> {
  return {
    CallbackAnswer: objectOf<CallbackAnswer>({
      result: str({
        enum: ["applied", "ignored"],
        description: "`ignored`: signed, but it changed nothing (unknown message, a status it does not move, an event type Herald does not use)",
      }),
      detail: str({ description: "What happened, for whoever reads the provider's webhook log" }),
      notifications: {
        type: "array",
        items: objectOf<CallbackAnswer["notifications"][number]>({ id: uuid, status: str({ enum: [...DELIVERY_REPORT_STATUSES] }) }),
        description: "The notifications it moved, with their new status",
      },
      suppressed: { type: "integer", minimum: 0, description: "Addresses newly suppressed for the notification's tenant" },
    }),
    TwilioStatusCallback: {
      type: "object",
      description: "Twilio's message status callback; Herald reads these fields and signs over all of them.",
      properties: {
        MessageSid: str({ description: "The message Herald sent (its attempt's `providerMessageId`)" }),
        MessageStatus: str({ enum: TWILIO_STATUSES, description: "`delivered` → delivered; `undelivered`, `failed` → bounced; the rest change nothing" }),
        ErrorCode: str({ description: "Twilio's error code for `undelivered` and `failed`: the reason recorded (`twilio 30003`)" }),
      },
      required: ["MessageSid", "MessageStatus"],
      additionalProperties: { type: "string" },
    },
    ResendWebhookEvent: {
      type: "object",
      description: "A Resend webhook event; Herald reads these fields.",
      properties: {
        type: str({
          description: "`email.delivered` → delivered; `email.bounced` → bounced and the address suppressed; `email.complained` → suppressed; others ignored",
        }),
        created_at: str({ format: "date-time", description: "When it happened: the lifecycle event's `at`" }),
        data: {
          type: "object",
          properties: {
            email_id: str({ description: "The email Herald sent (its attempt's `providerMessageId`)" }),
            bounce: { type: "object", properties: { type: str(), subType: str(), message: str() }, description: "For `email.bounced`: the reason recorded" },
          },
        },
      },
      required: ["type", "data"],
    },
  };
}

const header = (name: string, description: string) => ({ name, in: "header" as const, required: true, description, schema: { type: "string" } });

const ANSWERS: Operation["responses"] = {
  "200": ok("Signed: applied, or ignored with the reason; nothing is retried", "CallbackAnswer"),
  ...errors("BadRequest", "InvalidSignature", "PayloadTooLarge", "InternalError", "CallbacksOff"),
};

/** `/v1/callbacks/*`: providers report deliveries and bounces; their signature, not an API key, authenticates them. */
export function callbackPaths(): Record<string, PathItem> {
  const tags = ["callbacks"];
  return {
    "/v1/callbacks/twilio": {
      post: {
        operationId: "twilioStatusCallback",
        summary: "Twilio's message status callbacks",
        description:
          "Point Twilio at this URL by setting it as TWILIO_STATUS_CALLBACK_URL: Herald sends it as each message's `StatusCallback` and verifies `X-Twilio-Signature` (HMAC-SHA1 with TWILIO_AUTH_TOKEN) against exactly that URL, so a proxy in front does not matter. Statuses only move forward: `sent` → `delivered` → `bounced`.",
        tags,
        security: [],
        parameters: [
          header("X-Twilio-Signature", "base64 HMAC-SHA1 of the URL and the sorted parameters, keyed with the account's auth token"),
          param("RequestId"),
        ],
        requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: { $ref: "#/components/schemas/TwilioStatusCallback" } } } },
        responses: ANSWERS,
      },
    },
    "/v1/callbacks/resend": {
      post: {
        operationId: "resendWebhook",
        summary: "Resend's email webhooks",
        description:
          "Add this URL as a webhook endpoint in Resend (events `email.delivered`, `email.bounced`, `email.complained`) and set its signing secret as HERALD_RESEND_WEBHOOK_SECRET. The Svix signature is verified, with five minutes' tolerance on `svix-timestamp`. A bounce or complaint suppresses the address for the notification's tenant.",
        tags,
        security: [],
        parameters: [
          header("svix-id", "The event's id, part of what is signed"),
          header("svix-timestamp", "Unix seconds; refused when more than five minutes from now"),
          header("svix-signature", "`v1,<base64 HMAC-SHA256>`, space-separated when the secret is being rotated"),
          param("RequestId"),
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { $ref: "#/components/schemas/ResendWebhookEvent" },
              example: {
                type: "email.bounced",
                created_at: "2026-12-08T10:00:00.000Z",
                data: {
                  email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
                  bounce: { type: "Permanent", subType: "General", message: "550 5.1.1 no such user" },
                },
              },
            },
          },
        },
        responses: ANSWERS,
      },
    },
  };
}
