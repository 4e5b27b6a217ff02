import { z } from "zod";
import type { ApiKeyView, IssuedApiKey } from "../../lib/db/api-keys.ts";
import type { TenantView } from "../../lib/db/tenants.ts";
import { API_KEY_SCOPES, CHANNELS } from "../../schemas/enums.ts";
import { CreateApiKeyBody, RotateApiKeyBody } from "../routes/api-keys.ts";
import { TenantBody } from "../routes/tenants.ts";
import { errors } from "./problems.ts";
import { embeddable, isoTime, json, nullable, objectOf, ok, schemaRef, str, uuid } from "./shapes.ts";
import type { JsonSchema, Operation, PathItem } from "./types.ts";

const ADMIN: Operation["security"] = [{ adminKey: [] }, { apiKey: ["admin"] }];
const input = (schema: z.ZodType) => embeddable(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }));
const NO_STORE = { "Cache-Control": { description: "`no-store`: the answer holds a key", schema: { type: "string" } } };

const keyFields = {
  id: uuid,
  tenantId: str(),
  name: nullable(str()),
  prefix: str({ description: "`hk_live_` and the first 4 characters: enough to recognise a key, never to use it" }),
  scopes: { type: "array", items: str({ enum: [...API_KEY_SCOPES] }) },
  createdBy: str({ description: "The actor that made it, as the audit log names it" }),
  createdAt: isoTime,
  expiresAt: nullable({ ...isoTime, description: "When it stops working; a rotated key: the end of its grace period" }),
  revokedAt: nullable(isoTime),
  lastUsedAt: nullable({ ...isoTime, description: "Written by the gateways every few seconds: a hint, not a trail" }),
  rotatedFrom: nullable({ ...uuid, description: "The key this one replaced" }),
} satisfies Record<keyof ApiKeyView, JsonSchema>;

/** The tenancy answers' and bodies' schemas. */
export function tenancySchemas(): Record<string, JsonSchema> {
  const caps = { type: "object", propertyNames: { enum: [...CHANNELS] }, additionalProperties: { type: "integer", minimum: 0 } };
  return {
    CreateApiKeyRequest: input(CreateApiKeyBody),
    RotateApiKeyRequest: input(RotateApiKeyBody),
    TenantRequest: input(TenantBody),
    ApiKey: objectOf<ApiKeyView>(keyFields),
    IssuedApiKey: objectOf<IssuedApiKey>({
      ...keyFields,
      key: str({ description: "The key itself, shown this once: only its SHA-256 is stored", pattern: "^hk_live_[0-9A-Za-z]{38}$" }),
    }),
    RotatedApiKey: {
      allOf: [
        schemaRef("IssuedApiKey"),
        {
          type: "object",
          required: ["previous"],
          properties: {
            previous: objectOf<{ id: string; expiresAt: string }>({ id: uuid, expiresAt: { ...isoTime, description: "When the old key stops working" } }),
          },
        },
      ],
    },
    ApiKeyList: objectOf<{ data: ApiKeyView[]; nextCursor: string | null }>({
      data: { type: "array", items: schemaRef("ApiKey") },
      nextCursor: nullable(str({ description: "Pass as `cursor` for the next page; null on the last page" })),
    }),
    Tenant: objectOf<TenantView>({
      id: str(),
      name: nullable(str()),
      rateLimit: nullable({
        type: "object",
        required: ["perSecond", "burst"],
        properties: { perSecond: { type: "number", minimum: 0 }, burst: { type: "integer", minimum: 1 } },
        description: "Null: the configured limit (HERALD_RATE_LIMIT, HERALD_RATE_LIMIT_TENANTS)",
      }),
      dailyCaps: { ...caps, description: "Per channel; a channel not named: HERALD_DAILY_CAPS" },
      retentionDays: nullable({ type: "integer", minimum: 1, description: "Null: HERALD_RETENTION_DAYS" }),
      createdAt: nullable({ ...isoTime, description: "Null: nothing stored for the tenant yet" }),
      updatedAt: nullable(isoTime),
    }),
  };
}

/** `/admin/v1/api-keys` and `/admin/v1/tenants/{id}`. */
export function tenancyPaths(): Record<string, PathItem> {
  const tags = ["admin"];
  const common = ["Unauthorized", "Forbidden", "InternalError"] as const;
  const id = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } } as const;
  const tenantId = { name: "id", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 255 } } as const;
  return {
    "/admin/v1/api-keys": {
      post: {
        operationId: "createApiKey",
        summary: "Create an API key",
        description:
          "Answers the key once (`key`); only its SHA-256 is stored. An operator names any `tenantId` (its row is created if it has none); a tenant's admin-scoped key makes keys for its own tenant only. Recorded in the audit log as `api_key.created`.",
        tags,
        security: ADMIN,
        requestBody: { required: true, content: json("CreateApiKeyRequest") },
        responses: {
          "201": ok("The key, shown this once", "IssuedApiKey", NO_STORE),
          ...errors("BadRequest", "UnsupportedMediaType", "Unavailable", ...common),
        },
      },
      get: {
        operationId: "listApiKeys",
        summary: "List API keys, newest first",
        description: "Never the keys themselves. A tenant's admin-scoped key sees its own tenant's only.",
        tags,
        security: ADMIN,
        parameters: [
          { name: "tenant", in: "query", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
          { name: "cursor", in: "query", required: false, description: "The previous page's `nextCursor`", schema: { type: "string", format: "uuid" } },
        ],
        responses: { "200": ok("A page of keys", "ApiKeyList"), ...errors("InvalidQuery", "Unavailable", ...common) },
      },
    },
    "/admin/v1/api-keys/{id}": {
      get: {
        operationId: "getApiKey",
        summary: "Read an API key",
        tags,
        security: ADMIN,
        parameters: [id],
        responses: { "200": ok("The key (never its text)", "ApiKey"), ...errors("NotFound", "Unavailable", ...common) },
      },
      delete: {
        operationId: "revokeApiKey",
        summary: "Revoke an API key",
        description:
          "It stops working on every gateway within 5 s: the change is announced to the gateways when it commits (Postgres LISTEN/NOTIFY). Recorded as `api_key.revoked`.",
        tags,
        security: ADMIN,
        parameters: [id],
        responses: { "200": ok("The key as revoked", "ApiKey"), ...errors("NotFound", "Unavailable", ...common) },
      },
    },
    "/admin/v1/api-keys/{id}/rotate": {
      post: {
        operationId: "rotateApiKey",
        summary: "Rotate an API key",
        description:
          "A new key with the old one's tenant, scopes and name; the old one keeps working for `graceSeconds` (default HERALD_KEY_ROTATION_GRACE_S). The body may be left out. Recorded as `api_key.rotated`.",
        tags,
        security: ADMIN,
        parameters: [id],
        requestBody: { required: false, content: json("RotateApiKeyRequest") },
        responses: {
          "201": ok("The new key, shown this once, and when the old one stops", "RotatedApiKey", NO_STORE),
          ...errors("BadRequest", "UnsupportedMediaType", "NotFound", "Unavailable", ...common),
        },
      },
    },
    "/admin/v1/tenants/{id}": {
      get: {
        operationId: "getTenant",
        summary: "Read a tenant's stored settings",
        description:
          "A tenant with nothing stored answers its id and nulls: every setting the configured default. A tenant's admin-scoped key reads its own only.",
        tags,
        security: ADMIN,
        parameters: [tenantId],
        responses: { "200": ok("The tenant", "Tenant"), ...errors("NotFound", "Unavailable", ...common) },
      },
      put: {
        operationId: "updateTenant",
        summary: "Change a tenant's rate limit, daily caps, retention or name",
        description:
          "Operators only. A field left out keeps its value; null goes back to the configured default. Every gateway applies it within 5 s. Recorded as `tenant.updated`.",
        tags,
        security: [{ adminKey: [] }],
        parameters: [tenantId],
        requestBody: { required: true, content: json("TenantRequest") },
        responses: { "200": ok("The tenant as stored", "Tenant"), ...errors("BadRequest", "UnsupportedMediaType", "NotFound", "Unavailable", ...common) },
      },
    },
  };
}
