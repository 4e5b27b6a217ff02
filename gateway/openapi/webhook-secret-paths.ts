import { z } from "zod";
import {
  DEFAULT_WEBHOOK_SECRET_GRACE_SECONDS,
  MAX_ACTIVE_WEBHOOK_SECRETS,
  RotateWebhookSecretBody,
  type WebhookSecretView,
} from "../../schemas/webhook-secrets.ts";
import { errors, V1_ERRORS } from "./problems.ts";
import { embeddable, isoTime, nullable, objectOf, ok, param, REQUEST_ID, schemaRef, str, uuid } from "./shapes.ts";
import type { JsonSchema, PathItem } from "./types.ts";

type Rotated = WebhookSecretView & { previous: { id: string; expiresAt: string } | null };

/** The secrets' schemas: the rotate body generated from the zod schema the route parses with, the answers from their TS shapes. */
export function webhookSecretSchemas(): Record<string, JsonSchema> {
  const fields = {
    id: uuid,
    secret: nullable(
      str({ description: "`whsec_` and base64: give it to your Standard Webhooks verifier. Null: sealed under another HERALD_TOKEN_SECRET; rotate" }),
    ),
    current: { type: "boolean", description: "New webhooks keep being signed with it; the others stop at `expiresAt`" },
    createdAt: isoTime,
    expiresAt: nullable({ ...isoTime, description: "When its grace ends; null for the current secret" }),
  } satisfies Record<keyof WebhookSecretView, JsonSchema>;
  return {
    RotateWebhookSecret: embeddable(z.toJSONSchema(RotateWebhookSecretBody, { target: "draft-2020-12", io: "input" })),
    WebhookSecret: objectOf<WebhookSecretView>(fields),
    WebhookSecretList: objectOf<{ data: WebhookSecretView[] }>({
      data: { type: "array", items: schemaRef("WebhookSecret"), description: "Every secret that signs now, the current one first" },
    }),
    RotatedWebhookSecret: objectOf<Rotated>({
      ...fields,
      secret: str({ description: "`whsec_` and base64" }),
      previous: nullable({
        type: "object",
        description: "The secret it replaced and when that one stops signing; null for a tenant's first secret",
        properties: { id: uuid, expiresAt: isoTime },
        required: ["id", "expiresAt"],
      }),
    }),
  };
}

const ID = { name: "secretId", in: "path" as const, required: true, description: "A secret's id from the list", schema: uuid };
const NO_STORE = { "Cache-Control": { description: "`no-store`: the answer holds secrets", schema: { type: "string" } } };

/** `/v1/webhook-secrets`: the tenant's webhook signing secrets (API key with the `admin` scope). */
export function webhookSecretPaths(): Record<string, PathItem> {
  const tags = ["webhook secrets"];
  const common = ["Forbidden", "WebhookSecretsOff", ...V1_ERRORS] as const;
  return {
    "/v1/webhook-secrets": {
      get: {
        operationId: "listWebhookSecrets",
        summary: "The tenant's webhook signing secrets, with their values",
        description:
          "Every secret that signs the tenant's webhooks now: the current one and those rotated out but still in their grace. Each webhook carries one `v1,` signature per secret in `webhook-signature`; a tenant without secrets of its own gets webhooks signed with the deployment's HERALD_WEBHOOK_SECRET. The values are shown on every call, so a backend that lost its copy can fetch it again.",
        tags,
        parameters: [param("RequestId")],
        responses: { "200": ok("The secrets", "WebhookSecretList", NO_STORE), ...errors(...common) },
      },
    },
    "/v1/webhook-secrets/rotate": {
      post: {
        operationId: "rotateWebhookSecret",
        summary: "Make a new current secret; the old one keeps signing for its grace",
        description: `The secret it replaces keeps signing for \`graceSeconds\` (default ${DEFAULT_WEBHOOK_SECRET_GRACE_SECONDS / 3600} h; 0 ends it at once, for a leaked secret). Processors sign with the new one within 5 s. The tenant's first rotation creates its first secret, which replaces the deployment's secret for its webhooks at once. At most ${MAX_ACTIVE_WEBHOOK_SECRETS} secrets may be valid at once. The body may be left out.`,
        tags,
        parameters: [param("RequestId")],
        requestBody: { required: false, content: { "application/json": { schema: schemaRef("RotateWebhookSecret"), example: { graceSeconds: 3600 } } } },
        responses: {
          "201": ok("The new current secret, and the one it replaced", "RotatedWebhookSecret", NO_STORE),
          ...errors("BadRequest", "UnsupportedMediaType", "PayloadTooLarge", "TooManySecrets", ...common),
        },
      },
    },
    "/v1/webhook-secrets/{secretId}": {
      delete: {
        operationId: "deleteWebhookSecret",
        summary: "End a rotated-out secret before its grace is over",
        description:
          "Webhooks stop carrying its signature within 5 s. The current secret cannot be deleted: rotate first (with `graceSeconds: 0` to end it at once).",
        tags,
        parameters: [ID, param("RequestId")],
        responses: { "204": { description: "Deleted", headers: REQUEST_ID }, ...errors("WebhookSecretNotFound", "SecretCurrent", ...common) },
      },
    },
  };
}
